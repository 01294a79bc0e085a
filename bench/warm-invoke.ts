// Warm invocation overhead: a no-op handler invoked one event at a time over loopback, for
//   php       the layer's bootstrap and PHP in the bare root (bubblewrap), the layer at /opt
//   c-floor   bench/c/floor-client.c: libcurl, GET /next + POST /response, nothing else
//   node-ric  AWS's Node.js runtime interface client (aws-lambda-ric) with a no-op handler
// each driven by two Runtime API servers in turn:
//   emulator  src/emulator (RuntimeApiEmulator and RuntimeProcess), in this Node.js process
//   lean      bench/c/runtime-api-server.c, which only parses what it must
// Every round runs all six pairs in a rotated order, so drift in the machine's load spreads
// over all of them. Reported: invocations per second, CPU time per invocation of the client
// (its whole process tree, from /proc) and of the server, and the ratio to c-floor per round.
//
// Run: npx tsx bench/warm-invoke.ts [--layer DIR] [--rounds 7] [--invocations 10000]
//      [--runtime repository|layer] [--cache-dir DIR]
// --runtime repository (the default) runs this working tree's runtime/ with the layer's PHP.

import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

import { RuntimeApiEmulator, RuntimeProcess } from '../src/emulator/index.js'
import {
  DEFAULT_CACHE_DIR,
  clientCommand,
  compileTools,
  cpuSeconds,
  createTaskRoot,
  ensureBareRoot,
  prepareLayer,
  processTree,
  runLean,
  type ClientCommand,
  type ClientKind,
  type Tools
} from './harness.js'
import { describeMachine, formatStats, formatTable, stats } from './machine.js'

const CLIENTS: ClientKind[] = ['php', 'c-floor', 'node-ric']
const DRIVERS = ['emulator', 'lean'] as const
type Driver = typeof DRIVERS[number]

const WARMUP_INVOCATIONS = 500

interface Sample {
  round: number
  client: ClientKind
  driver: Driver
  invocationsPerSecond: number
  /** Microseconds of client CPU per invocation. */
  clientCpuMicroseconds: number
  /** Microseconds of server CPU per invocation (the emulator: this whole Node.js process). */
  serverCpuMicroseconds: number
}

async function runEmulator(client: ClientCommand, invocations: number): Promise<Omit<Sample, 'round' | 'client' | 'driver'>> {
  const emulator = new RuntimeApiEmulator({ timeoutMs: 60_000, functionName: 'bench', memorySizeMb: 1024 })
  await emulator.start()
  const runtime = new RuntimeProcess({
    emulator,
    command: client.command,
    args: client.args,
    cwd: client.cwd,
    taskRoot: client.taskRootInClient,
    handler: client.handler,
    env: client.env
  })

  try {
    for (let i = 0; i < WARMUP_INVOCATIONS; i++) {
      await invokeOnce(emulator, runtime)
    }

    const clientCpuBefore = cpuSeconds(processTree(runtime.pid!))
    const serverCpuBefore = process.cpuUsage()
    const startedAt = performance.now()
    for (let i = 0; i < invocations; i++) {
      await invokeOnce(emulator, runtime)
    }
    const seconds = (performance.now() - startedAt) / 1000
    const serverCpu = process.cpuUsage(serverCpuBefore)
    const clientCpu = cpuSeconds(processTree(runtime.pid!)) - clientCpuBefore

    return {
      invocationsPerSecond: invocations / seconds,
      clientCpuMicroseconds: clientCpu / invocations * 1e6,
      serverCpuMicroseconds: (serverCpu.user + serverCpu.system) / invocations
    }
  } finally {
    await runtime.stop()
    await emulator.stop()
  }
}

async function invokeOnce(emulator: RuntimeApiEmulator, runtime: RuntimeProcess): Promise<void> {
  const result = await emulator.invoke({})
  if (result.outcome !== 'response') {
    throw new Error(`Invocation ended with ${result.outcome}: ${result.payload.toString()}\n${runtime.output()}`)
  }
}

