import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'

import { headerValue, readBody, sendBody } from './http-body.js'
import type { Invocation, InvocationEnd } from './invocation.js'
import {
  ACCEPTED_BODY,
  HEADER,
  INTERNAL_SERVER_ERROR_BODY,
  INVALID_REQUEST_ID_BODY,
  INVALID_RESPONSE_MODE_BODY,
  MAX_RESPONSE_BYTES,
  PAYLOAD_TOO_LARGE_BODY,
  RUNTIME_API_PREFIX,
  TARGET_STATE,
  errorResponseBody,
  responseTooLargeBody,
  stateTransitionBody
} from './protocol.js'
import type { InitErrorReport, NextWaiter, RuntimeState } from './runtime-state.js'

/** Requests kept in the log, so that a long-running emulator does not grow without bound. */
export const MAX_REQUEST_RECORDS = 100_000
const REQUEST_RECORDS_TRIM = 10_000

/** Log entry of a runtime API request and the emulator's response. */
export interface RequestRecord {
  method: string
  /** Path with query string, as sent. */
  path: string
  headers: IncomingHttpHeaders
  /** Status of the emulator's response. */
  status: number
  /** Request id of the event sent by /next, or the one in a report's path. */
  requestId?: string
  /** Size of the request body in bytes, for POST requests. */
  bodyBytes?: number
  /** Number of the TCP connection the request came on, counting from 1. Equal numbers mean a reused connection. */
  connection: number
}

/** The runtime API routes a test can inject a status into. */
export type RuntimeRoute = 'next' | 'response' | 'error' | 'init-error'

/** Emulator state and callbacks the runtime API handler uses. */
export interface RuntimeApiContext {
  state: RuntimeState
  requests: RequestRecord[]
  /** Function ARN sent when an invocation names none. */
  functionArn: string
  /** Returns and uses up a status injected for `route`, if any. */
  takeInjectedStatus(route: RuntimeRoute): number | undefined
  /** Returns the number of the connection `request` came on. */
  connectionNumber(request: IncomingMessage): number
  /** Stores an init error the runtime posted and the emulator accepted. */
  recordInitError(report: InitErrorReport): void
  log(message: string): void
}

const NEXT_PATH = `${RUNTIME_API_PREFIX}/runtime/invocation/next`
const INIT_ERROR_PATH = `${RUNTIME_API_PREFIX}/runtime/init/error`
const REPORT_PATH = new RegExp(`^${RUNTIME_API_PREFIX}/runtime/invocation/([^/]+)/(response|error)$`)

/** Returns true when `path` belongs to the runtime API. */
export function isRuntimeApiPath(path: string): boolean {
  return path.startsWith(`${RUNTIME_API_PREFIX}/`)
}

/** Handles one runtime API request and sends the response. */
export async function handleRuntimeRequest(context: RuntimeApiContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = (request.url ?? '/').split('?')[0] ?? '/'
  const method = request.method ?? 'GET'

  if (path === NEXT_PATH) {
    if (method !== 'GET') {
      return answerMethodNotAllowed(context, request, response)
    }

    return handleNext(context, request, response)
  }

  if (path === INIT_ERROR_PATH) {
    if (method !== 'POST') {
      return answerMethodNotAllowed(context, request, response)
    }

    return handleInitError(context, request, response)
  }

  const report = REPORT_PATH.exec(path)
  if (report !== null) {
    if (method !== 'POST') {
      return answerMethodNotAllowed(context, request, response)
    }

    const requestId = decodePathSegment(report[1] ?? '')
    const kind = report[2] === 'response' ? 'response' : 'error'
    return handleReport(context, request, response, requestId, kind)
  }

  // The router of AWS's emulator (go-chi) returns this text for unknown paths.
  await readBody(request, 0)
  answer(context, request, response, 404, Buffer.from('404 page not found\n'), { 'Content-Type': 'text/plain; charset=utf-8' })
}

function handleNext(context: RuntimeApiContext, request: IncomingMessage, response: ServerResponse): void {
  const injected = context.takeInjectedStatus('next')
  if (injected !== undefined) {
    answer(context, request, response, injected, injectedBody(injected))
    return
  }

  const waiter: NextWaiter = (invocation) => {
    if (response.destroyed || response.writableEnded || request.socket.destroyed) {
      return false
    }

    answer(context, request, response, 200, invocation.event, nextHeaders(invocation, context.functionArn), invocation.requestId)
    return true
  }

  if (!context.state.next(waiter)) {
    answer(context, request, response, 403, stateTransitionBody('InitError', TARGET_STATE.next))
    return
  }

  // A runtime that gives up a long poll must not be handed the next event.
  response.on('close', () => context.state.dropWaiter(waiter))
}

