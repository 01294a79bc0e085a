import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

import { errorMessage } from '../errors.js'
import { systemClock, type Clock } from './clock.js'
import { handleInvokeRequest } from './invoke-route.js'
import { Invocation, encodeEvent, type InvocationResult, type InvokeOptions } from './invocation.js'
import { DEFAULT_TIMEOUT_MS, EVENT_TOO_LARGE_MESSAGE, INVOKE_PATH, MAX_EVENT_BYTES } from './protocol.js'
import { handleRuntimeRequest, isRuntimeApiPath, type RequestRecord, type RuntimeRoute } from './runtime-api.js'
import type { RuntimeExit, RuntimeHost } from './runtime-host.js'
import { RuntimeState, type InitErrorReport } from './runtime-state.js'

/** Settings of the emulated function. Defaults follow AWS's emulator (rie/handlers.go). */
export interface EmulatorOptions {
  /** Function timeout in milliseconds, default 300,000 like AWS_LAMBDA_FUNCTION_TIMEOUT in AWS's emulator. */
  timeoutMs?: number
  /** Function name, default `test_function`. */
  functionName?: string
  /** Function version, default `$LATEST`. */
  functionVersion?: string
  /** Memory size in MB, passed to the runtime as AWS_LAMBDA_FUNCTION_MEMORY_SIZE, default 3008. */
  memorySizeMb?: number
  /** Region in the function ARN and AWS_REGION, default `us-east-1`. */
  region?: string
  /** Account id in the function ARN, default `012345678912`. */
  accountId?: string
  /** Address to listen on, default `127.0.0.1`. */
  host?: string
  /** Port to listen on, default 0 (any free port). */
  port?: number
  /** Time source for deadlines and timeouts. */
  clock?: Clock
  /** Receives one line per start, stop, invocation and rejected request. Without it, nothing is logged. */
  log?: (message: string) => void
}

/** The function settings an emulator runs with, after defaults. */
export interface FunctionConfig {
  functionName: string
  functionVersion: string
  memorySizeMb: number
  region: string
  accountId: string
  timeoutMs: number
}

/** Thrown by `invoke()` for an event over 6 MiB, as Lambda rejects it with RequestEntityTooLargeException. */
export class RequestTooLargeError extends Error {
  constructor(readonly eventBytes: number) {
    super(`${EVENT_TOO_LARGE_MESSAGE} (event has ${eventBytes} bytes)`)
    this.name = 'RequestTooLargeError'
  }
}

/**
 * Emulates the Lambda Runtime API for one runtime on 127.0.0.1, plus the invoke route of
 * AWS's Runtime Interface Emulator (`POST /2015-03-31/functions/function/invocations`) on the
 * same port.
 */
export class RuntimeApiEmulator {
  /** The runtime API requests with the status each got, oldest first: the last 100,000 to 110,000. */
  readonly requests: RequestRecord[] = []
  /** Settings of the emulated function. */
  readonly config: FunctionConfig

  private readonly state: RuntimeState
  private readonly server: Server
  private readonly host: string
  private readonly requestedPort: number
  private readonly log: (message: string) => void
  private readonly injectedStatuses = new Map<RuntimeRoute, number[]>()
  private lastInitError: InitErrorReport | undefined
  private listeningPort: number | undefined
  private readonly connectionNumbers = new WeakMap<Socket, number>()
  private connectionCount = 0

  constructor(options: EmulatorOptions = {}) {
    this.config = {
      functionName: options.functionName ?? 'test_function',
      functionVersion: options.functionVersion ?? '$LATEST',
      memorySizeMb: options.memorySizeMb ?? 3008,
      region: options.region ?? 'us-east-1',
      accountId: options.accountId ?? '012345678912',
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    }
    validateConfig(this.config)

    this.host = options.host ?? '127.0.0.1'
    this.requestedPort = options.port ?? 0
    this.log = options.log ?? (() => {})
    this.state = new RuntimeState({
      timeoutMs: this.config.timeoutMs,
      clock: options.clock ?? systemClock,
      log: this.log
    })

    this.server = createServer((request, response) => {
      this.route(request, response).catch((error: unknown) => {
        this.log(`${request.method} ${request.url} failed: ${errorMessage(error)}`)
        if (!response.headersSent) {
          response.writeHead(500).end()
        }
      })
    })

    this.server.on('connection', (socket) => {
      this.connectionCount += 1
      this.connectionNumbers.set(socket, this.connectionCount)
    })

    // A runtime keeps one connection for /next and its reports and may idle between events,
    // and /next is a long poll, so no server timeout may close either.
    this.server.keepAliveTimeout = 0
    this.server.requestTimeout = 0
  }

