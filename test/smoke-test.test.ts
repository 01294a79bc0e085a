// The native smoke test, end to end: a layer assembled from this machine's PHP (see
// smoke-test-support.ts) runs in a bare root with only glibc and busybox, under bwrap and,
// as root, under unshare, against the Runtime API emulator on 127.0.0.1.

import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { copyFile, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals'

import { createBareRoot, type BareRoot } from '../src/bare-root.js'
import { actionRoot } from '../src/paths.js'
import { SmokeTestError, smokeTest } from '../src/smoke-test.js'
import { assembleSystemPhpLayer, type SystemPhpLayer } from './smoke-test-support.js'

jest.setTimeout(60_000)

const IS_ROOT = process.getuid?.() === 0

let folder: string
let layer: SystemPhpLayer
let bareRoot: BareRoot

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'smoke-test-'))
  layer = await assembleSystemPhpLayer(join(folder, 'layer'))
  bareRoot = await createBareRoot(join(folder, 'root'))
})

afterAll(async () => {
  await rm(folder, { recursive: true, force: true })
})

/** Writes a handler file for the smoke test to install as smoke.php. */
async function handlerFile(name: string, source: string): Promise<string> {
  const path = join(folder, name)
  await writeFile(path, source)
  return path
}

/** Runs the smoke test and returns the SmokeTestError it throws. */
async function smokeTestError(run: Promise<unknown>): Promise<SmokeTestError> {
  try {
    await run
  } catch (error) {
    if (error instanceof SmokeTestError) {
      return error
    }
    throw error
  }
  throw new Error('the smoke test passed, but a failure was expected')
}

describe('system PHP layer', () => {
  test('passes in a new bare root', async () => {
    const result = await smokeTest({ layerDir: layer.dir, phpVersion: layer.phpVersion, extensions: layer.extensions, env: layer.env })

    expect(result.checks.filter((check) => !check.ok)).toEqual([])
    expect(result.phpVersion).toBe(layer.phpVersion)
    expect(result.environment).toBe('bwrap')
    expect(result.checks.map((check) => check.name)).toEqual(
      expect.arrayContaining(['shared libraries', 'first invocation', 'PHP version', 'extension curl', 'extension opcache', 'error path', 'warm invocation'])
    )
    expect(result.timingsMs.bareRoot).toBeGreaterThan(0)
    // Debian's PHP reads time zones from /usr/share/zoneinfo instead of its built-in
    // database, and the bare root has none: a real finding of the self-containment check.
    expect(result.startupMessages).toEqual(["PHP Warning:  PHP Startup: Invalid date.timezone value 'UTC', using 'UTC' instead in Unknown on line 0"])
  })

  test('passes with a minor version', async () => {
    const minor = layer.phpVersion.split('.').slice(0, 2).join('.')

    const result = await smokeTest({ layerDir: layer.dir, phpVersion: minor, extensions: ['curl'], env: layer.env, bareRoot })

    expect(result.checks.find((check) => check.name === 'PHP version')).toEqual({ name: 'PHP version', ok: true, detail: `${layer.phpVersion} (expected ${minor})` })
    expect(result.timingsMs.bareRoot).toBeUndefined()
  })

  const unshareTest = IS_ROOT ? test : test.skip
  unshareTest('passes under unshare', async () => {
    const result = await smokeTest({ layerDir: layer.dir, phpVersion: layer.phpVersion, extensions: layer.extensions, env: layer.env, bareRoot, sandbox: 'unshare' })

    expect(result.environment).toBe('unshare')
    expect(result.checks.filter((check) => !check.ok)).toEqual([])
  })

  test('logs one group with checks and timings', async () => {
    const written: string[] = []
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk))
      return true
    })

    try {
      await smokeTest({ layerDir: layer.dir, phpVersion: layer.phpVersion, extensions: ['curl'], env: layer.env, bareRoot })
    } finally {
      write.mockRestore()
    }

    const log = written.join('')
    expect(log.startsWith('::group::Smoke test\n')).toBe(true)
    expect(log.endsWith('::endgroup::\n')).toBe(true)
    expect(log).toContain(`ok   PHP version: ${layer.phpVersion} (expected ${layer.phpVersion})`)
    expect(log).toMatch(/ok {3}extension curl: libcurl [0-9.]+/)
    expect(log).toMatch(/Timings: total [0-9]+ ms, libraryCheck [0-9]+ ms, firstInvocation [0-9]+ ms, errorInvocation [0-9]+ ms, warmInvocation [0-9]+ ms/)
    expect(log).toContain('::warning::Smoke test: PHP printed at startup: ')
  })
})

