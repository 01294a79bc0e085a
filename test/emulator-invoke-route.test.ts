import { Agent } from 'node:http'

import { afterEach, beforeEach, expect, test } from '@jest/globals'

import { INVOKE_PATH, MAX_EVENT_BYTES, RuntimeApiEmulator } from '../src/emulator/index.js'
import { ManualClock, RuntimeClient, httpCall, requestIdOf, type HttpResponse } from './emulator-support.js'

let clock: ManualClock
let emulator: RuntimeApiEmulator
let runtime: RuntimeClient
let caller: Agent

beforeEach(async () => {
  clock = new ManualClock()
  emulator = new RuntimeApiEmulator({ timeoutMs: 3000, functionName: 'route', clock })
  await emulator.start()
  runtime = new RuntimeClient(emulator)
  caller = new Agent({ keepAlive: true })
})

afterEach(async () => {
  runtime.close()
  caller.destroy()
  await emulator.stop()
})

function invokeOverHttp(body: Buffer | string, headers: Record<string, string> = {}): Promise<HttpResponse> {
  return httpCall(caller, `${emulator.url}${INVOKE_PATH}`, { method: 'POST', body, headers })
}

test('invoke route returns response', async () => {
  const answer = invokeOverHttp('{"question":42}')
  const next = await runtime.next()
  await runtime.respond(requestIdOf(next), '{"answer":42}', { 'Content-Type': 'application/json' })

  const invoked = await answer
  expect(next.json()).toEqual({ question: 42 })
  expect(invoked.status).toBe(200)
  expect(invoked.json()).toEqual({ answer: 42 })
  expect(invoked.headers['content-type']).toBe('application/json')
  expect(invoked.headers['x-amzn-requestid']).toBe(requestIdOf(next))
  expect(invoked.headers['x-amz-executed-version']).toBe('$LATEST')
  expect(invoked.headers['x-amz-function-error']).toBeUndefined()
})

test('invoke route returns function error', async () => {
  const answer = invokeOverHttp('{}')
  const requestId = requestIdOf(await runtime.next())
  const errorBody = '{"errorType":"Exception","errorMessage":"boom","stackTrace":[]}'
  await runtime.error(requestId, errorBody, { 'Lambda-Runtime-Function-Error-Type': 'Exception' })

  const invoked = await answer
  expect(invoked.status).toBe(200)
  expect(invoked.headers['x-amz-function-error']).toBe('Unhandled')
  expect(invoked.text).toBe(errorBody)
})

test('invoke route returns timeout', async () => {
  const answer = invokeOverHttp('{}')
  await runtime.next()
  clock.advance(3000)

  const invoked = await answer
  expect(invoked.status).toBe(200)
  expect(invoked.headers['x-amz-function-error']).toBe('Unhandled')
  expect(invoked.text).toBe('Task timed out after 3.00 seconds')
})

test('invoke route passes request headers', async () => {
  const clientContext = { client: { app_title: 'demo' }, custom: { k: 'v' } }
  const answer = invokeOverHttp('{}', {
    'X-Amzn-Trace-Id': 'Root=1-65f0e1a2-0123456789abcdef01234567',
    'X-Amz-Client-Context': Buffer.from(JSON.stringify(clientContext)).toString('base64'),
    'X-Amz-Tenant-Id': 'tenant-7'
  })
  const next = await runtime.next()
  await runtime.respond(requestIdOf(next), '{}')
  await answer

  expect(next.headers['lambda-runtime-trace-id']).toBe('Root=1-65f0e1a2-0123456789abcdef01234567')
  expect(JSON.parse(next.headers['lambda-runtime-client-context'] as string)).toEqual(clientContext)
  expect(next.headers['lambda-runtime-aws-tenant-id']).toBe('tenant-7')
})

test('invoke route rejects bad client context', async () => {
  const invoked = await invokeOverHttp('{}', { 'X-Amz-Client-Context': 'not base64!' })

  expect(invoked.status).toBe(500)
  expect((invoked.json() as { errorMessage: string }).errorMessage).toContain('X-Amz-Client-Context must be base64-encoded JSON')
})

test('invoke route rejects event over 6 MiB', async () => {
  const invoked = await invokeOverHttp(Buffer.alloc(MAX_EVENT_BYTES + 1, 0x20))

  expect(invoked.status).toBe(413)
  expect(invoked.headers['x-amzn-errortype']).toBe('RequestEntityTooLargeException')
  expect(invoked.json()).toEqual({ Type: 'User', message: 'Request must be smaller than 6291456 bytes for the InvokeFunction operation' })
  expect(emulator.requests).toHaveLength(0)
})

test('invoke route accepts event at 6 MiB', async () => {
  const answer = invokeOverHttp(Buffer.alloc(MAX_EVENT_BYTES, 0x20))
  const next = await runtime.next()
  await runtime.respond(requestIdOf(next), '"ok"')

  expect(next.body.length).toBe(MAX_EVENT_BYTES)
  expect((await answer).json()).toBe('ok')
})

test('invoke route returns oversized response error', async () => {
  const answer = invokeOverHttp('{}')
  const requestId = requestIdOf(await runtime.next())
  await runtime.respond(requestId, Buffer.alloc(6 * 1024 * 1024 + 101))

  const invoked = await answer
  expect(invoked.headers['x-amz-function-error']).toBe('Unhandled')
  expect(invoked.json()).toEqual({
    errorType: 'Function.ResponseSizeTooLarge',
    errorMessage: 'Response payload size (6291557 bytes) exceeded maximum allowed payload size (6291556 bytes).'
  })
})

test('concurrent invokes each get their result', async () => {
  const answers = [1, 2, 3].map((n) => invokeOverHttp(JSON.stringify({ n })))

  for (let i = 0; i < 3; i++) {
    const next = await runtime.next()
    const event = next.json() as { n: number }
    await runtime.respond(requestIdOf(next), JSON.stringify({ squared: event.n * event.n }))
  }

  const results = await Promise.all(answers)
  expect(results.map((answer) => answer.json())).toEqual([{ squared: 1 }, { squared: 4 }, { squared: 9 }])
  expect(new Set(results.map((answer) => answer.headers['x-amzn-requestid'])).size).toBe(3)
})
