// Instructions per warm invocation, counted by valgrind's callgrind, which does not depend on
// the machine's load. Each client runs twice against bench/c/runtime-api-server.c, for a short
// and a long run, and the difference of the two totals divided by the difference of the
// invocation counts is the cost of one invocation without start-up and exit.
//   php       the layer's PHP running the event loop (php -c php.ini runtime.php, as bootstrap
//             starts it), on this machine with the layer mounted at /opt by bubblewrap
//   c-floor   bench/c/floor-client.c
//   node-ric  aws-lambda-ric with a no-op handler (JIT code included)
// Handlers: noop (returns null) and, for PHP, cpu (the CPU-bound handler of harness.ts).
//
// Run: npx tsx bench/instructions.ts [--layer DIR]... [--short 100] [--long 1100]
//      [--cpu-short 5] [--cpu-long 25] [--runtime repository|layer] [--cache-dir DIR]
// The CPU-bound handler runs fewer invocations (--cpu-short, --cpu-long): callgrind runs code
// about 50 times slower than the CPU.
// Each --layer adds PHP rows for that layer (default: the size-gcc layer). --runtime repository
// (the default) runs this working tree's runtime/ with the layer's PHP.

import { spawn } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { parseArgs } from 'node:util'

import {
  DEFAULT_CACHE_DIR,
  RIC_BIN,
  clientEnvironment,
  compileTools,
  createTaskRoot,
  prepareLayer,
  type ClientCommand,
  type Tools
} from './harness.js'
import { describeMachine, formatTable } from './machine.js'

interface Subject {
  name: string
  handler: string
  command: ClientCommand
  /** Invocation counts of the short and the long run. */
  counts: [number, number]
}

const CALLGRIND = ['valgrind', '--tool=callgrind', '--callgrind-out-file=/dev/null']

/** Runs a client under callgrind for `invocations` invocations and returns the instructions it executed. */
async function countInstructions(tools: Tools, subject: Subject, invocations: number): Promise<number> {
  const server = spawn(tools.server, ['--warmup', '1', '--invocations', String(invocations)], { stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise<number>((resolve, reject) => {
    server.stdout!.once('data', (chunk: Buffer) => resolve((JSON.parse(chunk.toString().split('\n')[0]!) as { listening: number }).listening))
    server.once('close', () => reject(new Error('runtime-api-server ended before it listened')))
  })

  const command = subject.command
  const client = spawn(command.command, command.args, { cwd: command.cwd, env: clientEnvironment(command, `127.0.0.1:${port}`), stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  client.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  await new Promise<void>((resolve) => client.once('close', () => resolve()))
  server.kill('SIGKILL')

  const collected = /Collected : (\d+)/.exec(stderr)
  if (collected === null) {
    throw new Error(`No callgrind summary for ${subject.name}:\n${stderr.slice(-3000)}`)
  }
  return Number(collected[1])
}

function phpSubject(name: string, layerDir: string, taskRoot: string, handler: string, counts: [number, number]): Subject {
  // The layer's php.ini points opcache.file_cache at /tmp/opcache, which bootstrap creates.
  const script = [
    'mkdir -p /tmp/opcache',
    `exec ${CALLGRIND.join(' ')} /opt/bin/php -c /opt/php/etc/php.ini /opt/php/runtime/runtime.php`
  ].join(' && ')

  return {
    name: `php ${name}`,
    handler,
    counts,
    command: {
      command: 'bwrap',
      args: ['--dev-bind', '/', '/', '--ro-bind', layerDir, '/opt', '--tmpfs', '/tmp', '--die-with-parent', '--', '/bin/sh', '-c', script],
      cwd: taskRoot,
      taskRootInClient: taskRoot,
      handler: `${handler}.handler`,
      env: { PHP_INI_SCAN_DIR: `:${taskRoot}/php/conf.d` }
    }
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'cache-dir': { type: 'string', default: DEFAULT_CACHE_DIR },
      layer: { type: 'string', multiple: true },
      short: { type: 'string', default: '100' },
      long: { type: 'string', default: '1100' },
      'cpu-short': { type: 'string', default: '5' },
      'cpu-long': { type: 'string', default: '25' },
      runtime: { type: 'string', default: 'repository' }
    }
  })

  const cacheDir = values['cache-dir']
  if (values.runtime !== 'repository' && values.runtime !== 'layer') {
    throw new Error(`Invalid --runtime ${values.runtime}: use repository or layer`)
  }
  const noopCounts: [number, number] = [Number(values.short), Number(values.long)]
  const cpuCounts: [number, number] = [Number(values['cpu-short']), Number(values['cpu-long'])]
  const tools = await compileTools(cacheDir)
  const runDir = join(cacheDir, 'bench-run')
  const taskRoot = await createTaskRoot(join(runDir, 'task-instructions'), tools)
  const layers = values.layer ?? [join(cacheDir, 'bench-layers', 'size-gcc')]

  const subjects: Subject[] = []
  for (const layer of layers) {
    const prepared = await prepareLayer(layer, join(runDir, `layer-instructions-${basename(layer)}`), values.runtime)
    subjects.push(phpSubject(basename(layer), prepared, taskRoot, 'noop', noopCounts), phpSubject(basename(layer), prepared, taskRoot, 'cpu', cpuCounts))
  }
  subjects.push({
    name: 'c-floor',
    handler: 'noop',
    counts: noopCounts,
    command: { command: CALLGRIND[0]!, args: [...CALLGRIND.slice(1), tools.floorClient], cwd: taskRoot, taskRootInClient: taskRoot, handler: 'noop.handler', env: {} }
  })
  subjects.push({
    name: 'node-ric',
    handler: 'noop',
    counts: noopCounts,
    command: { command: CALLGRIND[0]!, args: [...CALLGRIND.slice(1), process.execPath, RIC_BIN, 'noop.handler'], cwd: taskRoot, taskRootInClient: taskRoot, handler: 'noop.handler', env: {} }
  })

  const rows: string[][] = []
  const results: Array<{ name: string, handler: string, perInvocation: number, startAndExit: number }> = []
  for (const subject of subjects) {
    const [short, long] = subject.counts
    const shortCount = await countInstructions(tools, subject, short)
    const longCount = await countInstructions(tools, subject, long)
    const perInvocation = (longCount - shortCount) / (long - short)
    // The server's warm-up adds one invocation to each run.
    const startAndExit = shortCount - perInvocation * (short + 1)
    results.push({ name: subject.name, handler: subject.handler, perInvocation, startAndExit })
    rows.push([subject.name, subject.handler, Math.round(perInvocation).toLocaleString('en-US'), (startAndExit / 1e6).toFixed(1)])
    console.log(rows.at(-1)!.join('  '))
  }

  const floor = results.find((result) => result.name === 'c-floor')!.perInvocation
  const table = formatTable(
    ['client', 'handler', 'instructions/invocation', 'x c-floor', 'start + exit (M instructions)'],
    rows.map((row, index) => [row[0]!, row[1]!, row[2]!, (results[index]!.perInvocation / floor).toFixed(2), row[3]!])
  )
  console.log(`\n${table}`)

  await mkdir(join(cacheDir, 'bench-results'), { recursive: true })
  await writeFile(join(cacheDir, 'bench-results', `instructions-${values.runtime}.json`), JSON.stringify({ date: new Date().toISOString(), machine: await describeMachine(), noopCounts, cpuCounts, runtime: values.runtime, results, table }, null, 2))
}

await main()
