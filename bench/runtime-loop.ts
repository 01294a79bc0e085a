// Measures the PHP runtime from the repository (runtime/bootstrap with the system PHP):
//   1. milliseconds from spawning bootstrap to its first GET /runtime/invocation/next, with a
//      cold opcache file cache (empty folder) and a warm one (filled by an earlier start);
//   2. invocations per second with a no-op handler, one at a time, over loopback through the
//      Runtime API emulator.
//
// Run: npx tsx bench/runtime-loop.ts [invocations]   (default 5,000)
// Numbers depend on the machine; the script prints its PHP and CPU so results can be compared.

import { execFileSync, spawn } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { cpus, tmpdir } from 'node:os'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { RuntimeApiEmulator, RuntimeProcess } from '../src/emulator/index.js'
import { clientEnvironment } from './harness.js'

const BOOTSTRAP = fileURLToPath(new URL('../runtime/bootstrap', import.meta.url))
const SYSTEM_PHP = execFileSync('sh', ['-c', 'command -v php'], { encoding: 'utf8' }).trim()
const STARTS = 20
const WARMUP_INVOCATIONS = 200

/** Creates a function folder with a no-op handler and an ini file pointing the opcache file cache at `cacheFolder`. */
function createTaskRoot(cacheFolder: string): string {
  const taskRoot = mkdtempSync(join(tmpdir(), 'runtime-bench-'))
  writeFileSync(join(taskRoot, 'noop.php'), '<?php\n\nfunction handler($event, $context)\n{\n    return null;\n}\n')
  mkdirSync(join(taskRoot, 'php', 'conf.d'), { recursive: true })
  writeFileSync(join(taskRoot, 'php', 'conf.d', 'bench.ini'), `opcache.file_cache = ${cacheFolder}\n`)

  return taskRoot
}

/** Starts a server that records when the first /next arrives and responds to it with 500, so the runtime exits. */
async function startFirstNextServer(onNext: () => void): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.url?.endsWith('/runtime/invocation/next') === true) {
      onNext()
    }
    request.resume()
    response.writeHead(500, { 'Content-Type': 'application/json' }).end('{"errorType":"Benchmark"}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))

  return server
}

/** Spawns bootstrap once and returns the milliseconds until its first /next. */
async function timeToFirstNext(taskRoot: string): Promise<number> {
  let reachedNext: () => void = () => {}
  const nextReached = new Promise<void>((resolve) => {
    reachedNext = resolve
  })
  let arrivedAt = 0
  const server = await startFirstNextServer(() => {
    arrivedAt = performance.now()
    reachedNext()
  })
  const { port } = server.address() as AddressInfo

  const client = { command: BOOTSTRAP, args: [], cwd: taskRoot, taskRootInClient: taskRoot, handler: 'noop.handler', env: { BOOTSTRAP_PHP: SYSTEM_PHP } }
  const env = clientEnvironment(client, `127.0.0.1:${port}`)

  const startedAt = performance.now()
  const child = spawn(client.command, client.args, { cwd: client.cwd, env, stdio: 'ignore' })
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()))

  await nextReached
  await exited
  server.close()

  return arrivedAt - startedAt
}

function summarize(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b)
  const median = sorted[Math.floor(sorted.length / 2)]!

  return `median ${median.toFixed(1)} ms, min ${sorted[0]!.toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms (${values.length} starts)`
}

async function measureStartup(): Promise<void> {
  const cold: number[] = []
  const warm: number[] = []

  for (let i = 0; i < STARTS; i++) {
    const coldCache = mkdtempSync(join(tmpdir(), 'runtime-bench-opcache-'))
    const taskRoot = createTaskRoot(coldCache)
    try {
      cold.push(await timeToFirstNext(taskRoot))
      warm.push(await timeToFirstNext(taskRoot))
    } finally {
      rmSync(taskRoot, { recursive: true, force: true })
      rmSync(coldCache, { recursive: true, force: true })
    }
  }

  console.log(`start to first /next, cold opcache file cache: ${summarize(cold)}`)
  console.log(`start to first /next, warm opcache file cache: ${summarize(warm)}`)
}

async function measureThroughput(invocations: number): Promise<void> {
  const cache = mkdtempSync(join(tmpdir(), 'runtime-bench-opcache-'))
  const taskRoot = createTaskRoot(cache)
  const emulator = new RuntimeApiEmulator({ timeoutMs: 60_000 })
  await emulator.start()
  const runtime = new RuntimeProcess({ command: BOOTSTRAP, emulator, handler: 'noop.handler', taskRoot, env: { BOOTSTRAP_PHP: SYSTEM_PHP } })

  try {
    for (let i = 0; i < WARMUP_INVOCATIONS; i++) {
      await emulator.invoke({})
    }

    const startedAt = performance.now()
    for (let i = 0; i < invocations; i++) {
      const result = await emulator.invoke({})
      if (result.outcome !== 'response') {
        throw new Error(`Invocation ${i} ended with ${result.outcome}: ${result.payload.toString()}`)
      }
    }
    const seconds = (performance.now() - startedAt) / 1000

    console.log(`no-op invocations: ${invocations} in ${seconds.toFixed(2)} s = ${Math.round(invocations / seconds)} per second (${(seconds * 1000 / invocations).toFixed(3)} ms each, after ${WARMUP_INVOCATIONS} warm-up)`)
  } finally {
    await runtime.stop()
    await emulator.stop()
    rmSync(taskRoot, { recursive: true, force: true })
    rmSync(cache, { recursive: true, force: true })
  }
}

const invocations = Number(process.argv[2] ?? 5000)
if (!Number.isInteger(invocations) || invocations <= 0) {
  throw new Error(`Invalid invocation count ${process.argv[2]}: use a whole number above 0`)
}

console.log(`PHP: ${execFileSync(SYSTEM_PHP, ['-r', 'echo PHP_VERSION;'], { encoding: 'utf8' })} (${SYSTEM_PHP}), Node ${process.version}, CPU: ${cpus()[0]?.model ?? 'unknown'} x ${cpus().length}`)
await measureStartup()
await measureThroughput(invocations)
