import type { Clock } from './clock.js'
import { Invocation, type InvocationEnd } from './invocation.js'
import { invalidEntrypointBody, runtimeExitBody, timeoutBody, type RuntimeStateName } from './protocol.js'
import { describeExit, type RuntimeExit, type RuntimeHost } from './runtime-host.js'
import { errorMessage } from '../errors.js'

/** A /next request waiting for an event. It returns false when its connection is gone. */
export type NextWaiter = (invocation: Invocation) => boolean

/** The error a runtime posted to /runtime/init/error. */
export interface InitErrorReport {
  /** Lambda-Runtime-Function-Error-Type header, when sent. */
  errorType?: string
  /** Raw body. */
  body: Buffer
  /** Content-Type header, when sent. */
  contentType?: string
}

/** Result of checking a runtime's report before its body is read. */
export type ReportCheck =
  | { accepted: true, invocation: Invocation }
  | { accepted: false, status: 400 }
  | { accepted: false, status: 403, from: RuntimeStateName }

export interface RuntimeStateSettings {
  timeoutMs: number
  clock: Clock
  log: (message: string) => void
}

/**
 * The emulator's view of one runtime, following the state machine of AWS's emulator
 * (internal/lambda/core/states.go, rapidcore/server.go):
 * - Invocations run one at a time, in the order they were queued.
 * - The invocation last sent by /next stays current until the runtime calls /next again, so a
 *   second report for it gets 403 and a report for any other id gets 400.
 * - /next while the current invocation has no report sends that invocation again.
 * - After /runtime/init/error, /next gets 403 and invocations fail with the posted error until
 *   a new runtime process starts. With a host attached, the emulator stops the process, so
 *   the next invocation starts a new one.
 */
export class RuntimeState {
  private readonly queue: Invocation[] = []
  private readonly waiters: NextWaiter[] = []
  private active: Invocation | undefined
  private current: Invocation | undefined
  private initError: InitErrorReport | undefined
  private calledNext = false
  private host: RuntimeHost | undefined
  private preparing: Invocation | undefined
  private stopped = false

  constructor(private readonly settings: RuntimeStateSettings) {}

  /** Attaches the process the emulator starts for invocations and stops after timeouts. */
  attachHost(host: RuntimeHost): void {
    this.host = host
  }

  /** Returns the name AWS's emulator gives the runtime's current state in 403 messages. */
  stateName(): RuntimeStateName {
    if (this.initError !== undefined) {
      return 'InitError'
    }

    if (this.current !== undefined) {
      return this.current.reported ? 'RuntimeResponseSentState' : 'Running'
    }

    return this.calledNext ? 'Ready' : 'Started'
  }

  /** Queues an invocation. Its result settles when the runtime reports or the invocation fails. */
  enqueue(invocation: Invocation): void {
    this.queue.push(invocation)
    this.startNext()
  }

  /**
   * Handles GET /next: sends the current invocation again when it has no report yet, and
   * otherwise waits for the next one. Returns false when the state forbids /next (403).
   */
  next(waiter: NextWaiter): boolean {
    if (this.initError !== undefined) {
      return false
    }

    this.calledNext = true

    if (this.current !== undefined && !this.current.reported && !this.current.finished) {
      waiter(this.current)
      return true
    }

    this.current = undefined
    this.waiters.push(waiter)
    this.deliver()
    return true
  }

  /** Removes a /next request whose connection closed before an event came. */
  dropWaiter(waiter: NextWaiter): void {
    const index = this.waiters.indexOf(waiter)
    if (index >= 0) {
      this.waiters.splice(index, 1)
    }
  }

  /**
   * Checks a report (/response or /error) for `requestId` and, when it is allowed, marks the
   * invocation reported before its body is read, as AWS's emulator changes state first.
   */
  checkReport(requestId: string): ReportCheck {
    const invocation = this.current

    if (invocation === undefined || invocation.requestId !== requestId) {
      return { accepted: false, status: 400 }
    }

    if (invocation.reported) {
      return { accepted: false, status: 403, from: 'RuntimeResponseSentState' }
    }

    invocation.reported = true
    return { accepted: true, invocation }
  }

  /** Ends an invocation with what the runtime reported. */
  complete(invocation: Invocation, end: InvocationEnd): void {
    this.finish(invocation, end)
  }

  /**
   * Handles POST /runtime/init/error. Allowed only before the first /next, as in AWS's
   * emulator. Otherwise returns the state name for the 403 message.
   */
  postInitError(report: InitErrorReport): RuntimeStateName | undefined {
    const state = this.stateName()
    if (state !== 'Started') {
      return state
    }

    this.initError = report
    this.settings.log(`runtime posted an init error (${report.errorType ?? 'no error type'})`)

    if (this.active !== undefined && !this.active.delivered) {
      this.finish(this.active, initErrorEnd(report, 202))
    }

    return undefined
  }

