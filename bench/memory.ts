// Memory over many warm invocations: RSS (VmRSS) of the runtime's process after 1, 1,000,
// 10,000 and 100,000 invocations, read from /proc while the runtime waits in /next, driven by
// bench/c/runtime-api-server.c. For PHP that is the php process under bootstrap in the bare root,
// for the C floor the client itself, for aws-lambda-ric its node process.
//
// Run: npx tsx bench/memory.ts [--layer DIR] [--runtime repository|layer] [--cache-dir DIR]
//      [--clients php,c-floor,node-ric] [--handler noop]

import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

import {
  DEFAULT_CACHE_DIR,
  clientCommand,
  compileTools,
  createTaskRoot,
  ensureBareRoot,
  findProcess,
  prepareLayer,
  processTree,
  rssKiB,
  runLean,
  type ClientKind
} from './harness.js'
import { describeMachine, formatTable } from './machine.js'

// Totals after which RSS is read. The server's first report is the warm-up of 1 invocation.
const TOTALS = [1, 1_000, 10_000, 100_000]

const PROCESS_NAMES: Record<ClientKind, string> = { php: 'php', 'c-floor': 'floor-client', 'node-ric': 'node' }

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'cache-dir': { type: 'string', default: DEFAULT_CACHE_DIR },
      layer: { type: 'string' },
      runtime: { type: 'string', default: 'repository' },
      clients: { type: 'string', default: 'php,c-floor,node-ric' },
      handler: { type: 'string', default: 'noop' }
    }
  })

  const cacheDir = values['cache-dir']
  if (values.runtime !== 'repository' && values.runtime !== 'layer') {
    throw new Error(`Invalid --runtime ${values.runtime}: use repository or layer`)
  }

  const tools = await compileTools(cacheDir)
  const bareRoot = await ensureBareRoot(cacheDir)
  const runDir = join(cacheDir, 'bench-run')
  const layerDir = await prepareLayer(values.layer ?? join(cacheDir, 'bench-layers', 'size-gcc'), join(runDir, 'layer-memory'), values.runtime)
  const taskRoot = await createTaskRoot(join(runDir, 'task-memory'), tools)
  const machine = await describeMachine()
  console.log(`${machine.summary}\nhandler ${values.handler}, runtime from the ${values.runtime}`)

  const results: Record<string, Record<number, number>> = {}
  for (const kind of values.clients.split(',') as ClientKind[]) {
    const handler = values.handler === 'noop' || kind !== 'php' ? 'noop.handler' : `${values.handler}.handler`
    const command = await clientCommand({ kind, tools, taskRoot, layerDir, bareRoot, handler })
    const readings: Record<number, number> = {}

    const result = await runLean(tools, command, {
      warmup: 1,
      invocations: TOTALS.at(-1)! - 1,
      checkpoints: TOTALS.slice(1, -1).map((total) => total - 1),
      onCheckpoint: (completed, child) => {
        const pid = findProcess(processTree(child.pid!), PROCESS_NAMES[kind])
        if (pid === undefined) {
          throw new Error(`No ${PROCESS_NAMES[kind]} process below ${child.pid} (client ${kind})`)
        }
        readings[completed + 1] = rssKiB(pid)
      }
    })
    if (result.errors > 0) {
      throw new Error(`${kind}: ${result.errors} invocations failed:\n${result.output}`)
    }

    results[kind] = readings
    console.log(`${kind}: ${TOTALS.map((total) => `${total}: ${readings[total]} KiB`).join(', ')}`)
  }

  const table = formatTable(
    ['client', ...TOTALS.map((total) => `RSS after ${total.toLocaleString('en-US')} (KiB)`), 'growth 1k to 100k (KiB)'],
    Object.entries(results).map(([kind, readings]) => [
      kind,
      ...TOTALS.map((total) => String(readings[total])),
      String(readings[100_000]! - readings[1_000]!)
    ])
  )
  console.log(`\n${table}`)

  await mkdir(join(cacheDir, 'bench-results'), { recursive: true })
  await writeFile(join(cacheDir, 'bench-results', `memory-${values.handler}-${values.runtime}.json`), JSON.stringify({ date: new Date().toISOString(), machine, runtime: values.runtime, handler: values.handler, results, table }, null, 2))
}

await main()
