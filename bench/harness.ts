// Shared parts of the runtime benchmarks: the C tools in bench/c, the bare root a layer runs
// in and the function folder with the benchmark handlers. It also starts the three clients (the
// PHP runtime of a layer, the C floor client and AWS's Node.js client) and drives them with the
// lean Runtime API server.

import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { cp, mkdir, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

import { createBareRoot } from '../src/bare-root.js'
import { bareRootCommand, findBareRootSandbox } from '../src/bare-root-sandbox.js'
import { defaultBuildRoot } from '../src/build-native.js'
import { lambdaEnvironment } from '../src/emulator/index.js'
import { actionRoot } from '../src/paths.js'

const execFileAsync = promisify(execFile)

const BENCH_DIR = dirname(fileURLToPath(import.meta.url))
const RUNTIME_DIR = join(BENCH_DIR, '..', 'runtime')

/**
 * Default cache folder of the benchmarks: BENCH_CACHE_DIR, else .cache/bench in the repository.
 * It is kept apart from the tests' cache folder, so a build here never shares its work folder
 * with a test build running at the same time.
 */
export const DEFAULT_CACHE_DIR = process.env.BENCH_CACHE_DIR || join(actionRoot(), '.cache', 'bench')

/** Path of aws-lambda-ric's command-line entry point. */
export const RIC_BIN = join(dirname(createRequire(import.meta.url).resolve('aws-lambda-ric/package.json')), 'bin', 'index.mjs')

export interface Tools {
  server: string
  floorClient: string
  stampExec: string
}

/** Compiles bench/c into CACHE/bench-bin when a binary is missing or older than its source. */
export async function compileTools(cacheDir: string): Promise<Tools> {
  const binDir = join(cacheDir, 'bench-bin')
  await mkdir(binDir, { recursive: true })

  const targets: Array<{ name: keyof Tools, source: string, binary: string, flags: string[] }> = [
    { name: 'server', source: 'runtime-api-server.c', binary: 'runtime-api-server', flags: [] },
    { name: 'floorClient', source: 'floor-client.c', binary: 'floor-client', flags: ['-lcurl'] },
    { name: 'stampExec', source: 'stamp-exec.c', binary: 'stamp-exec', flags: ['-static'] }
  ]

  const tools: Partial<Tools> = {}
  for (const target of targets) {
    const source = join(BENCH_DIR, 'c', target.source)
    const binary = join(binDir, target.binary)
    if (!existsSync(binary) || statSync(binary).mtimeMs < statSync(source).mtimeMs) {
      // The library goes after the source file, or the linker drops it.
      await execFileAsync('gcc', ['-O2', '-Wall', '-o', binary, source, ...target.flags])
    }
    tools[target.name] = binary
  }

  return tools as Tools
}

/** The /bin/sh of a bare root: busybox ash (src/bare-root.ts), or bash with coreutils' mkdir. */
export type Shell = 'busybox' | 'bash'

/** Programs copied from the build root for the bash variant, with the libraries they need. */
const GNU_PROGRAMS = ['/bin/bash', '/bin/mkdir']

/**
 * Creates CACHE/bare-root (glibc of the Debian 11 build root and a static busybox) unless it
 * exists. The bash variant, CACHE/bare-root-bash, also gets Debian 11's bash as /bin/sh and
 * coreutils' mkdir, so bootstrap runs with a GNU userland instead of busybox builtins.
 */
export async function ensureBareRoot(cacheDir: string, shell: Shell = 'busybox'): Promise<string> {
  const dir = join(cacheDir, shell === 'busybox' ? 'bare-root' : 'bare-root-bash')
  if (existsSync(join(dir, '.bench-ready'))) {
    return dir
  }

  const buildRoot = defaultBuildRoot(cacheDir)
  if (!existsSync(join(buildRoot, '.debootstrap-done'))) {
    throw new Error(`Build root ${buildRoot} not found: run bench/build-layers.ts first, which creates it`)
  }

  await rm(dir, { recursive: true, force: true })
  await createBareRoot(dir, { glibcRoot: buildRoot })
  if (shell === 'bash') {
    await addGnuPrograms(buildRoot, dir)
  }
  await writeFile(join(dir, '.bench-ready'), '')
  return dir
}

async function addGnuPrograms(buildRoot: string, dir: string): Promise<void> {
  for (const program of GNU_PROGRAMS) {
    const { stdout } = await execFileAsync('chroot', [buildRoot, 'ldd', program])
    const libraries = [...stdout.matchAll(/=> (\/\S+)/g)].map((match) => match[1]!)
    for (const file of [program, ...libraries]) {
      const target = join(dir, file)
      if (!existsSync(target) || file === program) {
        await rm(target, { force: true })
        await mkdir(dirname(target), { recursive: true })
        await cp(join(buildRoot, file), target, { dereference: true })
      }
    }
  }

  await rm(join(dir, 'bin', 'sh'), { force: true })
  await symlink('bash', join(dir, 'bin', 'sh'))
}

/**
 * Copies a built layer to `target`. With `runtime: 'repository'` the copy gets bootstrap,
 * php.ini and the event loop from this working tree, so a change to runtime/ is measured with
 * the layer's PHP without a rebuild.
 */
export async function prepareLayer(sourceLayer: string, target: string, runtime: 'repository' | 'layer'): Promise<string> {
  if (!existsSync(join(sourceLayer, 'bin', 'php'))) {
    throw new Error(`No layer in ${sourceLayer} (bin/php missing): build one with bench/build-layers.ts`)
  }

  await rm(target, { recursive: true, force: true })
  await cp(sourceLayer, target, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true })

  if (runtime === 'repository') {
    await cp(join(RUNTIME_DIR, 'bootstrap'), join(target, 'bootstrap'))
    await cp(join(RUNTIME_DIR, 'php.ini'), join(target, 'php', 'etc', 'php.ini'))
    await rm(join(target, 'php', 'runtime'), { recursive: true, force: true })
    await cp(join(RUNTIME_DIR, 'src'), join(target, 'php', 'runtime'), { recursive: true })
    await setOldTimestamps(join(target, 'php', 'runtime'))
  }

  return target
}

