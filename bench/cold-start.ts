// Cold start: milliseconds from process start to the first GET /runtime/invocation/next. Each
// command runs under bench/c/stamp-exec --wait, inside the bare root for PHP, so creating the
// sandbox is not counted. stamp-exec records CLOCK_MONOTONIC before it starts the command, and
// the clock stops when the request's first bytes reach a raw TCP server in this process (the
// same clock, process.hrtime). The server responds with 500, after which every client exits.
// stamp-exec then reports the CPU time (user + system) of the whole process tree from start to
// exit, which depends much less on the machine's load than the wall time.
//   bootstrap               the layer's /opt/bootstrap with an empty /tmp, as in a new sandbox,
//                           in the bare root, whose /bin/sh is busybox ash
//   bootstrap, bash         the same with bash as /bin/sh and coreutils' mkdir (harness.ts)
//   bootstrap, warm /tmp    busybox, with /tmp kept from an earlier start: the opcache file
//                           cache is filled, as after a PHP restart inside a sandbox
//   php curl /next          the floor: the layer's PHP with the same ini files running a
//                           one-liner that sends GET /next with curl
//   php -r ''               the layer's PHP with the same ini files doing nothing; it sends no
//                           request, so its time to exit stands in for the time to /next
//   node-ric                aws-lambda-ric with a no-op handler, on this machine's Node.js
// Each round runs every subject once, in a rotated order. --compare DIR adds "bootstrap (DIR)":
// another layer with its own runtime files, such as a copy taken before a change to runtime/.
//
// Run: npx tsx bench/cold-start.ts [--layer DIR] [--rounds 30] [--runtime repository|layer]
//      [--compare DIR]... [--cache-dir DIR]

import { spawn } from 'node:child_process'
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

import {
  DEFAULT_CACHE_DIR,
  clientCommand,
  clientEnvironment,
  compileTools,
  createTaskRoot,
  ensureBareRoot,
  killGroup,
  prepareLayer,
  type ClientCommand,
  type ClientSetup
} from './harness.js'
import { describeMachine, formatStats, formatTable, stats } from './machine.js'

const NEXT_REQUEST = 'GET /2018-06-01/runtime/invocation/next'
const ERROR_BODY = '{"errorMessage":"Internal Server Error","errorType":"Benchmark"}'
const ERROR_RESPONSE = `HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: ${ERROR_BODY.length}\r\nConnection: close\r\n\r\n${ERROR_BODY}`
const CURL_NEXT = '$c = curl_init("http://" . getenv("AWS_LAMBDA_RUNTIME_API") . "/2018-06-01/runtime/invocation/next"); curl_setopt($c, CURLOPT_RETURNTRANSFER, true); curl_exec($c);'

// The same ini files as bootstrap gives PHP: php.ini (also PHP's built-in path), the layer's
// conf.d and the function's php/conf.d.
const PHP_ENV = { PHP_INI_SCAN_DIR: ':/var/task/php/conf.d' }

interface Subject {
  name: string
  setup: ClientSetup
  program?: string[]
  env?: Record<string, string>
}

interface Start {
  /** Milliseconds to the first /next, or to the exit for a command that sends none. */
  readyMs: number
  /** CPU milliseconds of the process tree from start to exit. */
  cpuMs: number
}