describe('failures', () => {
  test('missing library names file and library', async () => {
    const broken = join(folder, 'layer-without-libonig')
    await cp(layer.dir, broken, { recursive: true })
    await rm(join(broken, 'lib', 'libonig.so.5'))

    const error = await smokeTestError(smokeTest({ layerDir: broken, phpVersion: layer.phpVersion, extensions: ['mbstring'], env: layer.env, bareRoot }))

    expect(error.failed.map((check) => check.name)).toEqual(['shared libraries'])
    expect(error.message).toContain('/opt/php/extensions/mbstring.so needs libonig.so.5')
    expect(error.message).toContain("not found in the layer's lib/ nor in glibc")
  })

  // The Debian 11 root that the native build creates under .cache has glibc 2.31, older than
  // this machine's, so this test runs only after that build ran here.
  const buildRoot = join(actionRoot(), '.cache', 'build-root', `bullseye-${process.arch === 'x64' ? 'amd64' : process.arch}`)
  const oldGlibcTest = existsSync(join(buildRoot, 'var', 'lib', 'dpkg')) ? test : test.skip
  oldGlibcTest('newer glibc symbols than the root has', async () => {
    const error = await smokeTestError(
      smokeTest({ layerDir: layer.dir, phpVersion: layer.phpVersion, extensions: [], env: layer.env, bareRootOptions: { glibcRoot: buildRoot } })
    )

    expect(error.failed.map((check) => check.name)).toEqual(['shared libraries'])
    expect(error.message).toMatch(/\/opt\/bin\/php needs GLIBC_2\.3[2-9], /)
    expect(error.message).toMatch(/ and [0-9]+ more: /)
    expect(error.message).toContain('glibc 2.31 is older; build against the target\'s glibc or an older one')
  })

  test('handler with wrong PHP version', async () => {
    const handler = await handlerFile('old-php.php', `<?php
function handler(array $event, $context): array
{
    static $invocation = 0;
    $invocation++;
    if (isset($event['fail'])) {
        throw new RuntimeException($event['fail']);
    }
    $checks = [];
    foreach ($event['extensions'] as $extension) {
        $checks[$extension] = ['ok' => true, 'detail' => 'pretends to work'];
    }
    return ['phpVersion' => '7.4.33', 'invocation' => $invocation, 'pid' => getmypid(), 'loadedExtensions' => [], 'checks' => $checks];
}
`)

    const error = await smokeTestError(smokeTest({ layerDir: layer.dir, phpVersion: layer.phpVersion, extensions: ['curl'], env: layer.env, bareRoot, handlerFile: handler }))

    expect(error.failed).toEqual([{ name: 'PHP version', ok: false, detail: `7.4.33 (expected ${layer.phpVersion})` }])
    expect(error.message).toContain(`PHP version (7.4.33 (expected ${layer.phpVersion}))`)
  })

  test('extension the layer lacks', async () => {
    const error = await smokeTestError(smokeTest({ layerDir: layer.dir, phpVersion: layer.phpVersion, extensions: ['curl', 'no_such_extension'], env: layer.env, bareRoot }))

    expect(error.failed.map((check) => check.name)).toEqual(['extension no_such_extension'])
    expect(error.failed[0]?.detail).toBe('extension no_such_extension is not loaded')
  })

  test('handler that swallows the failure', async () => {
    // The smoke handler with its throw replaced: the error path check must notice.
    const source = await readFile(join(actionRoot(), 'examples', 'handlers', 'smoke.php'), 'utf8')
    const throwing = "throw new RuntimeException((string) $event['fail']);"
    expect(source).toContain(throwing)
    const handler = await handlerFile('no-error.php', source.replace(throwing, "return ['swallowed' => true];"))

    const error = await smokeTestError(smokeTest({ layerDir: layer.dir, phpVersion: layer.phpVersion, extensions: ['curl'], env: layer.env, bareRoot, handlerFile: handler }))

    expect(error.failed.map((check) => check.name)).toEqual(['error path'])
    expect(error.failed[0]?.detail).toMatch(/^expected an invocation error, got response: \{"swallowed":true\}/)
  })

  test('PHP that cannot start', async () => {
    // busybox as bin/php: a static ELF that exits with "applet not found".
    const broken = join(folder, 'layer-with-broken-php')
    await cp(layer.dir, broken, { recursive: true })
    await copyFile(execFileSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).trim(), join(broken, 'bin', 'php'))

    const error = await smokeTestError(smokeTest({ layerDir: broken, phpVersion: layer.phpVersion, extensions: [], env: layer.env, bareRoot }))

    expect(error.checks[0]).toEqual({ name: 'shared libraries', ok: true, detail: 'bin/php is statically linked' })
    expect(error.failed.map((check) => check.name)).toEqual(['first invocation'])
    expect(error.failed[0]?.detail).toMatch(/^expected a response, got exit Runtime.ExitError: /)
  })

  test('layer without bootstrap', async () => {
    const empty = join(folder, 'empty-layer')
    await cp(join(layer.dir, 'php'), join(empty, 'php'), { recursive: true })

    await expect(smokeTest({ layerDir: empty, phpVersion: '8.2', extensions: [] })).rejects.toThrow(
      `${empty}/bootstrap is missing or not executable; the layer needs bootstrap at its root with mode 755`
    )
  })

  test('layer for another architecture', async () => {
    const foreign = join(folder, 'foreign-layer')
    await cp(layer.dir, foreign, { recursive: true })
    // An ELF-64 little-endian header whose e_machine is the other Lambda architecture.
    const header = Buffer.alloc(64)
    header.writeUInt32BE(0x7f454c46, 0)
    header[4] = 2
    header[5] = 1
    header.writeUInt16LE(process.arch === 'arm64' ? 62 : 183, 18)
    await writeFile(join(foreign, 'bin', 'php'), header)

    await expect(smokeTest({ layerDir: foreign, phpVersion: '8.2', extensions: [] })).rejects.toThrow(
      /bin\/php is built for (aarch64|x86_64), but this machine is (x86_64|aarch64): smoke-test the layer on a runner of its architecture/
    )
  })

  test('runtime output logged on failure', async () => {
    const written: string[] = []
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk))
      return true
    })

    try {
      await smokeTestError(smokeTest({ layerDir: layer.dir, phpVersion: '5.6', extensions: ['curl'], env: layer.env, bareRoot }))
    } finally {
      write.mockRestore()
    }

    const log = written.join('')
    expect(log).toContain('FAIL PHP version: ')
    expect(log).toContain('Loaded extensions: Core, ')
    expect(log).toContain('Runtime output (stdout and stderr):')
    expect(log).toContain('Invoke Error: RuntimeException: Smoke test: requested failure')
  })
})
