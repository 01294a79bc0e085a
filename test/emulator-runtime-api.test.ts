import { Agent } from 'node:http'

import { afterEach, beforeEach, describe, expect, test } from '@jest/globals'

import {
  MAX_EVENT_BYTES,
  MAX_RESPONSE_BYTES,
  RequestTooLargeError,
  RuntimeApiEmulator,
  type InvocationResult
} from '../src/emulator/index.js'
import { ManualClock, RuntimeClient, httpCall, requestIdOf } from './emulator-support.js'

// Bodies as AWS's Runtime Interface Emulator renders them (Go's json.Encoder adds the newline).
const ACCEPTED = '{"status":"OK"}\n'
const TOO_LARGE = '{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}\n'
const INVALID_REQUEST_ID = '{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}\n'

function transitionBody(from: string, to: string): string {
  return `{"errorMessage":"State transition from ${from} to ${to} failed for runtime. Error: State transition is not allowed","errorType":"InvalidStateTransition"}\n`
}

let clock: ManualClock
let emulator: RuntimeApiEmulator
let runtime: RuntimeClient

beforeEach(async () => {
  clock = new ManualClock()
  emulator = new RuntimeApiEmulator({ timeoutMs: 3000, functionName: 'test', clock })
  await emulator.start()
  runtime = new RuntimeClient(emulator)
})

afterEach(async () => {
  runtime.close()
  await emulator.stop()
})

describe('GET /next', () => {
  test('next sends event and all headers', async () => {
    const result = emulator.invoke({ hello: 'world' }, {
      requestId: 'req-1',
      traceId: 'Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1',
      clientContext: { custom: { a: 'b' } },
      cognitoIdentity: { cognitoIdentityId: 'id-1', cognitoIdentityPoolId: 'pool-1' },
      tenantId: 'tenant-1'
    })

    const next = await runtime.next()

    expect(next.status).toBe(200)
    expect(next.json()).toEqual({ hello: 'world' })
    expect(next.headers['content-type']).toBe('application/json')
    expect(next.headers['lambda-runtime-aws-request-id']).toBe('req-1')
    expect(next.headers['lambda-runtime-deadline-ms']).toBe(String(clock.now() + 3000))
    expect(next.headers['lambda-runtime-invoked-function-arn']).toBe('arn:aws:lambda:us-east-1:012345678912:function:test')
    expect(next.headers['lambda-runtime-trace-id']).toBe('Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1')
    expect(next.headers['lambda-runtime-client-context']).toBe('{"custom":{"a":"b"}}')
    expect(next.headers['lambda-runtime-cognito-identity']).toBe('{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}')
    expect(next.headers['lambda-runtime-aws-tenant-id']).toBe('tenant-1')

    await runtime.respond('req-1', 'null')
    expect((await result).outcome).toBe('response')
  })

  test('next leaves out optional headers', async () => {
    const result = emulator.invoke({})
    const next = await runtime.next()

    expect(next.headers['lambda-runtime-aws-request-id']).toMatch(/^[0-9a-f-]{36}$/)
    expect(next.headers['lambda-runtime-deadline-ms']).toMatch(/^\d+$/)
    expect(next.headers['lambda-runtime-invoked-function-arn']).toBe(emulator.functionArn)
    for (const name of ['trace-id', 'client-context', 'cognito-identity', 'aws-tenant-id']) {
      expect(next.headers[`lambda-runtime-${name}`]).toBeUndefined()
    }

    await runtime.respond(requestIdOf(next), '{}')
    await result
  })

  test('next keeps UTF-8 header text', async () => {
    const result = emulator.invoke({}, { clientContext: '{"custom":{"name":"Zoë ✓"}}' })
    const next = await runtime.next()

    const raw = next.headers['lambda-runtime-client-context'] as string
    expect(Buffer.from(raw, 'latin1').toString('utf8')).toBe('{"custom":{"name":"Zoë ✓"}}')

    await runtime.respond(requestIdOf(next), '{}')
    await result
  })

  test('next waits for an invocation', async () => {
    let answered = false
    const next = runtime.next().then((answer) => {
      answered = true
      return answer
    })

    // A round trip on another connection makes sure the server has seen the /next request.
    const probe = new Agent()
    expect((await httpCall(probe, `${emulator.url}/unknown`)).status).toBe(404)
    probe.destroy()
    expect(answered).toBe(false)

    const result = emulator.invoke({ late: true })
    const answer = await next
    expect(answer.json()).toEqual({ late: true })

    await runtime.respond(requestIdOf(answer), '{}')
    await result
  })

  test('next resends event without report', async () => {
    const result = emulator.invoke({ n: 1 })
    const first = await runtime.next()
    const second = await runtime.next()

    expect(requestIdOf(second)).toBe(requestIdOf(first))
    expect(second.json()).toEqual({ n: 1 })

    await runtime.respond(requestIdOf(first), '{}')
    await result
  })

  test('next after init error gets 403', async () => {
    await runtime.initError('{"errorType":"Runtime.X","errorMessage":"m"}', { 'Lambda-Runtime-Function-Error-Type': 'Runtime.X' })
    const next = await runtime.next()

    expect(next.status).toBe(403)
    expect(next.text).toBe(transitionBody('InitError', 'Ready'))
  })

  test('next reuses one keep-alive connection', async () => {
    for (let i = 0; i < 3; i++) {
      const result = emulator.invoke({ i })
      const next = await runtime.next()
      await runtime.respond(requestIdOf(next), '{}')
      await result
    }

    const connections = new Set(emulator.requests.map((record) => record.connection))
    expect(emulator.requests).toHaveLength(6)
    expect(connections.size).toBe(1)
  })
})

