import { execFile } from 'node:child_process'
import { open, readdir, stat } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { promisify } from 'node:util'

import { compareVersions } from './versions.js'

const execFileAsync = promisify(execFile)

/** glibc of Amazon Linux 2023, the base of Lambda's provided.al2023 runtime (package glibc-2.34-*.amzn2023). */
export const PROVIDED_AL2023_GLIBC = '2.34'

/** The glibc symbol versions one ELF file needs. */
export interface GlibcNeeds {
  /** Path relative to the layer folder, for example bin/php or lib/libcurl.so.4. */
  file: string
  /** Highest GLIBC_x.y version the file needs, or undefined when it needs none. */
  maxVersion?: string
  /** Undefined symbols bound to each GLIBC_ version, for example GLIBC_2.14 -> [memcpy]. */
  symbolsByVersion: Map<string, string[]>
}

/** Result of checking a layer against a glibc version. */
export interface GlibcReport {
  target: string
  maxVersion?: string
  files: GlibcNeeds[]
}

export interface GlibcCheckOptions {
  /** readelf command (default readelf). GNU readelf reads ELF files of any architecture. */
  readelf?: string
}

export { compareVersions }

/**
 * Parses `readelf --dyn-syms -W` output into the undefined symbols bound to a GLIBC_ version,
 * for example "UND memcpy@GLIBC_2.14 (5)" -> { symbol: 'memcpy', version: '2.14' }.
 */
export function parseDynamicSymbols(output: string): Array<{ symbol: string; version: string }> {
  const symbols: Array<{ symbol: string; version: string }> = []

  for (const line of output.split('\n')) {
    const match = /\sUND\s+([^@\s]+)@GLIBC_([0-9]+(?:\.[0-9]+)+)\b/.exec(line)
    if (match !== null) {
      symbols.push({ symbol: match[1] as string, version: match[2] as string })
    }
  }

  return symbols
}

/**
 * Parses the "Version needs" part of `readelf -V -W` output into the GLIBC_ versions required,
 * including any that no symbol names (the loader checks every entry of .gnu.version_r).
 */
export function parseVersionNeeds(output: string): string[] {
  const start = output.indexOf(".gnu.version_r'")
  if (start === -1) {
    return []
  }

  const versions = new Set<string>()
  for (const match of output.slice(start).matchAll(/Name: GLIBC_([0-9]+(?:\.[0-9]+)+)\s/g)) {
    versions.add(match[1] as string)
  }

  return [...versions]
}

/** Reads the glibc versions one ELF file needs with readelf. */
export async function readGlibcNeeds(path: string, file: string, options: GlibcCheckOptions = {}): Promise<GlibcNeeds> {
  const readelf = options.readelf ?? 'readelf'
  const symbolsOutput = await runReadelf(readelf, ['--dyn-syms', '-W', path])
  const versionsOutput = await runReadelf(readelf, ['-V', '-W', path])

  const symbolsByVersion = new Map<string, string[]>()
  for (const version of parseVersionNeeds(versionsOutput)) {
    symbolsByVersion.set(version, [])
  }
  for (const { symbol, version } of parseDynamicSymbols(symbolsOutput)) {
    const symbols = symbolsByVersion.get(version) ?? []
    if (!symbols.includes(symbol)) {
      symbols.push(symbol)
    }
    symbolsByVersion.set(version, symbols)
  }

  const versions = [...symbolsByVersion.keys()].sort(compareVersions)
  return { file, maxVersion: versions.at(-1), symbolsByVersion }
}

async function runReadelf(readelf: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(readelf, args, { maxBuffer: 64 * 1024 * 1024 })
    return stdout
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') {
      throw new Error(`${readelf} not found; install binutils (apt-get install -y binutils, dnf install -y binutils)`)
    }
    throw new Error(`${readelf} ${args.join(' ')} failed: ${(error as Error).message}`)
  }
}

/** Lists the ELF files of a layer: bin/, lib/ and php/extensions/, recursively, sorted. */
export async function listLayerElfFiles(layerDir: string): Promise<string[]> {
  const files: string[] = []

  for (const folder of ['bin', 'lib', 'php/extensions']) {
    await collectElfFiles(join(layerDir, folder), files)
  }

  return files.sort()
}

async function collectElfFiles(folder: string, files: string[]): Promise<void> {
  let entries
  try {
    entries = await readdir(folder, { withFileTypes: true })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return
    }
    throw error
  }

  for (const entry of entries) {
    const path = join(folder, entry.name)
    if (entry.isDirectory()) {
      await collectElfFiles(path, files)
    } else if (entry.isFile() && (await isElf(path))) {
      files.push(path)
    }
  }
}

async function isElf(path: string): Promise<boolean> {
  if ((await stat(path)).size < 4) {
    return false
  }

  const handle = await open(path, 'r')
  try {
    const magic = Buffer.alloc(4)
    await handle.read(magic, 0, 4, 0)
    return magic.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))
  } finally {
    await handle.close()
  }
}

/** Reads the glibc versions needed by every ELF file of a layer. */
export async function readLayerGlibcNeeds(
  layerDir: string,
  target: string = PROVIDED_AL2023_GLIBC,
  options: GlibcCheckOptions = {}
): Promise<GlibcReport> {
  const files: GlibcNeeds[] = []
  for (const path of await listLayerElfFiles(layerDir)) {
    files.push(await readGlibcNeeds(path, relative(layerDir, path), options))
  }

  const versions = files.flatMap((needs) => (needs.maxVersion === undefined ? [] : [needs.maxVersion]))
  return { target, maxVersion: versions.sort(compareVersions).at(-1), files }
}

/**
 * Fails when any ELF file of the layer needs a glibc newer than `target`. The message names each
 * such file with the versions and symbols above the target, because a layer built against a newer
 * glibc fails on Lambda at start with "version `GLIBC_2.xx' not found".
 */
export async function checkGlibcCeiling(
  layerDir: string,
  target: string = PROVIDED_AL2023_GLIBC,
  options: GlibcCheckOptions = {}
): Promise<GlibcReport> {
  const report = await readLayerGlibcNeeds(layerDir, target, options)

  if (report.files.length === 0) {
    throw new Error(`no ELF files found under ${layerDir}/bin, lib or php/extensions; is it a built layer?`)
  }

  const problems = report.files.flatMap((needs) => describeTooNew(needs, target))
  if (problems.length > 0) {
    throw new Error(
      `the layer needs a newer glibc than the target's ${target}:\n${problems.join('\n')}\n` +
        'Build on a host or in a root with glibc <= ' +
        `${target} (for example the Debian 11 root of scripts/make-build-root.sh, or the Docker builder)`
    )
  }

  return report
}

function describeTooNew(needs: GlibcNeeds, target: string): string[] {
  return [...needs.symbolsByVersion.entries()]
    .filter(([version]) => compareVersions(version, target) > 0)
    .sort(([left], [right]) => compareVersions(left, right))
    .map(([version, symbols]) => {
      const named = symbols.length > 0 ? symbols.join(', ') : 'no symbol named; a version need of the file'
      return `  ${needs.file} needs GLIBC_${version} (${named})`
    })
}