async function runSample(driver: Driver, client: ClientCommand, invocations: number, tools: Tools): Promise<Omit<Sample, 'round' | 'client' | 'driver'>> {
  if (driver === 'emulator') {
    return runEmulator(client, invocations)
  }

  const result = await runLean(tools, client, { warmup: WARMUP_INVOCATIONS, invocations })
  if (result.errors > 0) {
    throw new Error(`${result.errors} invocations failed:\n${result.output}`)
  }

  return {
    invocationsPerSecond: result.invocationsPerSecond,
    clientCpuMicroseconds: result.clientCpuSeconds / invocations * 1e6,
    serverCpuMicroseconds: result.serverCpuSeconds / invocations * 1e6
  }
}

function summarize(samples: Sample[]): string {
  const rows: string[][] = []
  for (const driver of DRIVERS) {
    for (const client of CLIENTS) {
      const own = samples.filter((sample) => sample.driver === driver && sample.client === client)
      const ratios = own.map((sample) => {
        const floor = samples.find((other) => other.round === sample.round && other.driver === driver && other.client === 'c-floor')!
        return floor.invocationsPerSecond / sample.invocationsPerSecond
      })

      rows.push([
        driver,
        client,
        formatStats(stats(own.map((sample) => sample.invocationsPerSecond)), 0),
        formatStats(stats(ratios), 3),
        formatStats(stats(own.map((sample) => sample.clientCpuMicroseconds)), 1),
        formatStats(stats(own.map((sample) => sample.serverCpuMicroseconds)), 1)
      ])
    }
  }

  return formatTable(['driver', 'client', 'invocations/s', 'time vs c-floor', 'client CPU µs/inv', 'server CPU µs/inv'], rows)
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'cache-dir': { type: 'string', default: DEFAULT_CACHE_DIR },
      layer: { type: 'string' },
      rounds: { type: 'string', default: '7' },
      invocations: { type: 'string', default: '10000' },
      runtime: { type: 'string', default: 'repository' }
    }
  })

  const cacheDir = values['cache-dir']
  const rounds = Number(values.rounds)
  const invocations = Number(values.invocations)
  if (values.runtime !== 'repository' && values.runtime !== 'layer') {
    throw new Error(`Invalid --runtime ${values.runtime}: use repository or layer`)
  }

  const tools = await compileTools(cacheDir)
  const bareRoot = await ensureBareRoot(cacheDir)
  const runDir = join(cacheDir, 'bench-run')
  const layerDir = await prepareLayer(values.layer ?? join(cacheDir, 'bench-layers', 'size-gcc'), join(runDir, 'layer-warm'), values.runtime)
  const taskRoot = await createTaskRoot(join(runDir, 'task-warm'), tools)
  const machineBefore = await describeMachine()
  console.log(`${machineBefore.summary}\nlayer ${values.layer ?? 'size-gcc'}, runtime from the ${values.runtime}, ${rounds} rounds of ${invocations} invocations after ${WARMUP_INVOCATIONS} warm-up`)

  const pairs = DRIVERS.flatMap((driver) => CLIENTS.map((client) => ({ driver, client })))
  const samples: Sample[] = []
  for (let round = 0; round < rounds; round++) {
    for (let index = 0; index < pairs.length; index++) {
      const { driver, client } = pairs[(index + round) % pairs.length]!
      const command = await clientCommand({ kind: client, tools, taskRoot, layerDir, bareRoot })
      const sample = { round, client, driver, ...(await runSample(driver, command, invocations, tools)) }
      samples.push(sample)
      console.log(`round ${round + 1} ${driver} ${client}: ${Math.round(sample.invocationsPerSecond)}/s, client ${sample.clientCpuMicroseconds.toFixed(1)} µs, server ${sample.serverCpuMicroseconds.toFixed(1)} µs`)
    }
  }

  const table = summarize(samples)
  console.log(`\n${table}\nmedian (min-max) over ${rounds} rounds; load after: ${(await describeMachine()).load.join(' ')}`)

  await mkdir(join(cacheDir, 'bench-results'), { recursive: true })
  await writeFile(join(cacheDir, 'bench-results', 'warm.json'), JSON.stringify({ date: new Date().toISOString(), machine: machineBefore, rounds, invocations, runtime: values.runtime, samples, table }, null, 2))
}

await main()