/**
 * Builds the /next headers. Optional ones are left out when empty, as AWS's emulator does
 * (rendering.renderInvokeHeaders sets each header only when its value is not empty).
 */
function nextHeaders(invocation: Invocation, functionArn: string): Record<string, string> {
  const options = invocation.options
  const headers: Record<string, string> = {
    [HEADER.requestId]: invocation.requestId,
    [HEADER.deadlineMs]: String(invocation.deadlineMs),
    [HEADER.invokedFunctionArn]: options.invokedFunctionArn ?? functionArn,
    'Content-Type': 'application/json'
  }

  const optional: Array<[string, string | undefined]> = [
    [HEADER.traceId, options.traceId],
    [HEADER.clientContext, serializeHeaderJson(options.clientContext)],
    [HEADER.cognitoIdentity, serializeHeaderJson(options.cognitoIdentity)],
    [HEADER.tenantId, options.tenantId]
  ]

  for (const [name, value] of optional) {
    if (value !== undefined && value !== '') {
      headers[name] = headerBytes(value)
    }
  }

  return headers
}

function serializeHeaderJson(value: string | object | undefined): string | undefined {
  if (value === undefined || typeof value === 'string') {
    return value
  }

  return JSON.stringify(value)
}

// Node writes header strings as Latin-1, so this keeps UTF-8 text byte for byte, as Go does.
function headerBytes(value: string): string {
  return Buffer.from(value, 'utf8').toString('latin1')
}

async function handleReport(
  context: RuntimeApiContext,
  request: IncomingMessage,
  response: ServerResponse,
  requestId: string,
  kind: 'response' | 'error'
): Promise<void> {
  const injected = context.takeInjectedStatus(kind)
  if (injected !== undefined) {
    const drained = await readBody(request, 0)
    answer(context, request, response, injected, injectedBody(injected), {}, requestId, drained.totalBytes)
    return
  }

  const check = context.state.checkReport(requestId)
  if (!check.accepted) {
    const drained = await readBody(request, 0)
    const body = check.status === 400
      ? INVALID_REQUEST_ID_BODY
      : stateTransitionBody(check.from, kind === 'response' ? TARGET_STATE.response : TARGET_STATE.error)
    context.log(`${kind} for request ${requestId} rejected with ${check.status} (runtime state ${context.state.stateName()})`)
    answer(context, request, response, check.status, body, {}, requestId, drained.totalBytes)
    return
  }

  const invocation = check.invocation
  const responseMode = headerValue(request, HEADER.responseMode)

  // AWS's emulator fails the invocation with Runtime.InvalidResponseModeHeader and returns 400
  // (rapi/handler/invocationresponse.go).
  if (kind === 'response' && responseMode !== undefined && responseMode !== 'streaming') {
    const drained = await readBody(request, 0)
    context.state.complete(invocation, {
      outcome: 'error',
      payload: Buffer.alloc(0),
      errorType: 'Runtime.InvalidResponseModeHeader',
      statusCodeSeenByRuntime: 400
    })
    answer(context, request, response, 400, INVALID_RESPONSE_MODE_BODY, {}, requestId, drained.totalBytes)
    return
  }

  // NOTE: AWS's emulator reads error bodies without a limit, but this applies the response limit to them too.
  const read = await readBody(request, MAX_RESPONSE_BYTES)
  if (read.overLimit) {
    context.log(`${kind} for request ${requestId} has ${read.totalBytes} bytes, over the limit of ${MAX_RESPONSE_BYTES}`)
    context.state.complete(invocation, {
      outcome: 'error',
      payload: responseTooLargeBody(read.totalBytes),
      errorType: 'Function.ResponseSizeTooLarge',
      statusCodeSeenByRuntime: 413,
      contentType: 'application/json'
    })
    answer(context, request, response, 413, PAYLOAD_TOO_LARGE_BODY, {}, requestId, read.totalBytes)
    return
  }

  const end = kind === 'response'
    ? responseEnd(request, read.body, read.trailers, responseMode)
    : errorEnd(request, read.body)
  context.state.complete(invocation, end)
  answer(context, request, response, 202, ACCEPTED_BODY, {}, requestId, read.totalBytes)
}

