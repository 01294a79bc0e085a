// Shared setup of the runtime's jest tests: the Runtime API emulator plus runtime/bootstrap
// started with the system PHP (BOOTSTRAP_PHP), against the handlers in test/fixtures/handlers.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

import {
  RuntimeApiEmulator,
  RuntimeProcess,
  lambdaEnvironment,
  type EmulatorOptions,
  type InvocationResult
} from '../src/emulator/index.js'

export const REPOSITORY_ROOT = fileURLToPath(new URL('..', import.meta.url))
export const BOOTSTRAP = fileURLToPath(new URL('../runtime/bootstrap', import.meta.url))
export const FIXTURES = fileURLToPath(new URL('./fixtures/handlers', import.meta.url))

/** Absolute path of the system PHP, which the tests run the runtime with. */
export const SYSTEM_PHP = execFileSync('sh', ['-c', 'command -v php'], { encoding: 'utf8' }).trim()

/** An emulator and the bootstrap process attached to it. */
export interface RuntimeUnderTest {
  emulator: RuntimeApiEmulator
  runtime: RuntimeProcess
  /** Invokes and returns the result; `event` is sent as JSON. */
  invoke: RuntimeApiEmulator['invoke']
  /** Stops the runtime process and the emulator. */
  stop(): Promise<void>
}

export interface StartOptions {
  /** Variables added to the Lambda environment. */
  env?: Record<string, string | undefined>
  /** LAMBDA_TASK_ROOT; default the fixture handlers. */
  taskRoot?: string
  /** bootstrap to run; default runtime/bootstrap. */
  command?: string
  /** Arguments of `command`, for a command that wraps bootstrap (strace, for example). */
  args?: string[]
  /** Emulator settings; the timeout defaults to 10 s. */
  emulator?: EmulatorOptions
}

const running = new Set<RuntimeUnderTest>()

/**
 * Starts an emulator on 127.0.0.1 and attaches runtime/bootstrap for `handler`. The process
 * starts on the first invocation, as Lambda starts a runtime.
 */
export async function startRuntime(handler: string, options: StartOptions = {}): Promise<RuntimeUnderTest> {
  const emulator = new RuntimeApiEmulator({ timeoutMs: 10_000, ...options.emulator })
  await emulator.start()

  const runtime = new RuntimeProcess({
    command: options.command ?? BOOTSTRAP,
    ...(options.args === undefined ? {} : { args: options.args }),
    emulator,
    handler,
    taskRoot: options.taskRoot ?? FIXTURES,
    env: { BOOTSTRAP_PHP: SYSTEM_PHP, ...options.env }
  })

  const underTest: RuntimeUnderTest = {
    emulator,
    runtime,
    invoke: (event, invokeOptions) => emulator.invoke(event, invokeOptions),
    stop: async () => {
      running.delete(underTest)
      await runtime.stop()
      await emulator.stop()
    }
  }
  running.add(underTest)

  return underTest
}

/** Stops every runtime that a test left running; call from afterEach. */
export async function stopAllRuntimes(): Promise<void> {
  await Promise.all([...running].map((underTest) => underTest.stop()))
}

/** Returns the parsed JSON payload of a result, failing with the payload text when the outcome differs. */
export function expectOutcome(result: InvocationResult, outcome: InvocationResult['outcome']): unknown {
  if (result.outcome !== outcome) {
    throw new Error(`Expected outcome ${outcome}, got ${result.outcome} (${result.errorType ?? 'no error type'}): ${result.payload.toString('utf8')}`)
  }

  return result.json()
}

/** The shape of an error body the runtime posts. */
export interface ErrorBody {
  errorType: string
  errorMessage: string
  stackTrace: string[]
}

/** A bootstrap started without RuntimeProcess, for tests that need its raw stdout bytes or its own signals. */
export interface RawRuntime {
  child: ChildProcess
  /** Everything written to stdout so far. */
  stdout(): Buffer
  /** Resolves with the exit code (or signal) once the process ends. */
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

const rawRuntimes = new Set<ChildProcess>()

/**
 * Spawns runtime/bootstrap directly with the Lambda environment for `emulator`. RuntimeProcess
 * splits output into lines at "\r" too (Node's readline does), and kills the whole process
 * group when bootstrap ends; these tests need neither.
 */
export function spawnRawRuntime(emulator: RuntimeApiEmulator, handler: string, env: Record<string, string> = {}): RawRuntime {
  const lambdaEnv = lambdaEnvironment({
    runtimeApi: emulator.runtimeApi,
    handler,
    taskRoot: FIXTURES,
    optDir: '/opt',
    functionName: emulator.config.functionName,
    functionVersion: emulator.config.functionVersion,
    memorySizeMb: emulator.config.memorySizeMb,
    region: emulator.config.region,
    now: new Date()
  })

  const child = spawn(BOOTSTRAP, [], {
    cwd: FIXTURES,
    env: { ...lambdaEnv, BOOTSTRAP_PHP: SYSTEM_PHP, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true
  })
  rawRuntimes.add(child)

  const chunks: Buffer[] = []
  child.stdout!.on('data', (chunk: Buffer) => chunks.push(chunk))
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => {
      rawRuntimes.delete(child)
      resolve({ code, signal })
    })
  })

  return { child, stdout: () => Buffer.concat(chunks), exited }
}

/** Kills the process groups of raw runtimes a test left running; call from afterEach. */
export function killRawRuntimes(): void {
  for (const child of rawRuntimes) {
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {
      // The group is already gone.
    }
  }
}

/**
 * Waits until `check` returns true, polling every 10 ms. Output reaches the test through a
 * pipe and can arrive after the Runtime API request that followed it.
 */
export async function waitUntil(check: () => boolean, description: string, timeoutMs = 5000): Promise<void> {
  const started = Date.now()
  while (!check()) {
    if (Date.now() - started > timeoutMs) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${description}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