// opcache does not cache a script changed less than opcache.file_update_protection (2) seconds
// ago, so freshly written PHP files would be compiled without it at first. Deployed files are
// older: the zip of a layer or function stores fixed timestamps.
const OLD_TIMESTAMP = new Date('2020-01-01T00:00:00Z')

async function setOldTimestamps(folder: string): Promise<void> {
  for (const entry of await readdir(folder, { recursive: true })) {
    await utimes(join(folder, entry), OLD_TIMESTAMP, OLD_TIMESTAMP)
  }
}

// A CPU-bound handler: recursive Fibonacci, md5 and sorting, about 22M instructions per
// invocation with PHP 8.2 (bench/instructions.ts).
const CPU_HANDLER = `<?php

function fib(int $n): int
{
    return $n < 2 ? $n : fib($n - 1) + fib($n - 2);
}

function handler($event, $context)
{
    $words = [];
    for ($i = 0; $i < 2000; $i++) {
        $words[] = md5((string) $i) . str_repeat('x', $i % 7);
    }
    sort($words);

    return ['fib' => fib(22), 'first' => $words[0], 'joined' => strlen(implode(',', $words))];
}
`

/** Creates the function folder: no-op handlers for PHP and Node.js, the CPU-bound PHP handler and stamp-exec. */
export async function createTaskRoot(dir: string, tools: Tools): Promise<string> {
  await rm(dir, { recursive: true, force: true })
  await mkdir(join(dir, 'php', 'conf.d'), { recursive: true })
  await writeFile(join(dir, 'noop.php'), '<?php\n\nfunction handler($event, $context)\n{\n    return null;\n}\n')
  await writeFile(join(dir, 'cpu.php'), CPU_HANDLER)
  await writeFile(join(dir, 'noop.mjs'), 'export const handler = async () => null\n')
  await cp(tools.stampExec, join(dir, 'stamp-exec'))
  await setOldTimestamps(dir)

  return dir
}

export type ClientKind = 'php' | 'c-floor' | 'node-ric'