describe('POST /response', () => {
  test('response gets 202 and ends invocation', async () => {
    const result = emulator.invoke({ a: 1 })
    const next = await runtime.next()

    const answer = await runtime.respond(requestIdOf(next), '{"ok":true}', { 'Content-Type': 'application/json' })

    expect(answer.status).toBe(202)
    expect(answer.text).toBe(ACCEPTED)
    expect(answer.headers['content-type']).toBe('application/json')
    const invocation = await result
    expect(invocation.outcome).toBe('response')
    expect(invocation.json()).toEqual({ ok: true })
    expect(invocation.statusCodeSeenByRuntime).toBe(202)
    expect(invocation.contentType).toBe('application/json')
    expect(invocation.errorType).toBeUndefined()
  })

  test('second response gets 403', async () => {
    const result = emulator.invoke({})
    const requestId = requestIdOf(await runtime.next())
    await runtime.respond(requestId, '1')

    const second = await runtime.respond(requestId, '2')

    expect(second.status).toBe(403)
    expect(second.text).toBe(transitionBody('RuntimeResponseSentState', 'InvocationResponse'))
    expect((await result).payload.toString()).toBe('1')
  })

  test('error after response gets 403', async () => {
    const result = emulator.invoke({})
    const requestId = requestIdOf(await runtime.next())
    await runtime.respond(requestId, '1')

    const error = await runtime.error(requestId, '{}')

    expect(error.status).toBe(403)
    expect(error.text).toBe(transitionBody('RuntimeResponseSentState', 'InvocationErrorResponse'))
    expect((await result).outcome).toBe('response')
  })

  test('unknown request id gets 400', async () => {
    const result = emulator.invoke({})
    const requestId = requestIdOf(await runtime.next())

    const answer = await runtime.respond('not-a-request', '{}')

    expect(answer.status).toBe(400)
    expect(answer.text).toBe(INVALID_REQUEST_ID)

    await runtime.respond(requestId, '{}')
    await result
  })

  test('response without invocation gets 400', async () => {
    const answer = await runtime.respond('no-invocation-yet', '{}')

    expect(answer.status).toBe(400)
    expect(answer.text).toBe(INVALID_REQUEST_ID)
  })

  test('old request id after next gets 400', async () => {
    const first = emulator.invoke({ n: 1 })
    const firstId = requestIdOf(await runtime.next())
    await runtime.respond(firstId, '{}')
    await first

    const second = emulator.invoke({ n: 2 })
    const secondId = requestIdOf(await runtime.next())
    const late = await runtime.respond(firstId, '{}')

    expect(late.status).toBe(400)
    expect(late.text).toBe(INVALID_REQUEST_ID)

    await runtime.respond(secondId, '{}')
    await second
  })

  test('response at size limit gets 202', async () => {
    const result = emulator.invoke({})
    const requestId = requestIdOf(await runtime.next())
    const body = Buffer.alloc(MAX_RESPONSE_BYTES, 0x61)

    const answer = await runtime.respond(requestId, body)

    expect(answer.status).toBe(202)
    const invocation = await result
    expect(invocation.outcome).toBe('response')
    expect(invocation.payload.length).toBe(MAX_RESPONSE_BYTES)
  })

  test('response over size limit gets 413', async () => {
    const result = emulator.invoke({})
    const requestId = requestIdOf(await runtime.next())

    const answer = await runtime.respond(requestId, Buffer.alloc(MAX_RESPONSE_BYTES + 1, 0x61))

    expect(answer.status).toBe(413)
    expect(answer.text).toBe(TOO_LARGE)
    const invocation = await result
    expect(invocation.outcome).toBe('error')
    expect(invocation.errorType).toBe('Function.ResponseSizeTooLarge')
    expect(invocation.statusCodeSeenByRuntime).toBe(413)
    expect(invocation.json()).toEqual({
      errorType: 'Function.ResponseSizeTooLarge',
      errorMessage: `Response payload size (${MAX_RESPONSE_BYTES + 1} bytes) exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`
    })
  })

  test('error after 413 gets 403', async () => {
    const result = emulator.invoke({})
    const requestId = requestIdOf(await runtime.next())
    await runtime.respond(requestId, Buffer.alloc(MAX_RESPONSE_BYTES + 1))

    const error = await runtime.error(requestId, '{"errorType":"X","errorMessage":"too big"}')

    expect(error.status).toBe(403)
    expect(error.text).toBe(transitionBody('RuntimeResponseSentState', 'InvocationErrorResponse'))
    expect((await result).errorType).toBe('Function.ResponseSizeTooLarge')
  })

  test('connection works after 413', async () => {
    const first = emulator.invoke({})
    await runtime.respond(requestIdOf(await runtime.next()), Buffer.alloc(MAX_RESPONSE_BYTES + 1000))
    await first

    const second = emulator.invoke({ n: 2 })
    const next = await runtime.next()
    await runtime.respond(requestIdOf(next), '"fine"')

    expect((await second).json()).toBe('fine')
    expect(new Set(emulator.requests.map((record) => record.connection)).size).toBe(1)
  })

  test('invalid response mode gets 400', async () => {
    const result = emulator.invoke({})
    const requestId = requestIdOf(await runtime.next())

    const answer = await runtime.respond(requestId, '{}', { 'Lambda-Runtime-Function-Response-Mode': 'buffered-ish' })

    expect(answer.status).toBe(400)
    expect(answer.json()).toEqual({ errorMessage: 'Invalid function response mode', errorType: 'InvalidFunctionResponseMode' })
    const invocation = await result
    expect(invocation.outcome).toBe('error')
    expect(invocation.errorType).toBe('Runtime.InvalidResponseModeHeader')
  })

  test('streamed response gets 202', async () => {
    const result = emulator.invoke({})
    const requestId = requestIdOf(await runtime.next())

    const answer = await httpCall(runtime.agent, runtime.url(`/runtime/invocation/${requestId}/response`), {
      method: 'POST',
      headers: { 'Lambda-Runtime-Function-Response-Mode': 'streaming', 'Content-Type': 'text/plain' },
      body: 'streamed text',
      trailers: {}
    })

    expect(answer.status).toBe(202)
    const invocation = await result
    expect(invocation.outcome).toBe('response')
    expect(invocation.responseMode).toBe('streaming')
    expect(invocation.payload.toString()).toBe('streamed text')
  })

  test('streamed error trailers end invocation', async () => {
    const result = emulator.invoke({})
    const requestId = requestIdOf(await runtime.next())
    const errorBody = JSON.stringify({ errorType: 'Error', errorMessage: 'broke mid-stream' })

    const answer = await httpCall(runtime.agent, runtime.url(`/runtime/invocation/${requestId}/response`), {
      method: 'POST',
      headers: { 'Lambda-Runtime-Function-Response-Mode': 'streaming' },
      body: 'partial',
      trailers: {
        'Lambda-Runtime-Function-Error-Type': 'Error',
        'Lambda-Runtime-Function-Error-Body': Buffer.from(errorBody).toString('base64')
      }
    })

    expect(answer.status).toBe(202)
    const invocation = await result
    expect(invocation.outcome).toBe('error')
    expect(invocation.errorType).toBe('Error')
    expect(invocation.json()).toEqual({ errorType: 'Error', errorMessage: 'broke mid-stream' })
  })
})

