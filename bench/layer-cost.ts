// Size and speed of layers built with different compiler settings (bench/build-layers.ts).
// Reported: the zip and unzipped size, bin/php, milliseconds per invocation of the CPU-bound
// handler (harness.ts) and no-op invocations per second. Both rates come from
// bench/c/runtime-api-server.c with the layer's bootstrap in the bare root. Each round runs
// every layer in a rotated order.
//
// Run: npx tsx bench/layer-cost.ts [--layers size-gcc,speed-gcc,size-clang] [--rounds 5]
//      [--cpu-invocations 300] [--noop-invocations 5000] [--runtime repository|layer] [--cache-dir DIR]

import { stat, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

import { zipLayer } from '../src/package.js'
import {
  DEFAULT_CACHE_DIR,
  clientCommand,
  compileTools,
  createTaskRoot,
  ensureBareRoot,
  prepareLayer,
  runLean
} from './harness.js'
import { describeMachine, formatStats, formatTable, stats } from './machine.js'

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'cache-dir': { type: 'string', default: DEFAULT_CACHE_DIR },
      layers: { type: 'string', default: 'size-gcc,speed-gcc,size-clang' },
      rounds: { type: 'string', default: '5' },
      'cpu-invocations': { type: 'string', default: '300' },
      'noop-invocations': { type: 'string', default: '5000' },
      runtime: { type: 'string', default: 'repository' }
    }
  })

  const cacheDir = values['cache-dir']
  const rounds = Number(values.rounds)
  const cpuInvocations = Number(values['cpu-invocations'])
  const noopInvocations = Number(values['noop-invocations'])
  if (values.runtime !== 'repository' && values.runtime !== 'layer') {
    throw new Error(`Invalid --runtime ${values.runtime}: use repository or layer`)
  }

  const tools = await compileTools(cacheDir)
  const bareRoot = await ensureBareRoot(cacheDir)
  const runDir = join(cacheDir, 'bench-run')
  const taskRoot = await createTaskRoot(join(runDir, 'task-layers'), tools)
  const names = values.layers.split(',')

  const layers: Array<{ name: string, dir: string, zipBytes: number, unzippedBytes: number, phpBytes: number }> = []
  for (const name of names) {
    const built = join(cacheDir, 'bench-layers', name)
    // Sizes are those of the layer as built, with its own runtime files.
    const zip = await zipLayer({ layerDir: built, zipPath: join(runDir, `${name}.zip`) })
    const phpBytes = (await stat(join(built, 'bin', 'php'))).size
    const dir = await prepareLayer(built, join(runDir, `layer-cost-${name}`), values.runtime)
    layers.push({ name, dir, zipBytes: zip.zipBytes, unzippedBytes: zip.unzippedBytes, phpBytes })
  }

  const machine = await describeMachine()
  console.log(`${machine.summary}\n${rounds} rounds: ${cpuInvocations} CPU-bound and ${noopInvocations} no-op invocations per layer`)

  const cpuMs = new Map<string, number[]>(names.map((name) => [name, []]))
  const noopRate = new Map<string, number[]>(names.map((name) => [name, []]))
  for (let round = 0; round < rounds; round++) {
    for (let index = 0; index < layers.length; index++) {
      const layer = layers[(index + round) % layers.length]!
      const cpu = await runLean(tools, await clientCommand({ kind: 'php', tools, taskRoot, layerDir: layer.dir, bareRoot, handler: 'cpu.handler' }), { warmup: 20, invocations: cpuInvocations })
      const noop = await runLean(tools, await clientCommand({ kind: 'php', tools, taskRoot, layerDir: layer.dir, bareRoot }), { warmup: 200, invocations: noopInvocations })
      if (cpu.errors + noop.errors > 0) {
        throw new Error(`${layer.name}: invocations failed:\n${cpu.output}\n${noop.output}`)
      }

      cpuMs.get(layer.name)!.push(cpu.seconds / cpuInvocations * 1000)
      noopRate.get(layer.name)!.push(noop.invocationsPerSecond)
      console.log(`round ${round + 1} ${layer.name}: CPU-bound ${(cpu.seconds / cpuInvocations * 1000).toFixed(2)} ms, no-op ${Math.round(noop.invocationsPerSecond)}/s`)
    }
  }

  const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(2)
  const baseline = stats(cpuMs.get(names[0]!)!).median
  const table = formatTable(
    ['layer', 'zipped MiB', 'unzipped MiB', 'bin/php MiB', 'CPU-bound ms/invocation', `x ${names[0]}`, 'no-op invocations/s'],
    layers.map((layer) => {
      const cpu = stats(cpuMs.get(layer.name)!)
      return [layer.name, mib(layer.zipBytes), mib(layer.unzippedBytes), mib(layer.phpBytes), formatStats(cpu, 2), (cpu.median / baseline).toFixed(2), formatStats(stats(noopRate.get(layer.name)!), 0)]
    })
  )
  console.log(`\n${table}\nload after: ${(await describeMachine()).load.join(' ')}`)

  await mkdir(join(cacheDir, 'bench-results'), { recursive: true })
  await writeFile(join(cacheDir, 'bench-results', 'layers.json'), JSON.stringify({ date: new Date().toISOString(), machine, rounds, layers, cpuMs: Object.fromEntries(cpuMs), noopRate: Object.fromEntries(noopRate), table }, null, 2))
}

await main()