  /** Starts listening. */
  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(this.requestedPort, this.host, () => {
        this.server.off('error', reject)
        resolve()
      })
    })

    this.listeningPort = (this.server.address() as AddressInfo).port
    this.log(`Runtime API emulator listening on ${this.url} (function ${this.config.functionName}, timeout ${this.config.timeoutMs} ms)`)
  }

  /** Rejects unfinished invocations, closes every connection and stops listening. */
  async stop(): Promise<void> {
    this.state.stop()

    if (this.server.listening) {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
      this.server.closeAllConnections()
      await closed
      this.log('Runtime API emulator stopped')
    }
  }

  /** Port the emulator listens on. */
  get port(): number {
    if (this.listeningPort === undefined) {
      throw new Error('The Runtime API emulator is not listening: call start() first')
    }

    return this.listeningPort
  }

  /** `host:port`, the value for AWS_LAMBDA_RUNTIME_API. */
  get runtimeApi(): string {
    return `${this.host}:${this.port}`
  }

  /** Base URL, such as `http://127.0.0.1:41234`. */
  get url(): string {
    return `http://${this.runtimeApi}`
  }

  /** URL of the invoke route. */
  get invokeUrl(): string {
    return `${this.url}${INVOKE_PATH}`
  }

  /** Function ARN sent in Lambda-Runtime-Invoked-Function-Arn, in the form AWS's emulator uses. */
  get functionArn(): string {
    return `arn:aws:lambda:${this.config.region}:${this.config.accountId}:function:${this.config.functionName}`
  }

  /** Parsed JSON body of the last accepted /runtime/init/error (its text when not JSON), if any. */
  get initError(): unknown {
    if (this.lastInitError === undefined) {
      return undefined
    }

    const text = this.lastInitError.body.toString('utf8')
    try {
      return JSON.parse(text)
    } catch {
      return text
    }
  }

  /** The last accepted /runtime/init/error with its error type header and raw body, if any. */
  get initErrorReport(): InitErrorReport | undefined {
    return this.lastInitError
  }

  /**
   * Invokes the function with `event` and resolves when the invocation ends. Bytes are sent
   * unchanged, any other value as JSON. Invocations queue and run one at a time, and each gets the
   * function timeout from the moment it starts.
   */
  async invoke(event: unknown, options: InvokeOptions = {}): Promise<InvocationResult> {
    if (this.listeningPort === undefined) {
      throw new Error('The Runtime API emulator is not listening: call start() first')
    }

    const payload = encodeEvent(event)
    if (payload.length > MAX_EVENT_BYTES) {
      throw new RequestTooLargeError(payload.length)
    }

    validateHeaderOptions(options)

    const invocation = new Invocation(payload, options)
    this.log(`START RequestId: ${invocation.requestId} Version: ${this.config.functionVersion}`)
    this.state.enqueue(invocation)

    const result = await invocation.result
    this.log(`END RequestId: ${result.requestId} Outcome: ${result.outcome}${result.errorType === undefined ? '' : ` ErrorType: ${result.errorType}`}`)
    return result
  }

  /**
   * Makes the next `count` requests to `route` get `status` with AWS's body for that status,
   * without any other effect, so tests can check how a runtime handles 400, 403, 413 or 500.
   */
  injectStatus(route: RuntimeRoute, status: number, count = 1): void {
    const queue = this.injectedStatuses.get(route) ?? []
    for (let i = 0; i < count; i++) {
      queue.push(status)
    }

    this.injectedStatuses.set(route, queue)
  }

  /** Lets the emulator start `host` for invocations and stop it after timeouts (see RuntimeProcess). A later call replaces the host. */
  attachRuntime(host: RuntimeHost): void {
    this.state.attachHost(host)
  }

  /** Resets the runtime state for a new runtime process: clears a posted init error and the current request id. */
  runtimeStarted(): void {
    this.state.runtimeStarted()
  }

  /** Fails the invocation in progress with Runtime.ExitError because the runtime process ended. */
  runtimeExited(exit: RuntimeExit): void {
    this.state.runtimeExited(exit)
  }

  private async route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0] ?? '/'

    if (path === INVOKE_PATH) {
      return handleInvokeRequest({
        invoke: (event, options) => this.invoke(event, options),
        functionVersion: this.config.functionVersion,
        log: this.log
      }, request, response)
    }

    if (isRuntimeApiPath(path)) {
      return handleRuntimeRequest({
        state: this.state,
        requests: this.requests,
        functionArn: this.functionArn,
        takeInjectedStatus: (route) => this.injectedStatuses.get(route)?.shift(),
        connectionNumber: (request) => this.connectionNumbers.get(request.socket) ?? 0,
        recordInitError: (report) => {
          this.lastInitError = report
        },
        log: this.log
      }, request, response)
    }

    request.resume()
    response.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('404 page not found\n')
  }
}

function validateConfig(config: FunctionConfig): void {
  if (!Number.isInteger(config.timeoutMs) || config.timeoutMs <= 0) {
    throw new Error(`Invalid timeoutMs ${config.timeoutMs}: use a whole number of milliseconds above 0`)
  }

  if (!Number.isInteger(config.memorySizeMb) || config.memorySizeMb <= 0) {
    throw new Error(`Invalid memorySizeMb ${config.memorySizeMb}: use a whole number of MB above 0`)
  }
}

// Header values end up in /next headers, where a line break would split the header.
function validateHeaderOptions(options: InvokeOptions): void {
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined) {
      continue
    }

    const text = typeof value === 'string' ? value : JSON.stringify(value)
    if (/[\r\n\0]/.test(text)) {
      throw new Error(`Invalid invoke option ${name}: ${JSON.stringify(text)} contains a line break or NUL, which no HTTP header can carry`)
    }
  }
}
