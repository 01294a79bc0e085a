import { execFile, spawn } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

import * as core from '@actions/core'

import { errorMessage } from './errors.js'
import {
  SMOKE_HANDLER,
  SMOKE_HANDLER_FILE,
  SmokeTestError,
  defaultSmokeHandler,
  extensionsToCheck,
  runSmokeSequence,
  startupMessages,
  type SmokeInvocation,
  type SmokeInvoker
} from './smoke-checks.js'
import { logResult, type SmokeTestResult, type SmokeTimings } from './smoke-test.js'

/** AWS's base image for custom runtimes on Amazon Linux 2023, with the Runtime Interface Emulator. */
export const PROVIDED_AL2023_IMAGE = 'public.ecr.aws/lambda/provided:al2023'

/**
 * Path of the Runtime Interface Emulator in AWS's Lambda base images, where their
 * lambda-entrypoint.sh starts it.
 */
export const RIE_PATH = '/usr/local/bin/aws-lambda-rie'

/** Invoke route of the Runtime Interface Emulator, on port 8080 in the container. */
const INVOKE_PATH = '/2015-03-31/functions/function/invocations'

const DEFAULT_TIMEOUT_MS = 10_000
const DEFAULT_START_TIMEOUT_MS = 60_000

export interface DockerSmokeCommandOptions {
  layerDir: string
  taskRoot: string
  /** Port on 127.0.0.1 that the emulator's port 8080 is published on. */
  port: number
  containerName: string
  image?: string
  architecture?: 'x86_64' | 'arm64'
  /** Function timeout in seconds, AWS_LAMBDA_FUNCTION_TIMEOUT of the emulator. */
  timeoutSeconds?: number
}

/**
 * Builds the `docker run` arguments that start the layer in the provided.al2023 image: the
 * layer read-only at /opt, the smoke handler at /var/task, the emulator published on
 * 127.0.0.1 only. The entrypoint is the emulator with /opt/bootstrap, as Lambda runs a layer's
 * bootstrap when the function has none; the image's own entrypoint starts /var/runtime/bootstrap.
 */
export function dockerSmokeArguments(options: DockerSmokeCommandOptions): string[] {
  // NOTE: built from AWS's emulator source (cmd/aws-lambda-rie: the first argument is the
  // bootstrap, _HANDLER comes from the environment) and never run here: no Docker engine runs
  // on the machines this was written on.
  return [
    'run',
    '--rm',
    '--name', options.containerName,
    '--platform', options.architecture === 'arm64' ? 'linux/arm64' : 'linux/amd64',
    '--entrypoint', RIE_PATH,
    '-e', `_HANDLER=${SMOKE_HANDLER}`,
    '-e', `AWS_LAMBDA_FUNCTION_TIMEOUT=${options.timeoutSeconds ?? DEFAULT_TIMEOUT_MS / 1000}`,
    '-v', `${options.layerDir}:/opt:ro`,
    '-v', `${options.taskRoot}:/var/task:ro`,
    '-p', `127.0.0.1:${options.port}:8080`,
    options.image ?? PROVIDED_AL2023_IMAGE,
    '/opt/bootstrap'
  ]
}

/** A started container, or a stand-in for one in tests. */
export interface SmokeContainer {
  /** Everything the container wrote so far. */
  output(): string
  /** Resolves with the exit code when the container's process ends. */
  exited: Promise<number | null>
  /** Stops and removes the container. */
  stop(): Promise<void>
}

/** Starts `command args` (docker run ...) and returns the container. */
export type ContainerStarter = (command: string, args: string[]) => Promise<SmokeContainer>

export interface DockerSmokeTestOptions {
  layerDir: string
  /** PHP version the layer must report: exact (8.2.32) or a minor version (8.2). */
  phpVersion: string
  extensions: readonly string[]
  architecture?: 'x86_64' | 'arm64'
  image?: string
  handlerFile?: string
  /** Function timeout of each invocation in milliseconds, default 10,000. */
  timeoutMs?: number
  /** Milliseconds to wait until the emulator in the container accepts the first invocation, default 60,000. */
  startTimeoutMs?: number
  /** docker CLI, default `docker` on PATH. */
  docker?: string
  /** Starts the container, default with the docker CLI. */
  startContainer?: ContainerStarter
  fetch?: typeof fetch
  sleep?: (ms: number) => Promise<void>
}

/**
 * Smoke-tests a layer built with Docker: runs its bootstrap in the provided.al2023 image under
 * AWS's Runtime Interface Emulator, and invokes the smoke handler through the emulator's invoke
 * route on 127.0.0.1 with the same checks as the native smoke test. Logs one group
 * "Smoke test" and throws a SmokeTestError naming the failed checks.
 */
export async function smokeTestDocker(options: DockerSmokeTestOptions): Promise<SmokeTestResult> {
  return core.group('Smoke test', () => runDockerSmokeTest(options))
}