describe('POST /error', () => {
  test('error report ends invocation', async () => {
    const result = emulator.invoke({})
    const requestId = requestIdOf(await runtime.next())
    const body = JSON.stringify({ errorType: 'TypeError', errorMessage: 'bad', stackTrace: ['at x'] })

    const answer = await runtime.error(requestId, body, {
      'Content-Type': 'application/vnd.aws.lambda.error+json',
      'Lambda-Runtime-Function-Error-Type': 'TypeError',
      'Lambda-Runtime-Function-XRay-Error-Cause': '{"exceptions":[]}'
    })

    expect(answer.status).toBe(202)
    expect(answer.text).toBe(ACCEPTED)
    const invocation = await result
    expect(invocation.outcome).toBe('error')
    expect(invocation.errorType).toBe('TypeError')
    expect(invocation.json()).toEqual({ errorType: 'TypeError', errorMessage: 'bad', stackTrace: ['at x'] })
    expect(invocation.contentType).toBe('application/vnd.aws.lambda.error+json')
    expect(invocation.xrayErrorCause).toBe('{"exceptions":[]}')
    expect(invocation.statusCodeSeenByRuntime).toBe(202)
  })

  test('error without type header', async () => {
    const result = emulator.invoke({})
    const requestId = requestIdOf(await runtime.next())

    await runtime.error(requestId, '{"errorMessage":"no type"}')

    const invocation = await result
    expect(invocation.outcome).toBe('error')
    expect(invocation.errorType).toBeUndefined()
  })

  test('second error gets 403', async () => {
    const result = emulator.invoke({})
    const requestId = requestIdOf(await runtime.next())
    await runtime.error(requestId, '{}', { 'Lambda-Runtime-Function-Error-Type': 'A' })

    const second = await runtime.error(requestId, '{}', { 'Lambda-Runtime-Function-Error-Type': 'B' })

    expect(second.status).toBe(403)
    expect(second.text).toBe(transitionBody('RuntimeResponseSentState', 'InvocationErrorResponse'))
    expect((await result).errorType).toBe('A')
  })

  test('error for unknown id gets 400', async () => {
    const answer = await runtime.error('unknown', '{}')

    expect(answer.status).toBe(400)
    expect(answer.text).toBe(INVALID_REQUEST_ID)
  })

  test('error over size limit gets 413', async () => {
    const result = emulator.invoke({})
    const requestId = requestIdOf(await runtime.next())

    const answer = await runtime.error(requestId, Buffer.alloc(MAX_RESPONSE_BYTES + 1))

    expect(answer.status).toBe(413)
    expect(answer.text).toBe(TOO_LARGE)
    expect((await result).errorType).toBe('Function.ResponseSizeTooLarge')
  })
})