  /** Resets the runtime's state for a freshly started process. */
  runtimeStarted(): void {
    this.initError = undefined
    this.calledNext = false
    this.current = undefined
    this.waiters.length = 0
  }

  /**
   * Handles the end of the runtime process. The invocation in progress fails with
   * Runtime.ExitError when the runtime held its event or died during init (before its first
   * /next). A runtime that exits between invocations, for example to recycle itself, does not
   * fail the next one: with a host attached, a fresh process starts for it.
   */
  runtimeExited(exit: RuntimeExit): void {
    const description = describeExit(exit)
    const stateAtExit = this.stateName()
    this.settings.log(`runtime process ended: ${description}`)

    this.current = undefined
    this.waiters.length = 0

    const invocation = this.active
    if (invocation === undefined || invocation.finished || invocation === this.preparing) {
      return
    }

    if (invocation.delivered || stateAtExit === 'Started') {
      this.finish(invocation, {
        outcome: 'exit',
        payload: runtimeExitBody(invocation.requestId, description),
        errorType: 'Runtime.ExitError',
        statusCodeSeenByRuntime: 0
      })
      return
    }

    if (this.host !== undefined) {
      void this.prepareRuntime(invocation)
    }
  }

  /** Rejects every queued and running invocation. Later calls do nothing. */
  stop(): void {
    this.stopped = true

    const pending = [...(this.active === undefined ? [] : [this.active]), ...this.queue]
    this.queue.length = 0
    this.waiters.length = 0

    for (const invocation of pending) {
      invocation.abort(new Error(`Runtime API emulator stopped before request ${invocation.requestId} ended`))
    }
  }

  private startNext(): void {
    if (this.active !== undefined || this.stopped) {
      return
    }

    const invocation = this.queue.shift()
    if (invocation === undefined) {
      return
    }

    this.active = invocation
    invocation.deadlineMs = this.settings.clock.now() + this.settings.timeoutMs
    invocation.setTimer(this.settings.clock.setTimer(() => this.timeOut(invocation), this.settings.timeoutMs))

    void this.prepareRuntime(invocation)
  }

  private async prepareRuntime(invocation: Invocation): Promise<void> {
    if (this.host !== undefined) {
      this.preparing = invocation
      try {
        await this.host.ensureRunning()
      } catch (error) {
        this.preparing = undefined
        this.finish(invocation, {
          outcome: 'exit',
          payload: invalidEntrypointBody(invocation.requestId, errorMessage(error)),
          errorType: 'Runtime.InvalidEntrypoint',
          statusCodeSeenByRuntime: 0
        })
        return
      }
      this.preparing = undefined
    }

    if (invocation.finished) {
      return
    }

    // AWS's emulator caches the init error and fails later invocations with it too.
    if (this.initError !== undefined) {
      this.finish(invocation, initErrorEnd(this.initError, 0))
      return
    }

    this.deliver()
  }

  private deliver(): void {
    const invocation = this.active
    if (invocation === undefined || invocation.delivered || invocation.finished || this.initError !== undefined) {
      return
    }

    while (this.waiters.length > 0) {
      const waiter = this.waiters.shift()!
      if (waiter(invocation)) {
        invocation.delivered = true
        this.current = invocation
        return
      }
    }
  }

  private timeOut(invocation: Invocation): void {
    this.settings.log(`request ${invocation.requestId} timed out after ${this.settings.timeoutMs} ms`)

    if (this.current === invocation) {
      this.current = undefined
    }

    this.finish(invocation, {
      outcome: 'timeout',
      payload: timeoutBody(this.settings.timeoutMs),
      errorType: 'Sandbox.Timeout',
      statusCodeSeenByRuntime: 0
    })
  }

  private finish(invocation: Invocation, end: InvocationEnd): void {
    if (invocation.finished) {
      return
    }

    invocation.finish(end)

    if (invocation !== this.active) {
      return
    }

    void this.release(invocation, end)
  }

  // The next invocation starts only after a timed-out or failed runtime is gone, so it gets a
  // fresh process and init, as in Lambda, which discards such a sandbox.
  private async release(invocation: Invocation, end: InvocationEnd): Promise<void> {
    if (this.host !== undefined) {
      try {
        if (end.outcome === 'timeout') {
          await this.host.stopAfterTimeout(invocation.requestId)
        } else if (this.initError !== undefined) {
          await this.host.stopAfterInitError()
        }
      } catch (error) {
        this.settings.log(`stopping the runtime after request ${invocation.requestId} failed: ${errorMessage(error)}`)
      }
    }

    if (this.active === invocation) {
      this.active = undefined
    }

    this.startNext()
  }
}

// `statusCode` is 202 for the invocation the runtime was starting for, 0 for later ones.
function initErrorEnd(report: InitErrorReport, statusCode: number): InvocationEnd {
  return {
    outcome: 'error',
    payload: report.body,
    errorType: report.errorType,
    statusCodeSeenByRuntime: statusCode,
    contentType: report.contentType
  }
}
