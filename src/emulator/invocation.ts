import { randomUUID } from 'node:crypto'

/** Outcome of an invocation. */
export type InvocationOutcome = 'response' | 'error' | 'timeout' | 'exit'

/** Per-invocation values that Lambda passes to the runtime in /next headers. */
export interface InvokeOptions {
  /** Request id, a random UUID when not given. */
  requestId?: string
  /** X-Ray trace header, sent as Lambda-Runtime-Trace-Id unless empty. */
  traceId?: string
  /** Client context (JSON text or a value to serialize), sent as Lambda-Runtime-Client-Context. */
  clientContext?: string | object
  /** Cognito identity (JSON text or the two ids), sent as Lambda-Runtime-Cognito-Identity. */
  cognitoIdentity?: string | CognitoIdentity
  /** Tenant id, sent as Lambda-Runtime-Aws-Tenant-Id. */
  tenantId?: string
  /** Function ARN for this invocation, the emulator's function ARN when not given. */
  invokedFunctionArn?: string
}

/** Cognito identity as Lambda serializes it in Lambda-Runtime-Cognito-Identity. */
export interface CognitoIdentity {
  cognitoIdentityId: string
  cognitoIdentityPoolId: string
}

/** Result of an invocation, as its caller gets it. */
export interface InvocationResult {
  requestId: string
  outcome: InvocationOutcome
  /** Response body, error body, or the emulator's timeout or exit message. */
  payload: Buffer
  /** Parses the payload as JSON and throws when it is not JSON. */
  json(): unknown
  /**
   * Error type: the Lambda-Runtime-Function-Error-Type the runtime sent (undefined when it sent
   * none), or the emulator's type for a timeout (`Sandbox.Timeout`), an exit
   * (`Runtime.ExitError`) or an oversized response (`Function.ResponseSizeTooLarge`).
   */
  errorType?: string
  /** Status the emulator returned for the runtime's report (202, 413, 400), or 0 when none came. */
  statusCodeSeenByRuntime: number
  /** Content-Type of the runtime's report, when it sent one. */
  contentType?: string
  /** Deadline sent to the runtime, in Unix milliseconds. */
  deadlineMs: number
  /** Lambda-Runtime-Function-XRay-Error-Cause of an error report, when sent. */
  xrayErrorCause?: string
  /** `streaming` when the runtime sent Lambda-Runtime-Function-Response-Mode: streaming. */
  responseMode?: 'streaming'
}

/** End of an invocation, before the emulator adds request id and deadline. */
export interface InvocationEnd {
  outcome: InvocationOutcome
  payload: Buffer
  errorType?: string
  statusCodeSeenByRuntime: number
  contentType?: string
  xrayErrorCause?: string
  responseMode?: 'streaming'
}

/** An event waiting for, or being handled by, the runtime. */
export class Invocation {
  readonly requestId: string
  readonly result: Promise<InvocationResult>

  /** Deadline in Unix milliseconds, set when the emulator starts processing the invocation. */
  deadlineMs = 0
  /** True once a /next response carried this invocation to the runtime. */
  delivered = false
  /** True once the runtime reported a response or an error (or the emulator rejected one). */
  reported = false
  /** True once the result is settled. */
  finished = false

  private cancelTimer: (() => void) | undefined
  private resolveResult!: (result: InvocationResult) => void
  private rejectResult!: (error: Error) => void

  constructor(
    readonly event: Buffer,
    readonly options: InvokeOptions
  ) {
    this.requestId = options.requestId ?? randomUUID()
    this.result = new Promise<InvocationResult>((resolve, reject) => {
      this.resolveResult = resolve
      this.rejectResult = reject
    })
  }

  /** Stores the function that cancels this invocation's timeout timer. */
  setTimer(cancel: () => void): void {
    this.cancelTimer = cancel
  }

  /** Settles the result. Later calls do nothing. */
  finish(end: InvocationEnd): void {
    if (this.finished) {
      return
    }

    this.finished = true
    this.cancelTimer?.()

    const payload = end.payload
    this.resolveResult({
      requestId: this.requestId,
      deadlineMs: this.deadlineMs,
      ...end,
      json: () => parseJson(payload, this.requestId)
    })
  }

  /** Rejects the result once, for an emulator that stops before the invocation ends. */
  abort(error: Error): void {
    if (this.finished) {
      return
    }

    this.finished = true
    this.cancelTimer?.()
    this.rejectResult(error)
  }
}

function parseJson(payload: Buffer, requestId: string): unknown {
  const text = payload.toString('utf8')

  try {
    return JSON.parse(text)
  } catch {
    throw new Error(`Payload of request ${requestId} is not JSON: ${JSON.stringify(text.slice(0, 200))}`)
  }
}

/** Serializes an event: bytes pass through unchanged, anything else becomes JSON (`undefined` becomes `null`). */
export function encodeEvent(event: unknown): Buffer {
  if (Buffer.isBuffer(event)) {
    return event
  }

  if (event instanceof Uint8Array) {
    return Buffer.from(event)
  }

  return Buffer.from(JSON.stringify(event === undefined ? null : event))
}