/** Everything needed to start a client against a Runtime API at some host:port. */
export interface ClientSetup {
  kind: ClientKind
  tools: Tools
  /** Function folder on this machine (createTaskRoot). */
  taskRoot: string
  /** PHP only: the layer, mounted at /opt in the bare root. */
  layerDir?: string
  bareRoot?: string
  /** PHP only: a folder mounted as /tmp, so the opcache file cache outlives the sandbox. Default a fresh tmpfs. */
  tmpDir?: string
  /** Handler name, default noop.handler. */
  handler?: string
  /** Run the command under `stamp-exec --wait` (cold start), which reports its start, exit and CPU time. */
  stamp?: boolean
}

/** A command that starts a client, with the Lambda environment it needs. */
export interface ClientCommand {
  command: string
  args: string[]
  /** Working folder on this machine. */
  cwd: string
  /** LAMBDA_TASK_ROOT as the client sees it. */
  taskRootInClient: string
  handler: string
  /** Variables added to the Lambda environment. */
  env: Record<string, string>
}

/** Builds the command that starts a client; PHP runs its layer's bootstrap in the bare root with bubblewrap. */
export async function clientCommand(setup: ClientSetup, program?: string[]): Promise<ClientCommand> {
  const handler = setup.handler ?? 'noop.handler'
  const stamp = (path: string): string[] => (setup.stamp === true ? [path, '--wait'] : [])

  if (setup.kind === 'php') {
    if (setup.layerDir === undefined || setup.bareRoot === undefined) {
      throw new Error('The PHP client needs layerDir and bareRoot')
    }

    const sandbox = await findBareRootSandbox('bwrap')
    const inner = [...stamp('/var/task/stamp-exec'), ...(program ?? ['/opt/bootstrap'])]
    const { command, args } = bareRootCommand(sandbox, { root: setup.bareRoot, layerDir: setup.layerDir, taskRoot: setup.taskRoot }, inner)
    if (setup.tmpDir !== undefined) {
      const tmpfs = args.indexOf('--tmpfs')
      args.splice(tmpfs, 2, '--bind', setup.tmpDir, '/tmp')
    }

    return { command, args, cwd: setup.taskRoot, taskRootInClient: '/var/task', handler, env: {} }
  }

  if (setup.kind === 'c-floor') {
    const floor = [...stamp(setup.tools.stampExec), setup.tools.floorClient]
    return { command: floor[0]!, args: floor.slice(1), cwd: setup.taskRoot, taskRootInClient: setup.taskRoot, handler, env: {} }
  }

  const ricHandler = setup.handler ?? 'noop.handler'
  const node = [...stamp(setup.tools.stampExec), process.execPath, RIC_BIN, ricHandler]
  return { command: node[0]!, args: node.slice(1), cwd: setup.taskRoot, taskRootInClient: setup.taskRoot, handler: ricHandler, env: {} }
}

/** Builds the whole environment of a client started against `runtimeApi`, as Lambda sets it. */
export function clientEnvironment(client: ClientCommand, runtimeApi: string): Record<string, string> {
  return {
    ...lambdaEnvironment({
      runtimeApi,
      handler: client.handler,
      taskRoot: client.taskRootInClient,
      optDir: '/opt',
      functionName: 'bench',
      functionVersion: '$LATEST',
      memorySizeMb: 1024,
      region: 'us-east-1',
      now: new Date()
    }),
    ...client.env
  }
}

/** Returns `pid` and every process below it, from /proc. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) {
      continue
    }
    const parent = readStatFields(Number(entry))?.[1]
    if (parent !== undefined) {
      const list = children.get(Number(parent)) ?? []
      list.push(Number(entry))
      children.set(Number(parent), list)
    }
  }

  const tree: number[] = []
  const pending = [pid]
  while (pending.length > 0) {
    const current = pending.pop()!
    tree.push(current)
    pending.push(...(children.get(current) ?? []))
  }
  return tree
}

// Fields of /proc/PID/stat after the command name: state, ppid, ... (field 3 onwards of proc(5)).
function readStatFields(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return text.slice(text.lastIndexOf(')') + 2).split(' ')
  } catch {
    return undefined
  }
}

const CLOCK_TICKS_PER_SECOND = 100

/** User plus system CPU seconds of the processes, from /proc/PID/stat (10 ms resolution). */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0
  for (const pid of pids) {
    const fields = readStatFields(pid)
    if (fields !== undefined) {
      // utime and stime are fields 14 and 15 of proc(5), 11 and 12 here.
      ticks += Number(fields[11]) + Number(fields[12])
    }
  }
  return ticks / CLOCK_TICKS_PER_SECOND
}