describe('POST /init/error', () => {
  const initErrorBody = JSON.stringify({ errorType: 'Runtime.HandlerNotFound', errorMessage: 'hello.php not found', stackTrace: [] })
  const initErrorHeaders = { 'Lambda-Runtime-Function-Error-Type': 'Runtime.HandlerNotFound', 'Content-Type': 'application/json' }

  test('init error gets 202 and is stored', async () => {
    const answer = await runtime.initError(initErrorBody, initErrorHeaders)

    expect(answer.status).toBe(202)
    expect(answer.text).toBe(ACCEPTED)
    expect(emulator.initError).toEqual({ errorType: 'Runtime.HandlerNotFound', errorMessage: 'hello.php not found', stackTrace: [] })
    expect(emulator.initErrorReport?.errorType).toBe('Runtime.HandlerNotFound')
  })

  test('init error fails waiting invocation', async () => {
    const result = emulator.invoke({})

    await runtime.initError(initErrorBody, initErrorHeaders)

    const invocation = await result
    expect(invocation.outcome).toBe('error')
    expect(invocation.errorType).toBe('Runtime.HandlerNotFound')
    expect(invocation.json()).toEqual(JSON.parse(initErrorBody))
    expect(invocation.statusCodeSeenByRuntime).toBe(202)
  })

  test('init error fails later invocations', async () => {
    await runtime.initError(initErrorBody, initErrorHeaders)

    const invocation = await emulator.invoke({})

    expect(invocation.outcome).toBe('error')
    expect(invocation.errorType).toBe('Runtime.HandlerNotFound')
    expect(invocation.statusCodeSeenByRuntime).toBe(0)
  })

  test('init error cleared by new runtime', async () => {
    await runtime.initError(initErrorBody, initErrorHeaders)
    emulator.runtimeStarted()

    const result = emulator.invoke({ after: 'restart' })
    const next = await runtime.next()
    await runtime.respond(requestIdOf(next), '{}')

    expect(next.status).toBe(200)
    expect((await result).outcome).toBe('response')
  })

  test('second init error gets 403', async () => {
    await runtime.initError(initErrorBody, initErrorHeaders)

    const second = await runtime.initError(initErrorBody, initErrorHeaders)

    expect(second.status).toBe(403)
    expect(second.text).toBe(transitionBody('InitError', 'InitError'))
  })

  test('init error after next gets 403', async () => {
    const result = emulator.invoke({})
    const requestId = requestIdOf(await runtime.next())

    const answer = await runtime.initError(initErrorBody, initErrorHeaders)

    expect(answer.status).toBe(403)
    expect(answer.text).toBe(transitionBody('Running', 'InitError'))
    expect(emulator.initError).toBeUndefined()

    await runtime.respond(requestId, '{}')
    await result
  })
})

