// Handler forms, warm state, context and environment of runtime/bootstrap with the system PHP
// against the Runtime API emulator.

import { afterEach, describe, expect, test } from '@jest/globals'

import { FIXTURES, expectOutcome, startRuntime, stopAllRuntimes } from './runtime-support.js'

afterEach(stopAllRuntimes)

describe('handler forms', () => {
  test('file.function', async () => {
    const { invoke } = await startRuntime('functions.hello')

    const result = await invoke({ name: 'Ada', nested: { list: [1, 2.5, 'x'] } })

    expect(expectOutcome(result, 'response')).toEqual({
      greeting: 'Hello Ada',
      event: { name: 'Ada', nested: { list: [1, 2.5, 'x'] } }
    })
    expect(result.statusCodeSeenByRuntime).toBe(202)
  })

  test('namespaced function', async () => {
    const { invoke } = await startRuntime('src/Handlers.App\\namespaced')

    expect(expectOutcome(await invoke({ name: 'fn' }), 'response')).toBe('namespaced fn')
  })

  test('static method', async () => {
    const { invoke } = await startRuntime('src/Handlers.App\\OrderHandler::describe')

    expect(expectOutcome(await invoke({ name: 'order' }), 'response')).toBe('static order')
  })

  test('instance method keeps its object', async () => {
    const { invoke } = await startRuntime('src/Handlers.App\\OrderHandler::handle')

    expect(expectOutcome(await invoke({ name: 'a' }), 'response')).toEqual({ instance: 'a', calls: 1 })
    expect(expectOutcome(await invoke({ name: 'b' }), 'response')).toEqual({ instance: 'b', calls: 2 })
  })

  test('file returning a closure', async () => {
    const { invoke } = await startRuntime('closure.php')

    expect(expectOutcome(await invoke({ name: 'c' }), 'response')).toBe('closure c')
  })

  test('file returning an invokable object', async () => {
    const { invoke } = await startRuntime('invokable.php')

    expect(expectOutcome(await invoke({ name: 'i' }), 'response')).toBe('invokable i')
  })

  test('file returning an object with handle()', async () => {
    const { invoke } = await startRuntime('handle-object.php')

    expect(expectOutcome(await invoke({ name: 'h' }), 'response')).toEqual({ handled: 'h', calls: 1 })
    expect(expectOutcome(await invoke({ name: 'h' }), 'response')).toEqual({ handled: 'h', calls: 2 })
  })

  test('no return value is null', async () => {
    const { invoke } = await startRuntime('functions.nothing')

    const result = await invoke({})

    expect(result.outcome).toBe('response')
    expect(result.payload.toString()).toBe('null')
  })
})

describe('warm state', () => {
  test('globals survive between invocations', async () => {
    const { invoke, runtime } = await startRuntime('functions.count_invocations')

    const first = expectOutcome(await invoke({}), 'response') as { invocations: number, pid: number }
    const second = expectOutcome(await invoke({}), 'response') as { invocations: number, pid: number }
    const third = expectOutcome(await invoke({}), 'response') as { invocations: number, pid: number }

    expect([first.invocations, second.invocations, third.invocations]).toEqual([1, 2, 3])
    expect(new Set([first.pid, second.pid, third.pid]).size).toBe(1)
    expect(runtime.starts).toBe(1)
  })

  test('recycling restarts PHP after max invocations', async () => {
    const { invoke, runtime } = await startRuntime('functions.count_invocations', {
      env: { LAMBDA_RUNTIME_MAX_INVOCATIONS: '2' }
    })

    const results = []
    for (let i = 0; i < 5; i++) {
      results.push(expectOutcome(await invoke({}), 'response') as { invocations: number, pid: number })
    }

    expect(results.map((result) => result.invocations)).toEqual([1, 2, 1, 2, 1])
    expect(results[0]!.pid).toBe(results[1]!.pid)
    expect(results[2]!.pid).not.toBe(results[1]!.pid)
    expect(results[4]!.pid).not.toBe(results[3]!.pid)
    expect(runtime.starts).toBe(1)
  })
})