/** Resident set size in KiB (VmRSS of /proc/PID/status). */
export function rssKiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (match === null) {
    throw new Error(`No VmRSS in /proc/${pid}/status: has the process exited?`)
  }
  return Number(match[1])
}

/** Returns the first process in the tree whose command name (comm) is `name`. */
export function findProcess(tree: readonly number[], name: string): number | undefined {
  return tree.find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name
    } catch {
      return false
    }
  })
}

/** Kills a process group, ignoring one that is gone. */
export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
    return
  }
  try {
    process.kill(-child.pid, 'SIGKILL')
  } catch {
    // already gone
  }
}

export interface LeanRunOptions {
  warmup: number
  invocations: number
  /** Counts after which the server pauses and `onCheckpoint` runs; the start (0) and the end always pause. */
  checkpoints?: number[]
  /** Event JSON, default `{}`. */
  event?: string
  /** Runs at each checkpoint while the client waits in /next, with the client's process. */
  onCheckpoint?: (completed: number, client: ChildProcess) => void | Promise<void>
}

export interface LeanRunResult {
  seconds: number
  invocationsPerSecond: number
  serverCpuSeconds: number
  errors: number
  /** Client CPU seconds over the timed window (whole process tree). */
  clientCpuSeconds: number
  /** Output of the client, for failures. */
  output: string
}

/** Runs a client against bench/c/runtime-api-server for `invocations` invocations after a warm-up. */
export async function runLean(tools: Tools, client: ClientCommand, options: LeanRunOptions): Promise<LeanRunResult> {
  const args = ['--warmup', String(options.warmup), '--invocations', String(options.invocations), '--pause']
  for (const checkpoint of options.checkpoints ?? []) {
    args.push('--checkpoint', String(checkpoint))
  }
  if (options.event !== undefined) {
    args.push('--event', options.event)
  }

  const server = spawn(tools.server, args, { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: server.stdout! })[Symbol.asyncIterator]()
  const readLine = async (): Promise<Record<string, number>> => {
    const next = await lines.next()
    if (next.done === true) {
      throw new Error(`runtime-api-server ended early (exit ${server.exitCode}); client output:\n${output}`)
    }
    return JSON.parse(next.value) as Record<string, number>
  }

  let output = ''
  let child: ChildProcess | undefined
  try {
    const { listening } = await readLine()
    child = spawn(client.command, client.args, {
      cwd: client.cwd,
      env: clientEnvironment(client, `127.0.0.1:${listening}`),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true
    })
    const append = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-20_000)
    }
    child.stdout!.on('data', append)
    child.stderr!.on('data', append)

    let cpuAtStart = 0
    let cpuAtEnd = 0
    for (;;) {
      const line = await readLine()
      if (line.done !== undefined) {
        return {
          seconds: line.seconds!,
          invocationsPerSecond: options.invocations / line.seconds!,
          serverCpuSeconds: line.serverCpuSeconds!,
          errors: line.errors!,
          clientCpuSeconds: cpuAtEnd - cpuAtStart,
          output
        }
      }

      const completed = line.checkpoint!
      if (completed === 0) {
        cpuAtStart = cpuSeconds(processTree(child.pid!))
      }
      await options.onCheckpoint?.(completed, child)
      if (completed === options.invocations) {
        cpuAtEnd = cpuSeconds(processTree(child.pid!))
      }
      server.stdin!.write('\n')
    }
  } finally {
    server.kill('SIGKILL')
    if (child !== undefined) {
      const exited = new Promise<void>((resolve) => {
        if (child!.exitCode !== null || child!.signalCode !== null) {
          resolve()
        }
        child!.once('close', () => resolve())
      })
      const timer = setTimeout(() => killGroup(child!), 5000)
      await exited
      clearTimeout(timer)
    }
  }
}
