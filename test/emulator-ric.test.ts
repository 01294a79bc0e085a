// Fidelity check: AWS's own Node runtime interface client (npm aws-lambda-ric 3.3.0, whose
// native part is aws-lambda-cpp) runs against the emulator as it would against Lambda.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

import { afterAll, afterEach, beforeAll, expect, test } from '@jest/globals'

import { RuntimeApiEmulator, RuntimeProcess } from '../src/emulator/index.js'

const ricBin = join(dirname(createRequire(import.meta.url).resolve('aws-lambda-ric/package.json')), 'bin', 'index.mjs')

const HANDLERS: Record<string, string> = {
  'context.mjs': `
export const handler = async (event, context) => ({
  event,
  requestId: context.awsRequestId,
  remainingMs: context.getRemainingTimeInMillis(),
  now: Date.now(),
  invokedFunctionArn: context.invokedFunctionArn,
  functionName: context.functionName,
  functionVersion: context.functionVersion,
  memoryLimitInMB: context.memoryLimitInMB,
  logGroupName: context.logGroupName,
  logStreamName: context.logStreamName,
  clientContext: context.clientContext,
  identity: context.identity,
  tenantId: context.tenantId,
  traceEnv: process.env._X_AMZN_TRACE_ID
})
`,
  'throws.mjs': `
export const handler = async (event) => {
  throw new TypeError('bad input: ' + event.input)
}
`,
  'big.mjs': `
export const handler = async (event) => 'x'.repeat(event.size)
`,
  'stream.mjs': `
export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.setContentType('text/plain')
  responseStream.write('first part, ')
  if (event.fail === true) throw new Error('stream broke')
  responseStream.write('second part')
  responseStream.end()
})
`
}

let taskRoot: string
let emulator: RuntimeApiEmulator | undefined
let runtime: RuntimeProcess | undefined

beforeAll(() => {
  taskRoot = mkdtempSync(join(tmpdir(), 'emulator-ric-'))
  for (const [name, source] of Object.entries(HANDLERS)) {
    writeFileSync(join(taskRoot, name), source)
  }
})

afterAll(() => {
  rmSync(taskRoot, { recursive: true, force: true })
})

afterEach(async () => {
  await runtime?.stop()
  await emulator?.stop()
  runtime = undefined
  emulator = undefined
})

async function startRic(handler: string): Promise<{ emulator: RuntimeApiEmulator, runtime: RuntimeProcess }> {
  emulator = new RuntimeApiEmulator({ timeoutMs: 20_000, functionName: 'ric-test', memorySizeMb: 256 })
  await emulator.start()
  runtime = new RuntimeProcess({ emulator, command: process.execPath, args: [ricBin, handler], handler, taskRoot })
  return { emulator, runtime }
}

function expectOnlyStatuses(records: Array<{ path: string, status: number }>, allowed: number[]): void {
  const unexpected = records.filter((record) => !allowed.includes(record.status))
  expect(unexpected).toEqual([])
}

test('RIC returns handler response', async () => {
  const { emulator } = await startRic('context.handler')

  const result = await emulator.invoke({ hello: 'ric' }, {
    requestId: 'ric-request-1',
    traceId: 'Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1',
    clientContext: { client: { installation_id: 'install-1' }, custom: { key: 'value' }, env: { platform: 'test' } },
    cognitoIdentity: { cognitoIdentityId: 'identity-1', cognitoIdentityPoolId: 'pool-1' },
    tenantId: 'tenant-1'
  })

  expect(result.outcome).toBe('response')
  const context = result.json() as Record<string, unknown>
  expect(context.event).toEqual({ hello: 'ric' })
  expect(context.requestId).toBe('ric-request-1')
  expect(context.invokedFunctionArn).toBe(emulator.functionArn)
  expect(context.functionName).toBe('ric-test')
  expect(context.functionVersion).toBe('$LATEST')
  expect(context.memoryLimitInMB).toBe('256')
  expect(context.logGroupName).toBe('/aws/lambda/ric-test')
  expect(context.logStreamName).toMatch(/\[\$LATEST\][0-9a-f]{32}$/)
  expect(context.clientContext).toEqual({ client: { installation_id: 'install-1' }, custom: { key: 'value' }, env: { platform: 'test' } })
  expect(context.identity).toEqual({ cognitoIdentityId: 'identity-1', cognitoIdentityPoolId: 'pool-1' })
  expect(context.tenantId).toBe('tenant-1')
  expect(context.traceEnv).toBe('Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1')
  // The client computes the remaining time from Lambda-Runtime-Deadline-Ms.
  expect(Math.abs((context.now as number) + (context.remainingMs as number) - result.deadlineMs)).toBeLessThanOrEqual(2)
})