describe('injected statuses', () => {
  test('injected 500 on next', async () => {
    emulator.injectStatus('next', 500)
    const result = emulator.invoke({ kept: true })

    const failed = await runtime.next()
    const next = await runtime.next()

    expect(failed.status).toBe(500)
    expect(failed.json()).toEqual({ errorMessage: 'Internal Server Error', errorType: 'InternalServerError' })
    expect(next.json()).toEqual({ kept: true })
    await runtime.respond(requestIdOf(next), '{}')
    await result
  })

  test('injected 500 on response', async () => {
    emulator.injectStatus('response', 500)
    const result = emulator.invoke({})
    const requestId = requestIdOf(await runtime.next())

    const failed = await runtime.respond(requestId, '"first"')
    const retried = await runtime.respond(requestId, '"second"')

    expect(failed.status).toBe(500)
    expect(retried.status).toBe(202)
    expect((await result).json()).toBe('second')
  })
})

describe('deadlines and timeouts', () => {
  test('deadline counts from invocation start', async () => {
    const first = emulator.invoke({ n: 1 })
    const second = emulator.invoke({ n: 2 })
    const firstNext = await runtime.next()
    const firstStart = clock.now()

    clock.advance(1000)
    await runtime.respond(requestIdOf(firstNext), '{}')
    await first
    const secondNext = await runtime.next()

    expect(firstNext.headers['lambda-runtime-deadline-ms']).toBe(String(firstStart + 3000))
    expect(secondNext.headers['lambda-runtime-deadline-ms']).toBe(String(firstStart + 1000 + 3000))
    expect((await first).deadlineMs).toBe(firstStart + 3000)

    await runtime.respond(requestIdOf(secondNext), '{}')
    await second
  })

  test('timeout ends invocation', async () => {
    const result = emulator.invoke({})
    await runtime.next()

    clock.advance(3000)

    const invocation = await result
    expect(invocation.outcome).toBe('timeout')
    expect(invocation.errorType).toBe('Sandbox.Timeout')
    expect(invocation.payload.toString()).toBe('Task timed out after 3.00 seconds')
    expect(invocation.statusCodeSeenByRuntime).toBe(0)
  })

  test('report after timeout gets 400', async () => {
    const result = emulator.invoke({})
    const requestId = requestIdOf(await runtime.next())
    clock.advance(3000)
    await result

    const late = await runtime.respond(requestId, '{}')

    expect(late.status).toBe(400)
    expect(late.text).toBe(INVALID_REQUEST_ID)
  })

  test('timeout without runtime', async () => {
    const result = emulator.invoke({})

    clock.advance(2999)
    clock.advance(1)

    expect((await result).outcome).toBe('timeout')
  })

  test('timeout with system clock', async () => {
    const realEmulator = new RuntimeApiEmulator({ timeoutMs: 50 })
    await realEmulator.start()

    try {
      const invocation = await realEmulator.invoke({})
      expect(invocation.outcome).toBe('timeout')
      expect(invocation.payload.toString()).toBe('Task timed out after 0.05 seconds')
    } finally {
      await realEmulator.stop()
    }
  })
})

