import { execFileSync } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import {
  checkGlibcCeiling,
  compareVersions,
  listLayerElfFiles,
  parseDynamicSymbols,
  parseVersionNeeds,
  readGlibcNeeds
} from '../src/glibc.js'

// Real ELF files: small C programs compiled here with the host's gcc and glibc (Debian 12,
// glibc 2.36). arc4random first appeared in glibc 2.36, so a program calling it needs GLIBC_2.36.
const NEW_SYMBOL_PROGRAM = '#include <stdlib.h>\nint main(void) { return (int)(arc4random() & 1); }\n'
const OLD_SYMBOL_PROGRAM = '#include <string.h>\nint main(int c, char **v) { return (int)strlen(v[0]) + c; }\n'

function hostGlibc(): string {
  return execFileSync('getconf', ['GNU_LIBC_VERSION'], { encoding: 'utf8' }).trim().split(' ')[1] as string
}

async function compile(folder: string, name: string, source: string): Promise<string> {
  const sourcePath = join(folder, `${name}.c`)
  const binaryPath = join(folder, name)
  await writeFile(sourcePath, source)
  execFileSync('gcc', ['-O1', '-o', binaryPath, sourcePath])
  return binaryPath
}

describe('compareVersions', () => {
  test('compares numerically', () => {
    expect(compareVersions('2.9', '2.34')).toBeLessThan(0)
    expect(compareVersions('2.34', '2.34')).toBe(0)
    expect(compareVersions('2.3.4', '2.3')).toBeGreaterThan(0)
    expect(compareVersions('2.35', '2.34')).toBeGreaterThan(0)
  })
})

describe('readelf parsing', () => {
  test('dynamic symbols with versions', () => {
    const output = [
      'Symbol table \'.dynsym\' contains 4 entries:',
      '   Num:    Value          Size Type    Bind   Vis      Ndx Name',
      '     0: 0000000000000000     0 NOTYPE  LOCAL  DEFAULT  UND ',
      '     1: 0000000000000000     0 FUNC    GLOBAL DEFAULT  UND memcpy@GLIBC_2.14 (5)',
      '     2: 0000000000000000     0 FUNC    GLOBAL DEFAULT  UND fgetfilecon@LIBSELINUX_1.0 (4)',
      '     3: 0000000000001139    22 FUNC    GLOBAL DEFAULT   14 exported@@GLIBC_2.2.5'
    ].join('\n')
    expect(parseDynamicSymbols(output)).toEqual([{ symbol: 'memcpy', version: '2.14' }])
  })

  test('version needs of libc only', () => {
    const output = [
      "Version needs section '.gnu.version_r' contains 2 entries:",
      '  000000: Version: 1  File: libselinux.so.1  Cnt: 1',
      '  0x0010:   Name: LIBSELINUX_1.0  Flags: none  Version: 4',
      '  0x0020: Version: 1  File: libc.so.6  Cnt: 2',
      '  0x0030:   Name: GLIBC_2.28  Flags: none  Version: 12',
      '  0x0040:   Name: GLIBC_2.3.4  Flags: none  Version: 5'
    ].join('\n')
    expect(parseVersionNeeds(output)).toEqual(['2.28', '2.3.4'])
  })

  test('no version needs section', () => {
    expect(parseVersionNeeds("Version symbols section '.gnu.version' contains 3 entries:")).toEqual([])
  })
})

describe('glibc ceiling on real binaries', () => {
  let folder: string

  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'glibc-check-'))
  })

  afterEach(async () => {
    await rm(folder, { recursive: true, force: true })
  })

  test('host has glibc 2.36 or newer', () => {
    // The cases below rely on arc4random; they need this machine's Debian 12 glibc.
    expect(compareVersions(hostGlibc(), '2.36')).toBeGreaterThanOrEqual(0)
  })

  test('readGlibcNeeds names the newest symbol', async () => {
    const binary = await compile(folder, 'new-symbol', NEW_SYMBOL_PROGRAM)
    const needs = await readGlibcNeeds(binary, 'bin/new-symbol')
    expect(needs.maxVersion).toBe('2.36')
    expect(needs.symbolsByVersion.get('2.36')).toEqual(['arc4random'])
  })

  test('check fails naming file and symbol', async () => {
    const layer = join(folder, 'layer')
    await mkdir(join(layer, 'bin'), { recursive: true })
    await copyFile(await compile(folder, 'new-symbol', NEW_SYMBOL_PROGRAM), join(layer, 'bin', 'php'))

    await expect(checkGlibcCeiling(layer, '2.34')).rejects.toThrow(/bin\/php needs GLIBC_2\.36 \(arc4random\)/)
  })

  test('check passes below the target', async () => {
    const layer = join(folder, 'layer')
    await mkdir(join(layer, 'bin'), { recursive: true })
    await copyFile(await compile(folder, 'old-symbol', OLD_SYMBOL_PROGRAM), join(layer, 'bin', 'php'))

    const report = await checkGlibcCeiling(layer, '2.34')
    expect(report.maxVersion).toBeDefined()
    expect(compareVersions(report.maxVersion as string, '2.34')).toBeLessThanOrEqual(0)
    expect(report.files.map((needs) => needs.file)).toEqual(['bin/php'])
  })

  test('check covers lib and extensions', async () => {
    const layer = join(folder, 'layer')
    await mkdir(join(layer, 'bin'), { recursive: true })
    await mkdir(join(layer, 'lib'), { recursive: true })
    await mkdir(join(layer, 'php', 'extensions'), { recursive: true })
    await copyFile(await compile(folder, 'old-symbol', OLD_SYMBOL_PROGRAM), join(layer, 'bin', 'php'))
    await copyFile(await compile(folder, 'new-symbol', NEW_SYMBOL_PROGRAM), join(layer, 'lib', 'libnew.so.1'))
    await writeFile(join(layer, 'php', 'extensions', 'README'), 'not an ELF file\n')

    expect(await listLayerElfFiles(layer)).toEqual([join(layer, 'bin', 'php'), join(layer, 'lib', 'libnew.so.1')])
    await expect(checkGlibcCeiling(layer, '2.34')).rejects.toThrow(/lib\/libnew\.so\.1 needs GLIBC_2\.36/)
  })

  test('empty layer is an error', async () => {
    await expect(checkGlibcCeiling(folder, '2.34')).rejects.toThrow(/no ELF files found/)
  })
})