/**
 * Reads a response. A streamed response that failed after it started carries the error in the
 * trailers Lambda-Runtime-Function-Error-Type and Lambda-Runtime-Function-Error-Body (base64).
 * NOTE: AWS's emulator buffers streamed responses under the same 6 MB limit, as this does, but Lambda allows more.
 */
function responseEnd(request: IncomingMessage, body: Buffer, trailers: NodeJS.Dict<string>, responseMode: string | undefined): InvocationEnd {
  const contentType = headerValue(request, 'Content-Type')
  const streaming = responseMode === 'streaming' ? { responseMode: 'streaming' as const } : {}
  const trailerErrorType = trailers[HEADER.functionErrorType.toLowerCase()]

  if (trailerErrorType !== undefined && trailerErrorType !== '') {
    const errorBody = trailers[HEADER.functionErrorBody.toLowerCase()]
    return {
      outcome: 'error',
      payload: errorBody === undefined ? body : Buffer.from(errorBody, 'base64'),
      errorType: trailerErrorType,
      statusCodeSeenByRuntime: 202,
      contentType,
      ...streaming
    }
  }

  return { outcome: 'response', payload: body, statusCodeSeenByRuntime: 202, contentType, ...streaming }
}

// NOTE: AWS's emulator also rewrites bodies of type application/vnd.aws.lambda.error.cause+json;
// this passes every error body through unchanged.
function errorEnd(request: IncomingMessage, body: Buffer): InvocationEnd {
  return {
    outcome: 'error',
    payload: body,
    errorType: headerValue(request, HEADER.functionErrorType),
    statusCodeSeenByRuntime: 202,
    contentType: headerValue(request, 'Content-Type'),
    xrayErrorCause: headerValue(request, HEADER.xrayErrorCause)
  }
}

async function handleInitError(context: RuntimeApiContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const injected = context.takeInjectedStatus('init-error')
  const read = await readBody(request, MAX_RESPONSE_BYTES)

  if (injected !== undefined) {
    answer(context, request, response, injected, injectedBody(injected), {}, undefined, read.totalBytes)
    return
  }

  const report: InitErrorReport = {
    errorType: headerValue(request, HEADER.functionErrorType),
    body: read.body,
    contentType: headerValue(request, 'Content-Type')
  }

  const rejectedFrom = context.state.postInitError(report)
  if (rejectedFrom !== undefined) {
    context.log(`init error rejected with 403 (runtime state ${rejectedFrom})`)
    answer(context, request, response, 403, stateTransitionBody(rejectedFrom, TARGET_STATE.initError), {}, undefined, read.totalBytes)
    return
  }

  context.recordInitError(report)
  answer(context, request, response, 202, ACCEPTED_BODY, {}, undefined, read.totalBytes)
}

async function answerMethodNotAllowed(context: RuntimeApiContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const drained = await readBody(request, 0)
  answer(context, request, response, 405, Buffer.alloc(0), {}, undefined, drained.totalBytes)
}

/** Body for a status a test injected, in the form AWS's emulator uses for that status. */
function injectedBody(status: number): Buffer {
  switch (status) {
    case 400:
      return INVALID_REQUEST_ID_BODY
    case 403:
      return errorResponseBody('InvalidStateTransition', 'State transition is not allowed')
    case 413:
      return PAYLOAD_TOO_LARGE_BODY
    case 500:
      return INTERNAL_SERVER_ERROR_BODY
    default:
      return errorResponseBody('InjectedStatus', `Status ${status} injected by the test`)
  }
}

function answer(
  context: RuntimeApiContext,
  request: IncomingMessage,
  response: ServerResponse,
  status: number,
  body: Buffer,
  headers: Record<string, string> = {},
  requestId?: string,
  bodyBytes?: number
): void {
  context.requests.push({
    method: request.method ?? 'GET',
    path: request.url ?? '/',
    headers: request.headers,
    status,
    ...(requestId === undefined ? {} : { requestId }),
    ...(bodyBytes === undefined ? {} : { bodyBytes }),
    connection: context.connectionNumber(request)
  })
  // Trimmed in batches, because removing one entry at a time would copy the whole log per request.
  if (context.requests.length >= MAX_REQUEST_RECORDS + REQUEST_RECORDS_TRIM) {
    context.requests.splice(0, REQUEST_RECORDS_TRIM)
  }

  sendBody(response, status, body, headers)
}

function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}
