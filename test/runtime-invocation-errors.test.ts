// Invocation errors, fatal errors and Runtime API statuses, each followed by a normal
// invocation to show the runtime goes on (or, after a 500, that it exits).

import { afterEach, describe, expect, test } from '@jest/globals'

import { MAX_RESPONSE_BYTES } from '../src/emulator/index.js'
import { expectOutcome, startRuntime, stopAllRuntimes, type ErrorBody, type RuntimeUnderTest } from './runtime-support.js'

afterEach(stopAllRuntimes)

/** Starts runtime/bootstrap with the function `handler` of test/fixtures/handlers/functions.php. */
async function runtimeFor(handler: string, env: Record<string, string> = {}): Promise<RuntimeUnderTest> {
  return startRuntime(`functions.${handler}`, { env })
}

function reportPaths(underTest: RuntimeUnderTest): string[] {
  return underTest.emulator.requests
    .filter((request) => request.method === 'POST')
    .map((request) => request.path.replace(/invocation\/[^/]+\//, 'invocation/ID/'))
}

describe('handler errors', () => {
  test('exception reported with type, message and stack', async () => {
    const underTest = await runtimeFor('throw_error')

    const result = await underTest.invoke({ message: 'order 7 is invalid' })

    const body = expectOutcome(result, 'error') as ErrorBody
    expect(result.errorType).toBe('DomainException')
    expect(result.contentType).toBe('application/vnd.aws.lambda.error+json')
    expect(body.errorType).toBe('DomainException')
    expect(body.errorMessage).toBe('order 7 is invalid')
    expect(body.stackTrace[0]).toMatch(/^thrown in .*functions\.php on line \d+$/)
    expect(body.stackTrace[1]).toMatch(/^#0 .*EventLoop\.php\(\d+\): throw_error\(\)$/)
    expect(reportPaths(underTest)).toEqual(['/2018-06-01/runtime/invocation/ID/error'])
  })

  test('exception then normal invocation', async () => {
    const underTest = await startRuntime('src/Handlers.App\\OrderHandler::handle')

    const failed = await underTest.invoke('not an object')
    const succeeded = await underTest.invoke({ name: 'ok' })

    expect(failed.outcome).toBe('error')
    expect(failed.errorType).toBe('TypeError')
    expect(expectOutcome(succeeded, 'response')).toEqual({ instance: 'ok', calls: 1 })
    expect(underTest.runtime.starts).toBe(1)
  })

  test('non-ASCII and invalid bytes stay valid', async () => {
    const underTest = await runtimeFor('throw_non_ascii')

    const result = await underTest.invoke({})

    const header = underTest.emulator.requests.find((request) => request.path.endsWith('/error'))?.headers['lambda-runtime-function-error-type']
    expect(header).toBe('Fehler%C3%9Cberall')
    const body = expectOutcome(result, 'error') as ErrorBody
    expect(body.errorType).toBe('FehlerÜberall')
    expect(body.errorMessage).toBe('bytes \uFFFD\uFFFD\u0000 and é\nsecond line')
  })

  test('E_USER_ERROR is an invocation error', async () => {
    const underTest = await runtimeFor('raise_user_error')

    const result = await underTest.invoke({})

    const body = expectOutcome(result, 'error') as ErrorBody
    expect(body.errorType).toBe('ErrorException')
    expect(body.errorMessage).toBe('user error raised')
  })

  test('warning logged, not fatal', async () => {
    const underTest = await runtimeFor('warning')

    const result = await underTest.invoke({})

    expect(expectOutcome(result, 'response')).toBe('still fine ')
    await underTest.runtime.waitForLine('PHP Warning')
    const warnings = underTest.runtime.lines.filter((line) => line.text.includes('PHP Warning'))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]!.text).toMatch(new RegExp(`^\\S+Z\\t${result.requestId}\\tWARN\\tPHP Warning: Undefined array key "undefined key" in .*functions\\.php on line \\d+$`))
  })

  test('invalid event JSON', async () => {
    const underTest = await runtimeFor('hello')

    const result = await underTest.invoke(Buffer.from('{"name": '))

    const body = expectOutcome(result, 'error') as ErrorBody
    expect(body.errorType).toBe('Runtime.UnmarshalError')
    expect(body.errorMessage).toContain('The event is not valid JSON')
  })

  test('invalid client context JSON', async () => {
    const underTest = await runtimeFor('hello')

    const result = await underTest.invoke({}, { clientContext: '{broken' })

    const body = expectOutcome(result, 'error') as ErrorBody
    expect(body.errorType).toBe('Runtime.UnmarshalError')
    expect(body.errorMessage).toContain('Lambda-Runtime-Client-Context is not valid JSON')
  })
})

describe('unencodable results', () => {
  test.each([
    ['invalid_utf8', 'Malformed UTF-8 characters'],
    ['infinity', 'Inf and NaN cannot be JSON encoded'],
    ['resource', 'Type is not supported']
  ])('%s is a MarshalError', async (handler, reason) => {
    const underTest = await runtimeFor('dispatch')

    const failed = await underTest.invoke({ call: handler })
    const normal = await underTest.invoke({ call: 'hello' })

    const body = expectOutcome(failed, 'error') as ErrorBody
    expect(body.errorType).toBe('Runtime.MarshalError')
    expect(body.errorMessage).toContain(reason)
    expect(expectOutcome(normal, 'response')).toMatchObject({ greeting: 'Hello world' })
  })
})

describe('fatal errors', () => {
  // functions.dispatch calls the fixture function the event names, so one runtime can fail
  // fatally and then serve a normal event.
  async function countAfter(underTest: RuntimeUnderTest): Promise<{ invocations: number, pid: number }> {
    return expectOutcome(await underTest.invoke({ call: 'count_invocations' }), 'response') as { invocations: number, pid: number }
  }

  test('memory exhausted then normal invocation', async () => {
    const underTest = await runtimeFor('dispatch')
    const before = await countAfter(underTest)

    const result = await underTest.invoke({ call: 'exhaust_memory' })

    const body = expectOutcome(result, 'error') as ErrorBody
    expect(body.errorType).toBe('Runtime.OutOfMemory')
    // 96M from test/fixtures/handlers/php/conf.d/test-limits.ini.
    expect(body.errorMessage).toMatch(/^Allowed memory size of 100663296 bytes exhausted \(tried to allocate \d+ bytes\)$/)
    expect(body.stackTrace[0]).toMatch(/^in .*functions\.php on line \d+$/)
    await underTest.runtime.waitForLine(`${result.requestId}\tERROR\tInvoke Error: Runtime.OutOfMemory: Allowed memory size of 100663296 bytes exhausted`)

    const after = await countAfter(underTest)
    expect(after.invocations).toBe(1)
    expect(after.pid).not.toBe(before.pid)
    expect(underTest.runtime.starts).toBe(1)
  })

  test('fatal error then normal invocation', async () => {
    const underTest = await runtimeFor('dispatch')
    const before = await countAfter(underTest)

    const result = await underTest.invoke({ call: 'fatal_error' })

    const body = expectOutcome(result, 'error') as ErrorBody
    expect(body.errorType).toBe('Runtime.FatalError')
    expect(body.errorMessage).toMatch(/^Cannot redeclare hello\(\) \(previously declared in .*\/functions\.php:\d+\)$/)
    expect(body.stackTrace[0]).toMatch(/^in .*\/src\/declares-hello\.php on line \d+$/)
    expect(reportPaths(underTest)).toEqual([
      '/2018-06-01/runtime/invocation/ID/response',
      '/2018-06-01/runtime/invocation/ID/error'
    ])

    const after = await countAfter(underTest)
    expect(after.invocations).toBe(1)
    expect(after.pid).not.toBe(before.pid)
    expect(underTest.runtime.starts).toBe(1)
  })

  test('exit() then normal invocation', async () => {
    const underTest = await runtimeFor('dispatch')
    const before = await countAfter(underTest)

    const result = await underTest.invoke({ call: 'call_exit' })

    const body = expectOutcome(result, 'error') as ErrorBody
    expect(body.errorType).toBe('Runtime.ExitError')
    expect(body.errorMessage).toContain('exit() or die()')

    const after = await countAfter(underTest)
    expect(after.invocations).toBe(1)
    expect(after.pid).not.toBe(before.pid)
    expect(underTest.runtime.starts).toBe(1)
  })
})

describe('Runtime API statuses', () => {
  test('response over 6 MB then normal one', async () => {
    const underTest = await runtimeFor('dispatch')

    const tooLarge = await underTest.invoke({ call: 'big_response' })
    const normal = await underTest.invoke({ call: 'hello', event: { name: 'after' } })

    // The JSON string of 6.5 MiB plus its two quotes.
    const responseBytes = 6.5 * 1024 * 1024 + 2
    expect(responseBytes).toBeGreaterThan(MAX_RESPONSE_BYTES)
    expect(tooLarge.statusCodeSeenByRuntime).toBe(413)
    expect(tooLarge.errorType).toBe('Function.ResponseSizeTooLarge')
    await underTest.runtime.waitForLine(`${tooLarge.requestId}\tERROR\tPOST /runtime/invocation/${tooLarge.requestId}/response returned HTTP 413: the response of ${responseBytes} bytes is over the Runtime API's size limit`)
    expect(expectOutcome(normal, 'response')).toMatchObject({ greeting: 'Hello after' })
    expect(reportPaths(underTest)).toEqual([
      '/2018-06-01/runtime/invocation/ID/response',
      '/2018-06-01/runtime/invocation/ID/response'
    ])
    expect(underTest.runtime.running).toBe(true)
  })

  // An injected status leaves the invocation open, so the emulator sends the same event again
  // on the next /next, as AWS's emulator does for an unreported event. The runtime handles it
  // a second time; the first report's rejection is only logged.
  test.each([400, 403])('%i on response logged, loop goes on', async (status) => {
    const underTest = await runtimeFor('count_invocations')
    underTest.emulator.injectStatus('response', status)

    const redelivered = await underTest.invoke({})
    const next = await underTest.invoke({})

    await underTest.runtime.waitForLine(new RegExp(`ERROR\\tPOST /runtime/invocation/${redelivered.requestId}/response returned HTTP ${status}: `))
    expect(expectOutcome(redelivered, 'response')).toMatchObject({ invocations: 2 })
    expect(expectOutcome(next, 'response')).toMatchObject({ invocations: 3 })
    expect(underTest.emulator.requests.filter((request) => request.path.endsWith('/response')).map((request) => request.status)).toEqual([status, 202, 202])
    expect(underTest.runtime.starts).toBe(1)
    expect(underTest.runtime.running).toBe(true)
  })

  test('400 on error report logged, loop goes on', async () => {
    const underTest = await runtimeFor('throw_error')
    underTest.emulator.injectStatus('error', 400)

    const redelivered = await underTest.invoke({})
    const next = await underTest.invoke({})

    await underTest.runtime.waitForLine(`POST /runtime/invocation/${redelivered.requestId}/error returned HTTP 400: `)
    expect(redelivered.outcome).toBe('error')
    expect(next.outcome).toBe('error')
    expect(underTest.emulator.requests.filter((request) => request.path.endsWith('/error')).map((request) => request.status)).toEqual([400, 202, 202])
    expect(underTest.runtime.running).toBe(true)
  })

  test('500 on next ends bootstrap', async () => {
    const underTest = await runtimeFor('hello')
    await underTest.invoke({})
    underTest.emulator.injectStatus('next', 500)

    const exit = await underTest.runtime.waitForExit()

    expect(exit.code).toBe(69)
    expect(underTest.runtime.output()).toMatch(/FATAL\tGET \/runtime\/invocation\/next returned HTTP 500: \{.*"InternalServerError"\} The runtime exits\.$/m)
  })

  test('500 on response ends bootstrap', async () => {
    const underTest = await runtimeFor('hello')
    underTest.emulator.injectStatus('response', 500)

    await underTest.invoke({})
    const exit = await underTest.runtime.waitForExit()

    expect(exit.code).toBe(69)
    expect(underTest.runtime.output()).toContain('/response returned HTTP 500')
  })
})