async function runDockerSmokeTest(options: DockerSmokeTestOptions): Promise<SmokeTestResult> {
  const started = Date.now()
  const layerDir = resolve(options.layerDir)
  const extensions = extensionsToCheck(options.extensions)
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  core.info(`Layer: ${layerDir}`)
  core.info(`Expected: PHP ${options.phpVersion} with ${extensions.join(', ')}`)

  const workDir = await mkdtemp(join(tmpdir(), 'smoke-test-docker-'))
  const timingsMs: SmokeTimings = { total: 0 }
  let container: SmokeContainer | undefined

  try {
    const taskRoot = join(workDir, 'task')
    await mkdir(taskRoot)
    await copyFile(options.handlerFile ?? defaultSmokeHandler(), join(taskRoot, SMOKE_HANDLER_FILE))

    const port = await freePort()
    const docker = options.docker ?? 'docker'
    const args = dockerSmokeArguments({
      layerDir,
      taskRoot,
      port,
      containerName: `php-layer-smoke-${process.pid}-${port}`,
      image: options.image,
      architecture: options.architecture,
      timeoutSeconds: Math.ceil(timeoutMs / 1000)
    })
    core.info(`Container: ${docker} ${args.join(' ')}`)

    container = await (options.startContainer ?? startDockerContainer)(docker, args)
    const invoke = invokerFor(`http://127.0.0.1:${port}${INVOKE_PATH}`, container, {
      fetch: options.fetch ?? fetch,
      sleep: options.sleep ?? ((ms) => new Promise((done) => setTimeout(done, ms))),
      timeoutMs,
      startTimeoutMs: options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS
    })

    const sequence = await runSmokeSequence(invoke, { phpVersion: options.phpVersion, extensions })
    Object.assign(timingsMs, sequence.durationsMs)
    timingsMs.total = Date.now() - started

    const runtimeOutput = container.output()
    const result: SmokeTestResult = {
      phpVersion: sequence.report?.phpVersion,
      checks: sequence.checks,
      timingsMs,
      environment: 'docker',
      runtimeOutput,
      startupMessages: startupMessages(runtimeOutput)
    }
    logResult(result, sequence.report)

    if (sequence.checks.some((check) => !check.ok)) {
      throw new SmokeTestError(layerDir, sequence.checks)
    }
    return result
  } finally {
    await container?.stop()
    await rm(workDir, { recursive: true, force: true })
  }
}

interface InvokerSettings {
  fetch: typeof fetch
  sleep: (ms: number) => Promise<void>
  timeoutMs: number
  startTimeoutMs: number
}

/**
 * Returns an invoker that posts events to the emulator's invoke route. Until the first
 * invocation gets through, failed connections are retried every 250 ms: the emulator starts
 * listening a moment after the container starts.
 */
function invokerFor(url: string, container: SmokeContainer, settings: InvokerSettings): SmokeInvoker {
  let connected = false
  let containerExit: number | null | undefined
  void container.exited.then((code) => {
    containerExit = code
  })

  return async (event) => {
    const started = Date.now()
    const deadline = started + settings.startTimeoutMs

    for (;;) {
      try {
        const response = await settings.fetch(url, {
          method: 'POST',
          body: JSON.stringify(event),
          signal: AbortSignal.timeout(settings.timeoutMs + 5000)
        })
        connected = true
        return await readInvocation(response, Date.now() - started)
      } catch (error) {
        if (connected || containerExit !== undefined || Date.now() >= deadline) {
          const reason = containerExit !== undefined ? `the container exited with status ${containerExit}` : errorMessage(error)
          return { outcome: 'exit', body: `POST ${url} failed: ${reason}`, durationMs: Date.now() - started }
        }
        await settings.sleep(250)
      }
    }
  }
}

/**
 * Reads an invoke route response. The emulator returns 200 for handler errors too, so an
 * X-Amz-Function-Error header or an error body ({"errorType", "errorMessage"}) marks them.
 */
async function readInvocation(response: Response, durationMs: number): Promise<SmokeInvocation> {
  const body = await response.text()
  if (response.status !== 200) {
    return { outcome: 'exit', body: `HTTP ${response.status}: ${body}`, durationMs }
  }

  let errorType: string | undefined
  try {
    const parsed = JSON.parse(body) as { errorType?: unknown; errorMessage?: unknown }
    if (typeof parsed?.errorType === 'string' && typeof parsed.errorMessage === 'string') {
      errorType = parsed.errorType
    }
  } catch {
    // A response that is not JSON is the handler's result as it is.
  }

  if (response.headers.has('x-amz-function-error') || errorType !== undefined) {
    return { outcome: 'error', body, errorType, durationMs }
  }

  return { outcome: 'response', body, durationMs }
}

/** Starts `docker run` and collects its output. stop() removes the container with docker rm -f. */
async function startDockerContainer(docker: string, args: string[]): Promise<SmokeContainer> {
  const nameIndex = args.indexOf('--name')
  const name = args[nameIndex + 1] as string
  const child = spawn(docker, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const chunks: Buffer[] = []
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk))
  child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk))

  const exited = new Promise<number | null>((resolveExit) => {
    child.once('error', (error) => {
      chunks.push(Buffer.from(`Cannot start ${docker}: ${error.message}\n`))
      resolveExit(null)
    })
    child.once('close', (code) => resolveExit(code))
  })

  return {
    output: () => Buffer.concat(chunks).toString('utf8'),
    exited,
    stop: async () => {
      await new Promise<void>((done) => execFile(docker, ['rm', '--force', name], () => done()))
      await exited
    }
  }
}

/** Returns a TCP port that is free on 127.0.0.1 at the moment of the call. */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((done, fail) => {
    server.once('error', fail)
    server.listen(0, '127.0.0.1', done)
  })
  const address = server.address()
  await new Promise<void>((done) => server.close(() => done()))

  if (address === null || typeof address === 'string') {
    throw new Error('Cannot find a free port on 127.0.0.1')
  }
  return address.port
}
