import { spawn } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { Agent } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'

import { parseCliArgs } from '../src/emulator/cli.js'
import { INVOKE_PATH } from '../src/emulator/index.js'
import { actionRoot } from '../src/paths.js'
import { httpCall, waitUntil } from './emulator-support.js'

// A runtime written in POSIX sh with curl, so the CLI is checked with a client other than Node's.
// It echoes each event back, reports an error for events containing "fail", and adds PATH.
const CURL_BOOTSTRAP = `#!/bin/sh
set -eu
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01"
echo "bootstrap started with handler $_HANDLER"
while true; do
  headers=$(mktemp)
  event=$(curl -sS -D "$headers" "$api/runtime/invocation/next")
  id=$(sed -n 's/^[Ll]ambda-[Rr]untime-[Aa]ws-[Rr]equest-[Ii]d: *\\([^[:space:]]*\\).*/\\1/p' "$headers")
  rm -f "$headers"
  case "$event" in
    *fail*)
      curl -sS -o /dev/null -X POST -H 'Lambda-Runtime-Function-Error-Type: Echo.Failed' \\
        --data-binary '{"errorType":"Echo.Failed","errorMessage":"asked to fail"}' "$api/runtime/invocation/$id/error" ;;
    *)
      curl -sS -o /dev/null -X POST --data-binary "{\\"echo\\":$event,\\"path\\":\\"$PATH\\"}" "$api/runtime/invocation/$id/response" ;;
  esac
done
`

const repositoryRoot = actionRoot()
const tsxBin = join(repositoryRoot, 'node_modules', '.bin', 'tsx')
const cliPath = join(repositoryRoot, 'src', 'emulator', 'cli.ts')

let folder: string
let bootstrapPath: string
let layerPath: string

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'emulator-cli-'))
  bootstrapPath = join(folder, 'bootstrap')
  writeFileSync(bootstrapPath, CURL_BOOTSTRAP)
  chmodSync(bootstrapPath, 0o755)

  layerPath = join(folder, 'layer')
  mkdirSync(layerPath)
  writeFileSync(join(layerPath, 'bootstrap'), CURL_BOOTSTRAP)
  chmodSync(join(layerPath, 'bootstrap'), 0o755)
})

afterAll(() => {
  rmSync(folder, { recursive: true, force: true })
})

interface CliRun {
  code: number | null
  stdout: string
  stderr: string
}

function runCli(args: string[]): Promise<CliRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(tsxBin, [cliPath, ...args], { cwd: folder, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    child.on('error', reject)
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }))
  })
}

describe('emulator CLI', () => {
  test('cli prints help', async () => {
    const run = await runCli(['--help'])

    expect(run.code).toBe(0)
    expect(run.stdout).toContain('Usage: npx tsx src/emulator/cli.ts')
    expect(run.stdout).toContain('--timeout SECONDS')
  })

  test('cli invokes one event', async () => {
    const run = await runCli(['--bootstrap', bootstrapPath, '--handler', 'echo.main', '--port', '0', '--event', '{"x":1}'])

    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout.split('\n').filter((line) => line.startsWith('{')).join(''))).toMatchObject({ echo: { x: 1 } })
    expect(run.stdout).toContain('bootstrap started with handler echo.main')
  })

  test('cli exits 1 on function error', async () => {
    const run = await runCli(['--bootstrap', bootstrapPath, '--port', '0', '--event', '{"fail":true}'])

    expect(run.code).toBe(1)
    expect(run.stdout).toContain('{"errorType":"Echo.Failed","errorMessage":"asked to fail"}')
  })

  test('cli runs a layer folder', async () => {
    const run = await runCli(['--layer', layerPath, '--port', '0', '--event', '{}'])

    expect(run.code).toBe(0)
    const payload = JSON.parse(run.stdout.split('\n').filter((line) => line.startsWith('{')).join('')) as { path: string }
    expect(payload.path.split(':').at(-1)).toBe(`${layerPath}/bin`)
  })

  test('cli rejects missing bootstrap', async () => {
    const run = await runCli(['--bootstrap', join(folder, 'none'), '--event', '{}'])

    expect(run.code).toBe(2)
    expect(run.stderr).toContain(`Bootstrap ${join(folder, 'none')} not found`)
  })

  test('cli serves invoke route', async () => {
    const child = spawn(tsxBin, [cliPath, '--bootstrap', bootstrapPath, '--port', '0'], { cwd: folder, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    const closed = new Promise<number | null>((resolvePromise) => child.on('close', resolvePromise))
    const agent = new Agent()

    try {
      await waitUntil(() => /listening on (http:\/\/127\.0\.0\.1:\d+)/.test(stderr), 'the CLI printed its address', 15_000)
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr)![1]

      const answer = await httpCall(agent, `${url}${INVOKE_PATH}`, { method: 'POST', body: '{"via":"curl"}' })

      expect(answer.status).toBe(200)
      expect((answer.json() as { echo: unknown }).echo).toEqual({ via: 'curl' })
    } finally {
      agent.destroy()
      // Ctrl-C in a terminal signals the whole process group, as this does.
      process.kill(-child.pid!, 'SIGINT')
    }

    expect(await closed).toBe(0)
    expect(stderr).toContain('shutting down')
  })
})

describe('parseCliArgs', () => {
  test('options parse to settings', () => {
    const settings = parseCliArgs(
      ['--bootstrap', bootstrapPath, '--handler', 'a.b', '--timeout', '2.5', '--memory', '512', '--env', 'A=1', '--env', 'B=x=y', '--port', '0'],
      {}
    )

    expect(settings).toMatchObject({
      command: bootstrapPath,
      handler: 'a.b',
      timeoutMs: 2500,
      memorySizeMb: 512,
      env: { A: '1', B: 'x=y' },
      port: 0,
      optDir: '/opt',
      functionName: 'test_function'
    })
  })

  test('environment gives defaults', () => {
    const settings = parseCliArgs(['--bootstrap', bootstrapPath], {
      AWS_LAMBDA_FUNCTION_TIMEOUT: '7',
      AWS_LAMBDA_FUNCTION_NAME: 'from-env',
      _HANDLER: 'env.handler'
    })

    expect(settings).toMatchObject({ timeoutMs: 7000, functionName: 'from-env', handler: 'env.handler', port: 8080 })
  })

  test('command after -- replaces bootstrap', () => {
    const settings = parseCliArgs(['--', '/usr/bin/node', 'runtime.mjs'], {})

    expect(settings).toMatchObject({ command: '/usr/bin/node', args: ['runtime.mjs'] })
  })

  test('invalid values are rejected', () => {
    expect(() => parseCliArgs(['--bootstrap', bootstrapPath, '--timeout', '0'], {})).toThrow('--timeout 0: use a number of seconds above 0')
    expect(() => parseCliArgs(['--bootstrap', bootstrapPath, '--port', '8o8o'], {})).toThrow('--port 8o8o: use a whole number of at least 0')
    expect(() => parseCliArgs(['--bootstrap', bootstrapPath, '--env', 'NOVALUE'], {})).toThrow('--env NOVALUE: use NAME=VALUE')
    expect(() => parseCliArgs(['--layer', join(folder, 'missing-layer')], {})).toThrow('folder not found')
  })
})