test('RIC reports thrown error', async () => {
  const { emulator } = await startRic('throws.handler')

  const result = await emulator.invoke({ input: 42 })

  expect(result.outcome).toBe('error')
  expect(result.statusCodeSeenByRuntime).toBe(202)
  expect(result.contentType).toBe('application/json')
  const body = result.json() as { errorType: string, errorMessage: string, trace: string[] }
  expect(body.errorType).toBe('TypeError')
  expect(body.errorMessage).toBe('bad input: 42')
  // aws-lambda-ric 3.3.0 names the stack "trace", not "stackTrace".
  expect(body.trace[0]).toBe('TypeError: bad input: 42')
  // Its native client sends no Lambda-Runtime-Function-Error-Type on /error, only the body.
  expect(result.errorType).toBeUndefined()
  expect(JSON.parse(result.xrayErrorCause ?? '{}').exceptions[0].message).toBe('bad input: 42')
})

test('RIC sees only expected statuses', async () => {
  const { emulator } = await startRic('context.handler')

  for (let i = 0; i < 5; i++) {
    expect((await emulator.invoke({ i })).outcome).toBe('response')
  }

  expectOnlyStatuses(emulator.requests, [200, 202])
  expect(emulator.requests.filter((record) => record.path.endsWith('/next'))).toHaveLength(5)
  expect(new Set(emulator.requests.map((record) => record.connection)).size).toBe(1)
})

test('RIC response over 6 MB gets 413', async () => {
  const { emulator, runtime } = await startRic('big.handler')

  const tooBig = await emulator.invoke({ size: 7_000_000 })
  const after = await emulator.invoke({ size: 3 })

  expect(tooBig.outcome).toBe('error')
  expect(tooBig.errorType).toBe('Function.ResponseSizeTooLarge')
  expect(tooBig.statusCodeSeenByRuntime).toBe(413)
  expect(after.json()).toBe('xxx')
  expectOnlyStatuses(emulator.requests.filter((record) => record.requestId === tooBig.requestId && record.method === 'POST'), [413])
  await runtime.waitForLine('Http response code: 413')
})

test('RIC init error reaches invoke', async () => {
  const { emulator, runtime } = await startRic('missing.handler')

  const first = await emulator.invoke({})
  const second = await emulator.invoke({})

  expect(first.outcome).toBe('error')
  expect(first.errorType).toBe('Runtime.ImportModuleError')
  expect((emulator.initError as { errorType: string }).errorType).toBe('Runtime.ImportModuleError')
  expect(second.errorType).toBe('Runtime.ImportModuleError')
  // The client exits after its init error, so the second invocation ran a fresh init.
  expect(runtime.starts).toBe(2)
  expectOnlyStatuses(emulator.requests, [202])
})

test('RIC streams a response', async () => {
  const { emulator } = await startRic('stream.handler')

  const result = await emulator.invoke({})

  expect(result.outcome).toBe('response')
  expect(result.responseMode).toBe('streaming')
  expect(result.contentType).toBe('text/plain')
  expect(result.payload.toString()).toBe('first part, second part')
})

test('RIC streamed error uses trailers', async () => {
  const { emulator } = await startRic('stream.handler')

  const result = await emulator.invoke({ fail: true })

  expect(result.outcome).toBe('error')
  expect(result.errorType).toBe('Error')
  expect((result.json() as { errorMessage: string }).errorMessage).toBe('stream broke')
  expectOnlyStatuses(emulator.requests, [200, 202])
})