describe('context', () => {
  test('all fields', async () => {
    const { invoke, emulator, runtime } = await startRuntime('functions.context_fields', {
      emulator: { functionName: 'orders', memorySizeMb: 512, timeoutMs: 10_000 }
    })

    const result = await invoke({}, {
      requestId: 'request-1',
      traceId: 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1',
      clientContext: { client: { installation_id: 'install-1' }, custom: { tier: 'gold' }, env: { locale: 'en' } },
      cognitoIdentity: { cognitoIdentityId: 'identity-1', cognitoIdentityPoolId: 'pool-1' },
      tenantId: 'tenant-7'
    })

    const context = expectOutcome(result, 'response') as Record<string, unknown>
    expect(context).toMatchObject({
      awsRequestId: 'request-1',
      deadlineMs: result.deadlineMs,
      invokedFunctionArn: emulator.functionArn,
      traceId: 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1',
      clientContext: { client: { installation_id: 'install-1' }, custom: { tier: 'gold' }, env: { locale: 'en' } },
      identity: { cognitoIdentityId: 'identity-1', cognitoIdentityPoolId: 'pool-1' },
      tenantId: 'tenant-7',
      functionName: 'orders',
      functionVersion: '$LATEST',
      memoryLimitInMb: 512,
      logGroupName: '/aws/lambda/orders',
      logStreamName: runtime.env.AWS_LAMBDA_LOG_STREAM_NAME
    })
    expect(context.remainingTimeInMillis).toBeGreaterThan(0)
    expect(context.remainingTimeInMillis).toBeLessThanOrEqual(10_000)
  })

  test('optional fields absent', async () => {
    const { invoke } = await startRuntime('functions.context_fields')

    const context = expectOutcome(await invoke({}), 'response') as Record<string, unknown>

    expect(context.traceId).toBeNull()
    expect(context.clientContext).toBeNull()
    expect(context.identity).toBeNull()
    expect(context.tenantId).toBeNull()
  })
})

describe('trace id', () => {
  test('set and cleared per invocation', async () => {
    const { invoke } = await startRuntime('functions.trace_id')

    const traced = expectOutcome(await invoke({}, { traceId: 'Root=1-aaa;Parent=b;Sampled=1' }), 'response')
    const untraced = expectOutcome(await invoke({}), 'response')
    const tracedAgain = expectOutcome(await invoke({}, { traceId: 'Root=1-ccc' }), 'response')

    expect(traced).toEqual({ getenv: 'Root=1-aaa;Parent=b;Sampled=1', server: 'Root=1-aaa;Parent=b;Sampled=1', env: 'Root=1-aaa;Parent=b;Sampled=1', context: 'Root=1-aaa;Parent=b;Sampled=1' })
    expect(untraced).toEqual({ getenv: false, server: null, env: null, context: null })
    expect(tracedAgain).toEqual({ getenv: 'Root=1-ccc', server: 'Root=1-ccc', env: 'Root=1-ccc', context: 'Root=1-ccc' })
  })
})

describe('environment', () => {
  test('php.ini, user ini and $_ENV', async () => {
    const { invoke } = await startRuntime('functions.environment')

    const environment = expectOutcome(await invoke({}), 'response') as Record<string, unknown>

    expect(environment).toMatchObject({
      envRegion: 'us-east-1',
      serverFunctionName: 'test_function',
      // From test/fixtures/handlers/php/conf.d/test-limits.ini; php.ini has -1.
      memoryLimit: '96M',
      opcacheEnabled: true,
      opcacheFileCache: '/tmp/opcache',
      cwd: FIXTURES.replace(/\/$/, ''),
      scanDir: `:${FIXTURES.replace(/\/$/, '')}/php/conf.d`
    })
  })
})
