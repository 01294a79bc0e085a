import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'

import type { RuntimeApiEmulator } from './emulator.js'
import { lambdaEnvironment } from './lambda-env.js'
import type { RuntimeExit, RuntimeHost } from './runtime-host.js'

/** How to start a runtime process. */
export interface RuntimeProcessOptions {
  /** Executable to start, such as a bootstrap file. */
  command: string
  args?: string[]
  /** Emulator the runtime connects to. It starts this process for invocations. */
  emulator: RuntimeApiEmulator
  /** Handler, passed as _HANDLER, default empty. */
  handler?: string
  /** Function code folder, passed as LAMBDA_TASK_ROOT, default the current folder. */
  taskRoot?: string
  /** Folder used in place of /opt in PATH and LD_LIBRARY_PATH, default `/opt`. */
  optDir?: string
  /** Working folder of the process, default `taskRoot`, as Lambda starts runtimes in /var/task. */
  cwd?: string
  /** Variables added to the Lambda environment. A value of `undefined` removes the variable. */
  env?: Record<string, string | undefined>
  /** Starts from this process's environment instead of an empty one. Default false, as in Lambda. */
  inheritEnv?: boolean
  /** Called for each output line as it arrives. */
  onOutput?: (line: OutputLine) => void
  /** Milliseconds `stop()` waits after SIGTERM before it sends SIGKILL, default 1,000. */
  stopGraceMs?: number
  /** Milliseconds a runtime may take to exit after posting an init error before it is killed, default 1,000. */
  initErrorGraceMs?: number
}

/** One line the runtime wrote. */
export interface OutputLine {
  stream: 'stdout' | 'stderr'
  text: string
  /** Number of the process start that wrote it, counting from 1. */
  start: number
}

/**
 * Starts a runtime (a bootstrap) with the Lambda environment, the way AWS's emulator does: on
 * the first invocation, again on the next invocation after the process ended, and fresh
 * after a timeout, which kills it, or an init error. The process runs in its own process group, and the whole
 * group is killed when the runtime ends, as Lambda discards the sandbox.
 */
export class RuntimeProcess implements RuntimeHost {
  /** Every output line of every start, in arrival order. */
  readonly lines: OutputLine[] = []
  /** Exit status of each start, in order. */
  readonly exits: RuntimeExit[] = []

  private child: ChildProcess | undefined
  private exited = false
  private groupGone = false
  private readonly lineListeners = new Set<(line: OutputLine) => void>()
  private closed: Promise<RuntimeExit> | undefined
  private startCount = 0
  private lastEnv: Record<string, string> = {}
  private readonly emulator: RuntimeApiEmulator

  constructor(private readonly options: RuntimeProcessOptions) {
    this.emulator = options.emulator
    this.emulator.attachRuntime(this)
  }

  /** Number of times the process was started. */
  get starts(): number {
    return this.startCount
  }

  /** True while the process runs. */
  get running(): boolean {
    return this.child !== undefined && !this.exited
  }

  /** Process id of the current or last start. */
  get pid(): number | undefined {
    return this.child?.pid
  }

  /** Exit code of the last start that ended, null after a signal, undefined before any start ended. */
  get exitCode(): number | null | undefined {
    return this.exits.at(-1)?.code
  }

  /** Signal that ended the last start, null after an exit code, undefined before any start ended. */
  get signal(): NodeJS.Signals | null | undefined {
    return this.exits.at(-1)?.signal
  }

  /** Environment of the last start. */
  get env(): Record<string, string> {
    return this.lastEnv
  }

  /** Text of all output lines, optionally of one stream, joined with newlines. */
  output(stream?: 'stdout' | 'stderr'): string {
    return this.lines
      .filter((line) => stream === undefined || line.stream === stream)
      .map((line) => line.text)
      .join('\n')
  }

  /** Starts the process unless it runs. Resolves once it is spawned and rejects when it cannot be. */
  async start(): Promise<void> {
    if (this.running) {
      return
    }

    if (this.closed !== undefined) {
      await this.closed
    }

    await this.spawnProcess()
  }

  /** Starts the process unless it runs (RuntimeHost). */
  ensureRunning(): Promise<void> {
    return this.start()
  }

  /** Kills the process group after a timeout and waits until it is gone (RuntimeHost). */
  async stopAfterTimeout(): Promise<void> {
    await this.kill('SIGKILL')
  }

  /**
   * Waits for the process to exit after an init error, as a runtime should, and kills its
   * group when it is still running after the grace period (RuntimeHost).
   */
  async stopAfterInitError(): Promise<void> {
    if (this.closed === undefined || this.exited) {
      await this.closed
      return
    }

    const forceKill = setTimeout(() => this.signalGroup('SIGKILL'), this.options.initErrorGraceMs ?? 1000)

    try {
      await this.closed
    } finally {
      clearTimeout(forceKill)
    }
  }