/** Starts a TCP server that records when the first bytes of a /next request arrive. */
async function startNextServer(onNext: (arrivedNs: bigint) => void): Promise<Server> {
  const server = createServer((socket) => {
    let received = ''
    socket.on('data', (chunk: Buffer) => {
      const arrivedNs = process.hrtime.bigint()
      received += chunk.toString('latin1')
      if (received.startsWith(NEXT_REQUEST)) {
        onNext(arrivedNs)
      }
      if (received.includes('\r\n\r\n')) {
        socket.end(ERROR_RESPONSE)
      }
    })
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

/** Runs one start and returns its figures. */
async function measureStart(subject: Subject, command: ClientCommand): Promise<Start> {
  let arrivedNs: bigint | undefined
  const server = await startNextServer((ns) => {
    arrivedNs ??= ns
  })
  const { port } = server.address() as AddressInfo

  const child = spawn(command.command, command.args, {
    cwd: command.cwd,
    env: { ...clientEnvironment(command, `127.0.0.1:${port}`), ...subject.env },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true
  })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })

  const timer = setTimeout(() => killGroup(child), 15_000)
  await new Promise<void>((resolve) => child.once('close', () => resolve()))
  clearTimeout(timer)
  server.close()

  const start = /stamp-exec start (\d+)/.exec(stderr)
  const exit = /stamp-exec exit (\d+) (\d+) (\d+)/.exec(stderr)
  if (start === null || exit === null) {
    throw new Error(`${subject.name}: no report from stamp-exec:\n${stderr}`)
  }

  const cpuMs = Number(exit[3]) / 1e6
  if (arrivedNs === undefined) {
    if (exit[2] !== '0') {
      throw new Error(`${subject.name}: sent no /next and exited with ${exit[2]}:\n${stderr}`)
    }
    return { readyMs: Number(exit[1]) / 1e6, cpuMs }
  }
  return { readyMs: Number(arrivedNs - BigInt(start[1]!)) / 1e6, cpuMs }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'cache-dir': { type: 'string', default: DEFAULT_CACHE_DIR },
      layer: { type: 'string' },
      rounds: { type: 'string', default: '30' },
      runtime: { type: 'string', default: 'repository' },
      compare: { type: 'string', multiple: true, default: [] }
    }
  })

  const cacheDir = values['cache-dir']
  const rounds = Number(values.rounds)
  if (values.runtime !== 'repository' && values.runtime !== 'layer') {
    throw new Error(`Invalid --runtime ${values.runtime}: use repository or layer`)
  }

  const tools = await compileTools(cacheDir)
  const bareRoot = await ensureBareRoot(cacheDir)
  const bashRoot = await ensureBareRoot(cacheDir, 'bash')
  const runDir = join(cacheDir, 'bench-run')
  const layerDir = await prepareLayer(values.layer ?? join(cacheDir, 'bench-layers', 'size-gcc'), join(runDir, 'layer-cold'), values.runtime)
  const taskRoot = await createTaskRoot(join(runDir, 'task-cold'), tools)
  const warmTmp = await mkdtemp(join(runDir, 'tmp-'))
  const php = { kind: 'php' as const, tools, taskRoot, layerDir, bareRoot, stamp: true }

  const subjects: Subject[] = [
    { name: 'bootstrap', setup: php },
    { name: 'bootstrap, bash', setup: { ...php, bareRoot: bashRoot } },
    { name: 'bootstrap, warm /tmp', setup: { ...php, tmpDir: warmTmp } },
    { name: 'php curl /next', setup: php, program: ['/opt/bin/php', '-r', CURL_NEXT], env: PHP_ENV },
    { name: "php -r ''", setup: php, program: ['/opt/bin/php', '-r', ''], env: PHP_ENV },
    { name: 'node-ric', setup: { kind: 'node-ric', tools, taskRoot, stamp: true } }
  ]
  for (const [index, other] of values.compare.entries()) {
    const otherDir = await prepareLayer(other, join(runDir, `layer-cold-compare-${index}`), 'layer')
    subjects.push({ name: `bootstrap (${other})`, setup: { ...php, layerDir: otherDir } })
  }

  const machineBefore = await describeMachine()
  console.log(`${machineBefore.summary}\n${rounds} rounds, runtime from the ${values.runtime}`)

  // One start fills the warm /tmp before the rounds.
  const warm = subjects.find((subject) => subject.name === 'bootstrap, warm /tmp')!
  await measureStart(warm, await clientCommand(warm.setup, warm.program))

  const samples = new Map<string, Start[]>(subjects.map((subject) => [subject.name, []]))
  for (let round = 0; round < rounds; round++) {
    for (let index = 0; index < subjects.length; index++) {
      const subject = subjects[(index + round) % subjects.length]!
      samples.get(subject.name)!.push(await measureStart(subject, await clientCommand(subject.setup, subject.program)))
    }
  }

  const ready = (name: string): number[] => samples.get(name)!.map((start) => start.readyMs)
  const cpu = (name: string): number[] => samples.get(name)!.map((start) => start.cpuMs)
  const floorReady = stats(ready('php curl /next')).median
  const floorExit = stats(ready("php -r ''")).median
  const floorCpu = stats(cpu('php curl /next')).median
  const table = formatTable(
    ['subject', 'ms to /next (exit for php -r)', 'x php curl /next', "x php -r ''", 'CPU ms, start to exit', 'CPU x php curl /next'],
    subjects.map((subject) => {
      const wall = stats(ready(subject.name))
      const time = stats(cpu(subject.name))
      return [
        subject.name,
        formatStats(wall, 2),
        (wall.median / floorReady).toFixed(2),
        (wall.median / floorExit).toFixed(2),
        formatStats(time, 1),
        (time.median / floorCpu).toFixed(2)
      ]
    })
  )
  console.log(`\n${table}\nmedian (min-max) over ${rounds} rounds, ratios of medians; load after: ${(await describeMachine()).load.join(' ')}`)

  await rm(warmTmp, { recursive: true, force: true })
  await mkdir(join(cacheDir, 'bench-results'), { recursive: true })
  await writeFile(join(cacheDir, 'bench-results', 'cold.json'), JSON.stringify({ date: new Date().toISOString(), machine: machineBefore, rounds, runtime: values.runtime, samples: Object.fromEntries(samples), table }, null, 2))
}

await main()
