import type { IncomingMessage, ServerResponse } from 'node:http'

import { errorMessage } from '../errors.js'
import { headerValue, readBody, sendBody } from './http-body.js'
import type { InvocationResult, InvokeOptions } from './invocation.js'
import { EVENT_TOO_LARGE_MESSAGE, MAX_EVENT_BYTES } from './protocol.js'

/** Emulator callbacks and settings the invoke route uses. */
export interface InvokeRouteContext {
  /** Runs one invocation. */
  invoke(event: Buffer, options: InvokeOptions): Promise<InvocationResult>
  /** Function version, returned in X-Amz-Executed-Version. */
  functionVersion: string
  log(message: string): void
}

/**
 * Handles POST /2015-03-31/functions/function/invocations like AWS's emulator
 * (internal/lambda/rie/handlers.go, InvokeHandler): the event is the request body, the trace
 * id comes from X-Amzn-Trace-Id, the tenant id from X-Amz-Tenant-Id, and the client context
 * from X-Amz-Client-Context (base64). The response is 200 with the function's payload for
 * every outcome, and for errors, timeouts and exits it also carries
 * `X-Amz-Function-Error: Unhandled`, as Lambda's Invoke API marks function errors.
 */
export async function handleInvokeRequest(context: InvokeRouteContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const log = context.log
  const read = await readBody(request, MAX_EVENT_BYTES)

  if (read.overLimit) {
    log(`invoke rejected: event has ${read.totalBytes} bytes, over the limit of ${MAX_EVENT_BYTES}`)
    // NOTE: the body follows the RequestTooLargeException shape of Lambda's API model (Type,
    // message). The bytes Lambda sends here are unverified.
    const body = Buffer.from(JSON.stringify({ Type: 'User', message: EVENT_TOO_LARGE_MESSAGE }))
    sendBody(response, 413, body, { 'X-Amzn-ErrorType': 'RequestEntityTooLargeException' })
    return
  }

  const clientContext = decodeClientContext(headerValue(request, 'X-Amz-Client-Context'))
  if (clientContext instanceof Error) {
    // AWS's emulator returns 500 when this header is not base64.
    log(`invoke rejected: ${clientContext.message}`)
    sendBody(response, 500, Buffer.from(JSON.stringify({ errorMessage: clientContext.message, errorType: 'InvalidClientContext' })))
    return
  }

  const options: InvokeOptions = {
    traceId: headerValue(request, 'X-Amzn-Trace-Id'),
    tenantId: headerValue(request, 'X-Amz-Tenant-Id'),
    clientContext
  }

  let result: InvocationResult
  try {
    result = await context.invoke(read.body, options)
  } catch (error) {
    log(`invoke failed: ${errorMessage(error)}`)
    sendBody(response, 500, Buffer.from(JSON.stringify({ errorMessage: errorMessage(error), errorType: 'EmulatorError' })))
    return
  }

  sendBody(response, 200, result.payload, invokeResponseHeaders(result, context.functionVersion))
}

function invokeResponseHeaders(result: InvocationResult, functionVersion: string): Record<string, string> {
  const headers: Record<string, string> = {
    'Content-Type': result.contentType ?? (result.outcome === 'timeout' ? 'text/plain; charset=utf-8' : 'application/json'),
    'X-Amzn-RequestId': result.requestId,
    'X-Amz-Executed-Version': functionVersion
  }

  if (result.outcome !== 'response') {
    headers['X-Amz-Function-Error'] = 'Unhandled'
  }

  return headers
}

// Strict base64 like Go's base64.StdEncoding, which AWS's emulator uses, because Node's decoder skips bad characters.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

function decodeClientContext(header: string | undefined): string | undefined | Error {
  if (header === undefined || header === '') {
    return undefined
  }

  if (!BASE64.test(header)) {
    return new Error(`X-Amz-Client-Context must be base64-encoded JSON, got ${JSON.stringify(header.slice(0, 100))}`)
  }

  return Buffer.from(header, 'base64').toString('utf8')
}