describe('invocation queue', () => {
  test('queued invocations run in order', async () => {
    const results = [1, 2, 3].map((n) => emulator.invoke({ n }, { requestId: `req-${n}` }))
    const seen: unknown[] = []

    for (let i = 0; i < 3; i++) {
      const next = await runtime.next()
      seen.push(next.json())
      await runtime.respond(requestIdOf(next), JSON.stringify({ doubled: (next.json() as { n: number }).n * 2 }))
    }

    const settled: InvocationResult[] = await Promise.all(results)
    expect(seen).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }])
    expect(settled.map((result) => result.requestId)).toEqual(['req-1', 'req-2', 'req-3'])
    expect(settled.map((result) => result.json())).toEqual([{ doubled: 2 }, { doubled: 4 }, { doubled: 6 }])
  })

  test('timeout starts next invocation', async () => {
    const first = emulator.invoke({ n: 1 })
    const second = emulator.invoke({ n: 2 })
    await runtime.next()

    clock.advance(3000)
    const next = await runtime.next()
    await runtime.respond(requestIdOf(next), '"second"')

    expect((await first).outcome).toBe('timeout')
    expect(next.json()).toEqual({ n: 2 })
    expect((await second).json()).toBe('second')
  })
})

describe('event size', () => {
  test('event at size limit is delivered', async () => {
    const event = Buffer.alloc(MAX_EVENT_BYTES, 0x20)
    const result = emulator.invoke(event)

    const next = await runtime.next()
    await runtime.respond(requestIdOf(next), '{}')

    expect(next.body.length).toBe(MAX_EVENT_BYTES)
    expect((await result).outcome).toBe('response')
  })

  test('event over size limit is rejected', async () => {
    const event = Buffer.alloc(MAX_EVENT_BYTES + 1, 0x20)

    await expect(emulator.invoke(event)).rejects.toThrow(RequestTooLargeError)
    await expect(emulator.invoke(event)).rejects.toThrow('Request must be smaller than 6291456 bytes for the InvokeFunction operation')
  })
})

describe('emulator', () => {
  test('unknown path gets 404', async () => {
    const answer = await httpCall(runtime.agent, runtime.url('/runtime/unknown'))

    expect(answer.status).toBe(404)
    expect(answer.text).toBe('404 page not found\n')
  })

  test('wrong method gets 405', async () => {
    const answer = await httpCall(runtime.agent, runtime.url('/runtime/invocation/next'), { method: 'POST', body: '{}' })

    expect(answer.status).toBe(405)
  })

  test('requests are logged', async () => {
    const result = emulator.invoke({}, { requestId: 'logged' })
    await runtime.next()
    await runtime.respond('logged', '{"a":1}')
    await result

    expect(emulator.requests.map(({ method, path, status, requestId, bodyBytes }) => ({ method, path, status, requestId, bodyBytes }))).toEqual([
      { method: 'GET', path: '/2018-06-01/runtime/invocation/next', status: 200, requestId: 'logged', bodyBytes: undefined },
      { method: 'POST', path: '/2018-06-01/runtime/invocation/logged/response', status: 202, requestId: 'logged', bodyBytes: 7 }
    ])
    expect(emulator.requests[1]?.headers['content-length']).toBe('7')
  })

  test('stop rejects pending invocations', async () => {
    const result = emulator.invoke({}, { requestId: 'pending' })

    await emulator.stop()

    await expect(result).rejects.toThrow('Runtime API emulator stopped before request pending ended')
  })

  test('invoke before start is rejected', async () => {
    const idle = new RuntimeApiEmulator()

    await expect(idle.invoke({})).rejects.toThrow('call start() first')
  })

  test('header option with line break is rejected', async () => {
    await expect(emulator.invoke({}, { traceId: 'Root=1\r\nX-Evil: 1' })).rejects.toThrow('Invalid invoke option traceId')
  })
})