  /**
   * Stops the process: SIGTERM, then SIGKILL after the grace period. Resolves with how it
   * ended, or undefined when it was not running.
   */
  async stop(): Promise<RuntimeExit | undefined> {
    if (this.closed === undefined) {
      return undefined
    }

    if (this.exited) {
      return this.closed
    }

    const graceMs = this.options.stopGraceMs ?? 1000
    const forceKill = setTimeout(() => this.signalGroup('SIGKILL'), graceMs)

    try {
      return await this.kill('SIGTERM')
    } finally {
      clearTimeout(forceKill)
    }
  }

  /** Resolves with how the current start ends. */
  waitForExit(): Promise<RuntimeExit> {
    if (this.closed === undefined) {
      return Promise.reject(new Error(`Runtime ${this.options.command} was never started`))
    }

    return this.closed
  }

  /** Resolves with the first line, already written or still to come, that matches `pattern`. */
  waitForLine(pattern: RegExp | string, timeoutMs = 10_000): Promise<OutputLine> {
    const matches = (line: OutputLine): boolean =>
      typeof pattern === 'string' ? line.text.includes(pattern) : pattern.test(line.text)

    const found = this.lines.find(matches)
    if (found !== undefined) {
      return Promise.resolve(found)
    }

    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.lineListeners.delete(listener)
        reject(new Error(`No output line of ${this.options.command} matched ${String(pattern)} within ${timeoutMs} ms. Output so far:\n${this.output()}`))
      }, timeoutMs)

      const listener = (line: OutputLine): void => {
        if (matches(line)) {
          clearTimeout(timer)
          this.lineListeners.delete(listener)
          resolve(line)
        }
      }

      this.lineListeners.add(listener)
    })
  }

  private async spawnProcess(): Promise<void> {
    const env = this.buildEnvironment()
    this.lastEnv = env
    this.startCount += 1
    const start = this.startCount

    // A new process starts in the Started state: no init error, no current request id.
    this.emulator.runtimeStarted()

    const child = spawn(this.options.command, this.options.args ?? [], {
      cwd: this.options.cwd ?? env.LAMBDA_TASK_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true
    })

    this.child = child
    this.exited = false
    this.groupGone = false

    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        this.exited = true
        this.groupGone = true
        this.closed = Promise.resolve({ code: null, signal: null })
        reject(new Error(`Cannot start runtime ${this.options.command}: ${error.message}`))
      }

      child.once('error', onError)
      child.once('spawn', () => {
        child.off('error', onError)
        resolve()
      })
    })

    // Signals to a process that is already gone are the only errors left after a spawn.
    child.on('error', () => {})

    this.collectLines(child.stdout!, 'stdout', start)
    this.collectLines(child.stderr!, 'stderr', start)

    child.once('exit', () => {
      this.exited = true
      // Lambda discards the whole sandbox when the runtime ends, so no child outlives it.
      this.signalGroup('SIGKILL')
    })

    this.closed = new Promise<RuntimeExit>((resolve) => {
      child.once('close', (code, signal) => {
        const exit: RuntimeExit = { code, signal }
        this.groupGone = true
        this.exits.push(exit)
        this.emulator.runtimeExited(exit)
        resolve(exit)
      })
    })
  }

  private buildEnvironment(): Record<string, string> {
    const config = this.emulator.config
    const lambdaEnv = lambdaEnvironment({
      runtimeApi: this.emulator.runtimeApi,
      handler: this.options.handler ?? '',
      taskRoot: this.options.taskRoot ?? process.cwd(),
      optDir: this.options.optDir ?? '/opt',
      functionName: config.functionName,
      functionVersion: config.functionVersion,
      memorySizeMb: config.memorySizeMb,
      region: config.region,
      now: new Date()
    })

    const merged: Record<string, string | undefined> = {
      ...(this.options.inheritEnv === true ? process.env : {}),
      ...lambdaEnv,
      ...this.options.env
    }

    const env: Record<string, string> = {}
    for (const [name, value] of Object.entries(merged)) {
      if (value !== undefined) {
        env[name] = value
      }
    }

    return env
  }

  private collectLines(stream: Readable, name: 'stdout' | 'stderr', start: number): void {
    const reader = createInterface({ input: stream, crlfDelay: Infinity })

    reader.on('line', (text) => {
      const line: OutputLine = { stream: name, text, start }
      this.lines.push(line)
      this.options.onOutput?.(line)

      for (const listener of [...this.lineListeners]) {
        listener(line)
      }
    })
  }

  private async kill(signal: NodeJS.Signals): Promise<RuntimeExit | undefined> {
    if (this.closed === undefined) {
      return undefined
    }

    this.signalGroup(signal)
    return this.closed
  }

  private signalGroup(signal: NodeJS.Signals): void {
    const pid = this.child?.pid
    if (pid === undefined || this.groupGone) {
      return
    }

    try {
      process.kill(-pid, signal)
    } catch (error) {
      // ESRCH: the group is already gone.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') {
        throw error
      }
    }
  }
}
