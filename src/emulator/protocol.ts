// Paths, limits and fixed bodies of the Lambda Runtime API (version 2018-06-01) and of the
// invoke route of AWS's Runtime Interface Emulator. Sources, all in
// github.com/aws/aws-lambda-runtime-interface-emulator (read at commit 4fa2157):
// internal/lambda/rapi/router.go, rapi/rendering/render_error.go, rapi/rendering/rendering.go,
// rapi/handler/*.go, interop/model.go, core/states.go, rie/handlers.go, rie/http.go.

/** Path prefix of the runtime API. */
export const RUNTIME_API_PREFIX = '/2018-06-01'

/** Invoke route of AWS's emulator (internal/lambda/rie/http.go). */
export const INVOKE_PATH = '/2015-03-31/functions/function/invocations'

/**
 * Maximum size of a response or error body: 6 MiB + 100 bytes (interop.MaxPayloadSize).
 * A body of exactly this size is accepted, one byte more gets 413.
 */
export const MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100

/**
 * Maximum size of an event sent to the invoke route: 6 MiB, the number in Lambda's
 * RequestEntityTooLargeException message for synchronous invokes.
 * NOTE: taken from that message as users quote it. Whether AWS accepts exactly 6 MiB is unverified.
 */
export const MAX_EVENT_BYTES = 6 * 1024 * 1024

/** Function timeout when none is given: AWS's emulator reads AWS_LAMBDA_FUNCTION_TIMEOUT, default 300 s. */
export const DEFAULT_TIMEOUT_MS = 300_000

/** Header names of the runtime API, as AWS documents them. */
export const HEADER = {
  requestId: 'Lambda-Runtime-Aws-Request-Id',
  deadlineMs: 'Lambda-Runtime-Deadline-Ms',
  invokedFunctionArn: 'Lambda-Runtime-Invoked-Function-Arn',
  traceId: 'Lambda-Runtime-Trace-Id',
  clientContext: 'Lambda-Runtime-Client-Context',
  cognitoIdentity: 'Lambda-Runtime-Cognito-Identity',
  tenantId: 'Lambda-Runtime-Aws-Tenant-Id',
  functionErrorType: 'Lambda-Runtime-Function-Error-Type',
  functionErrorBody: 'Lambda-Runtime-Function-Error-Body',
  xrayErrorCause: 'Lambda-Runtime-Function-XRay-Error-Cause',
  responseMode: 'Lambda-Runtime-Function-Response-Mode'
} as const

/**
 * Runtime states as AWS's emulator names them in its 403 messages (core/runtime_state_names.go).
 * `Started` is before the first /next, `Ready` waits in /next, `Running` has received an event,
 * and `RuntimeResponseSentState` has reported it.
 */
export type RuntimeStateName = 'Started' | 'InitError' | 'Ready' | 'Running' | 'RuntimeResponseSentState'

/** Target states named in those messages for each runtime request. */
export const TARGET_STATE = {
  next: 'Ready',
  response: 'InvocationResponse',
  error: 'InvocationErrorResponse',
  initError: 'InitError'
} as const

/**
 * Serializes an error body the way AWS's emulator renders it: `errorMessage` before
 * `errorType`, followed by a newline, because Go's json.Encoder ends each value with one.
 */
export function errorResponseBody(errorType: string, errorMessage: string): Buffer {
  return Buffer.from(`${JSON.stringify({ errorMessage, errorType })}\n`)
}

/** Body of every 202 response (rendering.RenderAccepted). */
export const ACCEPTED_BODY = Buffer.from('{"status":"OK"}\n')

/** 413 body for a response over MAX_RESPONSE_BYTES (rendering.RenderRequestEntityTooLarge). */
export const PAYLOAD_TOO_LARGE_BODY = errorResponseBody(
  'RequestEntityTooLarge',
  `Exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`
)

/** 400 body for a request id that is not the current invocation (rendering.RenderInvalidRequestID). */
export const INVALID_REQUEST_ID_BODY = errorResponseBody('InvalidRequestID', 'Invalid request ID')

/** 400 body for a Lambda-Runtime-Function-Response-Mode other than `streaming`. */
export const INVALID_RESPONSE_MODE_BODY = errorResponseBody(
  'InvalidFunctionResponseMode',
  'Invalid function response mode'
)

/** 500 body (rendering.RenderInternalServerError). */
export const INTERNAL_SERVER_ERROR_BODY = errorResponseBody('InternalServerError', 'Internal Server Error')

/**
 * 403 body for a request the runtime's state does not allow, such as a second report for one
 * request id or /init/error after /next (core/states.go disallows the transition).
 */
export function stateTransitionBody(from: RuntimeStateName, to: string): Buffer {
  return errorResponseBody(
    'InvalidStateTransition',
    `State transition from ${from} to ${to} failed for runtime. Error: State transition is not allowed`
  )
}

/**
 * Body the invoke side returns when the runtime process exits during an invocation, as
 * AWS's emulator builds it (interop.GetErrorResponseWithFormattedErrorMessage with
 * fatalerror.RuntimeExit and the message from rapid/handlers.go watchEvents).
 */
export function runtimeExitBody(requestId: string, exitDescription: string): Buffer {
  const errorMessage = `RequestId: ${requestId} Error: Runtime exited with error: ${exitDescription}`
  return Buffer.from(JSON.stringify({ errorType: 'Runtime.ExitError', errorMessage }))
}

/** Body the invoke side returns when the runtime process could not be started (fatalerror.InvalidEntrypoint). */
export function invalidEntrypointBody(requestId: string, reason: string): Buffer {
  const errorMessage = `RequestId: ${requestId} Error: ${reason}`
  return Buffer.from(JSON.stringify({ errorType: 'Runtime.InvalidEntrypoint', errorMessage }))
}

/**
 * Body the invoke side returns when a response was over MAX_RESPONSE_BYTES
 * (interop.ErrorResponseTooLarge.AsErrorResponse, type Function.ResponseSizeTooLarge).
 */
export function responseTooLargeBody(responseBytes: number): Buffer {
  const errorMessage = `Response payload size (${responseBytes} bytes) exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`
  return Buffer.from(JSON.stringify({ errorType: 'Function.ResponseSizeTooLarge', errorMessage }))
}

/**
 * Body the invoke side returns on a timeout. AWS's emulator writes this plain text with the
 * timeout in whole seconds (rie/handlers.go), so `3000` ms reads "3.00 seconds".
 */
export function timeoutBody(timeoutMs: number): Buffer {
  return Buffer.from(`Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`)
}

/** Message of Lambda's RequestEntityTooLargeException for an event over MAX_EVENT_BYTES. */
export const EVENT_TOO_LARGE_MESSAGE = `Request must be smaller than ${MAX_EVENT_BYTES} bytes for the InvokeFunction operation`
