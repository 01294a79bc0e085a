// runtime/bootstrap itself: the file, the layer and repository layouts, long runs on one
// connection, signals and unexpected PHP exits.

import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterEach, describe, expect, test } from '@jest/globals'

import { RuntimeApiEmulator } from '../src/emulator/index.js'
import {
  BOOTSTRAP,
  REPOSITORY_ROOT,
  SYSTEM_PHP,
  expectOutcome,
  killRawRuntimes,
  spawnRawRuntime,
  startRuntime,
  stopAllRuntimes
} from './runtime-support.js'

const temporaryFolders: string[] = []

afterEach(async () => {
  killRawRuntimes()
  await stopAllRuntimes()
  for (const folder of temporaryFolders.splice(0)) {
    rmSync(folder, { recursive: true, force: true })
  }
})

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Builds the layer's file layout in a temporary folder, with bin/php linking to the system PHP. */
function buildLayerFolder(): string {
  const layer = mkdtempSync(join(tmpdir(), 'runtime-layer-'))
  temporaryFolders.push(layer)

  mkdirSync(join(layer, 'bin'))
  mkdirSync(join(layer, 'php', 'etc'), { recursive: true })
  mkdirSync(join(layer, 'php', 'runtime'))
  copyFileSync(BOOTSTRAP, join(layer, 'bootstrap'))
  symlinkSync(SYSTEM_PHP, join(layer, 'bin', 'php'))
  copyFileSync(join(REPOSITORY_ROOT, 'runtime', 'php.ini'), join(layer, 'php', 'etc', 'php.ini'))
  for (const file of readdirSync(join(REPOSITORY_ROOT, 'runtime', 'src'))) {
    copyFileSync(join(REPOSITORY_ROOT, 'runtime', 'src', file), join(layer, 'php', 'runtime', file))
  }

  return layer
}

describe('bootstrap file', () => {
  test('POSIX sh with LF and mode 755', () => {
    const text = readFileSync(BOOTSTRAP, 'utf8')

    expect(text.startsWith('#!/bin/sh\n')).toBe(true)
    expect(text).not.toContain('\r')
    expect(statSync(BOOTSTRAP).mode & 0o777).toBe(0o755)
    // dash is the POSIX shell of Debian and Ubuntu; -n parses without running.
    expect(() => execFileSync('sh', ['-n', BOOTSTRAP])).not.toThrow()
  })
})

describe('layouts', () => {
  test('layer layout uses bin/php and php/runtime', async () => {
    const layer = buildLayerFolder()
    const { invoke } = await startRuntime('functions.environment', {
      command: join(layer, 'bootstrap'),
      env: { BOOTSTRAP_PHP: undefined }
    })

    const environment = expectOutcome(await invoke({}), 'response') as Record<string, unknown>

    expect(environment.iniFile).toBe(join(layer, 'php', 'etc', 'php.ini'))
    expect(environment.runtimeFile).toBe(join(layer, 'php', 'runtime', 'EventLoop.php'))
  })

  test('repository layout uses runtime/src', async () => {
    const { invoke } = await startRuntime('functions.environment')

    const environment = expectOutcome(await invoke({}), 'response') as Record<string, unknown>

    expect(environment.iniFile).toBe(join(REPOSITORY_ROOT, 'runtime', 'php.ini'))
    expect(environment.runtimeFile).toBe(join(REPOSITORY_ROOT, 'runtime', 'src', 'EventLoop.php'))
  })

  test('missing PHP binary', async () => {
    const { invoke, runtime } = await startRuntime('functions.hello', { env: { BOOTSTRAP_PHP: '/nonexistent/php' } })

    const result = await invoke({})
    const exit = await runtime.waitForExit()

    expect(result.outcome).toBe('exit')
    expect(exit.code).toBe(127)
    expect(runtime.output('stderr')).toContain('bootstrap: PHP binary /nonexistent/php not found or not executable')
  })
})

describe('long runs', () => {
  test('1,000 invocations on one connection', async () => {
    const { invoke, emulator, runtime } = await startRuntime('functions.count_invocations')

    const counts: number[] = []
    for (let i = 0; i < 1000; i++) {
      const result = await invoke({ i })
      counts.push((expectOutcome(result, 'response') as { invocations: number }).invocations)
    }

    expect(counts[0]).toBe(1)
    expect(counts[999]).toBe(1000)
    expect(emulator.requests).toHaveLength(2000)
    expect(new Set(emulator.requests.map((request) => request.connection))).toEqual(new Set([1]))
    expect(runtime.starts).toBe(1)
  }, 120_000)
})

describe('process ends', () => {
  test('PHP killed by a signal ends bootstrap', async () => {
    const { invoke, runtime } = await startRuntime('functions.kill_self')

    const result = await invoke({})
    const exit = await runtime.waitForExit()

    expect(result.outcome).toBe('exit')
    expect(result.errorType).toBe('Runtime.ExitError')
    expect(exit.code).toBe(137)
    expect(runtime.output('stderr')).toContain('bootstrap: PHP ended by signal 9 (exit status 137); the runtime exits.')
  })

  test('SIGTERM reaches PHP', async () => {
    const emulator = new RuntimeApiEmulator({ timeoutMs: 10_000 })
    await emulator.start()
    const raw = spawnRawRuntime(emulator, 'functions.pid')

    try {
      const phpPid = expectOutcome(await emulator.invoke({}), 'response') as number
      expect(phpPid).not.toBe(raw.child.pid)

      // Only bootstrap gets the signal; it must pass it on instead of leaving PHP behind.
      process.kill(raw.child.pid!, 'SIGTERM')
      const exit = await raw.exited

      expect(exit.code).toBe(143)
      expect(isRunning(phpPid)).toBe(false)
    } finally {
      await emulator.stop()
    }
  })
})
