// The handlers in examples/handlers, run by runtime/bootstrap with the system PHP
// (BOOTSTRAP_PHP) against the Runtime API emulator, the way users try them locally.

import { execFileSync } from 'node:child_process'
import { join } from 'node:path'

import { afterEach, describe, expect, test } from '@jest/globals'

import { RuntimeApiEmulator, RuntimeProcess, type InvocationResult } from '../src/emulator/index.js'
import { actionRoot, runtimePath } from '../src/paths.js'
import { SMOKE_FAILURE_MESSAGE } from '../src/smoke-checks.js'

const EXAMPLES = join(actionRoot(), 'examples', 'handlers')
const SYSTEM_PHP = execFileSync('sh', ['-c', 'command -v php'], { encoding: 'utf8' }).trim()

let emulator: RuntimeApiEmulator | undefined
let runtime: RuntimeProcess | undefined

afterEach(async () => {
  await runtime?.stop()
  await emulator?.stop()
  runtime = undefined
  emulator = undefined
})

/** Starts an emulator with runtime/bootstrap for one example handler. */
async function startExample(handler: string): Promise<{ emulator: RuntimeApiEmulator; runtime: RuntimeProcess }> {
  emulator = new RuntimeApiEmulator({ timeoutMs: 10_000, functionName: 'examples' })
  await emulator.start()
  runtime = new RuntimeProcess({
    command: runtimePath('bootstrap'),
    emulator,
    handler,
    taskRoot: EXAMPLES,
    env: { BOOTSTRAP_PHP: SYSTEM_PHP }
  })
  return { emulator, runtime }
}

function responseOf(result: InvocationResult): unknown {
  if (result.outcome !== 'response') {
    throw new Error(`expected a response, got ${result.outcome} ${result.errorType ?? ''}: ${result.payload.toString('utf8')}`)
  }
  return result.json()
}

/** Builds an API Gateway HTTP API event (payload format 2.0) as API Gateway sends it to Lambda. */
function httpApiEvent(method: string, rawPath: string, options: { query?: Record<string, string>; body?: string; base64?: boolean } = {}): unknown {
  const rawQueryString = new URLSearchParams(options.query ?? {}).toString()
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    headers: { accept: '*/*', 'content-type': 'application/json', host: 'abc123.execute-api.us-east-1.amazonaws.com' },
    ...(options.query === undefined ? {} : { queryStringParameters: options.query }),
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'curl/8.5.0' },
      requestId: 'JKJaXmPLvHcESHA=',
      routeKey: '$default',
      stage: '$default',
      time: '04/Dec/2026:19:00:00 +0000',
      timeEpoch: 1796410800000
    },
    ...(options.body === undefined ? {} : { body: options.body }),
    isBase64Encoded: options.base64 ?? false
  }
}

describe('hello.php', () => {
  test('greets by name', async () => {
    const { emulator } = await startExample('hello.handler')

    expect(responseOf(await emulator.invoke({ name: 'Ada' }))).toEqual({ message: 'Hello, Ada!' })
  })

  test('greets the world without a name', async () => {
    const { emulator } = await startExample('hello.handler')

    expect(responseOf(await emulator.invoke({}))).toEqual({ message: 'Hello, world!' })
  })
})

describe('greeter.php', () => {
  test('instance keeps state between invocations', async () => {
    const { emulator, runtime } = await startExample('greeter.App\\Greeter::greet')

    const first = await emulator.invoke({ name: 'Ada' })
    const second = await emulator.invoke({ name: 'Grace' })

    expect(responseOf(first)).toEqual({ message: 'Hello, Ada!', greetingsByThisInstance: 1, requestId: first.requestId })
    expect(responseOf(second)).toEqual({ message: 'Hello, Grace!', greetingsByThisInstance: 2, requestId: second.requestId })
    expect(runtime.starts).toBe(1)
  })

  test('logs through the context logger', async () => {
    const { emulator, runtime } = await startExample('greeter.App\\Greeter::greet')

    const result = await emulator.invoke({ name: 'Ada' })

    const line = await runtime.waitForLine('Greeting')
    expect(line.text).toContain(result.requestId)
    expect(line.text).toContain('INFO')
  })
})

describe('http-api.php', () => {
  test('GET with a query string', async () => {
    const { emulator } = await startExample('http-api.php')

    const result = await emulator.invoke(httpApiEvent('GET', '/hello', { query: { name: 'Ada' } }))

    const response = responseOf(result) as { statusCode: number; headers: Record<string, string>; body: string }
    expect(response.statusCode).toBe(200)
    expect(response.headers).toEqual({ 'Content-Type': 'application/json' })
    expect(JSON.parse(response.body)).toEqual({ message: 'Hello, Ada!', requestId: result.requestId })
  })

  test('POST with a base64 JSON body', async () => {
    const { emulator } = await startExample('http-api.php')
    const body = Buffer.from(JSON.stringify({ name: 'Grace' })).toString('base64')

    const response = responseOf(await emulator.invoke(httpApiEvent('POST', '/hello', { body, base64: true }))) as { statusCode: number; body: string }

    expect(response.statusCode).toBe(200)
    expect(JSON.parse(response.body)).toMatchObject({ message: 'Hello, Grace!' })
  })

  test('unknown path is 404', async () => {
    const { emulator } = await startExample('http-api.php')

    const response = responseOf(await emulator.invoke(httpApiEvent('GET', '/orders'))) as { statusCode: number; body: string }

    expect(response.statusCode).toBe(404)
    expect(JSON.parse(response.body)).toEqual({ error: 'No route for /orders' })
  })

  test('other method is 405 with Allow', async () => {
    const { emulator } = await startExample('http-api.php')

    const response = responseOf(await emulator.invoke(httpApiEvent('DELETE', '/hello'))) as { statusCode: number; headers: Record<string, string> }

    expect(response.statusCode).toBe(405)
    expect(response.headers).toEqual({ 'Content-Type': 'application/json', Allow: 'GET, POST' })
  })
})

describe('smoke.php', () => {
  test('reports version and extension checks', async () => {
    const { emulator } = await startExample('smoke.handler')
    const phpVersion = execFileSync(SYSTEM_PHP, ['-r', 'echo PHP_VERSION;'], { encoding: 'utf8' })

    const report = responseOf(await emulator.invoke({ extensions: ['json', 'ctype', 'curl', 'no_such_extension'] })) as {
      phpVersion: string
      invocation: number
      checks: Record<string, { ok: boolean; detail: string }>
    }

    expect(report.phpVersion).toBe(phpVersion)
    expect(report.invocation).toBe(1)
    expect(report.checks.json).toEqual({ ok: true, detail: 'json_encode, json_decode' })
    expect(report.checks.ctype).toEqual({ ok: true, detail: 'ctype_digit, ctype_alpha' })
    expect(report.checks.curl?.ok).toBe(true)
    expect(report.checks.curl?.detail).toMatch(/^libcurl [0-9.]+, TLS /)
    expect(report.checks.no_such_extension).toEqual({ ok: false, detail: 'extension no_such_extension is not loaded' })
  })

  test('fail event is an invocation error', async () => {
    const { emulator } = await startExample('smoke.handler')

    const result = await emulator.invoke({ fail: SMOKE_FAILURE_MESSAGE })

    expect(result.outcome).toBe('error')
    expect(result.json()).toMatchObject({ errorType: 'RuntimeException', errorMessage: SMOKE_FAILURE_MESSAGE })
  })
})
