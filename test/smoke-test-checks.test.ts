// How the smoke test judges each invocation, on hand-made invocation results.

import { describe, expect, test } from '@jest/globals'

import {
  SMOKE_FAILURE_MESSAGE,
  SmokeTestError,
  checkErrorInvocation,
  checkFirstInvocation,
  checkWarmInvocation,
  extensionsToCheck,
  formatChecks,
  phpVersionMatches,
  runSmokeSequence,
  startupMessages,
  type SmokeInvocation,
  type SmokeReport
} from '../src/smoke-checks.js'

function response(report: Partial<SmokeReport>, durationMs = 5): SmokeInvocation {
  const full: SmokeReport = { phpVersion: '8.2.32', invocation: 1, pid: 7, loadedExtensions: [], checks: {}, ...report }
  return { outcome: 'response', body: JSON.stringify(full), durationMs }
}

const EXPECTED = { phpVersion: '8.2.32', extensions: ['curl', 'opcache'] }

describe('phpVersionMatches', () => {
  test.each([
    ['8.2.32', '8.2.32', true],
    ['8.2.32', '8.2.31', false],
    ['8.2.32', '8.2', true],
    ['8.3.1', '8.2', false],
    ['8.20.1', '8.2', false],
    ['8.2.32', '8', false]
  ])('%s against %s', (actual, expected, matches) => {
    expect(phpVersionMatches(actual, expected)).toBe(matches)
  })
})

describe('extensionsToCheck', () => {
  test('adds json once', () => {
    expect(extensionsToCheck(['curl', 'json', 'curl'])).toEqual(['curl', 'json'])
    expect(extensionsToCheck(['curl'])).toEqual(['curl', 'json'])
  })
})

describe('checkFirstInvocation', () => {
  test('passing report', () => {
    const { checks, report } = checkFirstInvocation(
      response({ checks: { curl: { ok: true, detail: 'libcurl 8.5.0' }, opcache: { ok: true, detail: 'enabled' } } }),
      EXPECTED
    )

    expect(report?.pid).toBe(7)
    expect(checks.map((check) => [check.name, check.ok])).toEqual([
      ['first invocation', true],
      ['PHP version', true],
      ['extension curl', true],
      ['extension opcache', true]
    ])
  })

  test('wrong version and failed extension', () => {
    const { checks } = checkFirstInvocation(
      response({ phpVersion: '8.1.0', checks: { curl: { ok: false, detail: 'extension curl is not loaded' } } }),
      EXPECTED
    )

    expect(checks.filter((check) => !check.ok)).toEqual([
      { name: 'PHP version', ok: false, detail: '8.1.0 (expected 8.2.32)' },
      { name: 'extension curl', ok: false, detail: 'extension curl is not loaded' },
      { name: 'extension opcache', ok: false, detail: 'no result in the smoke handler response' }
    ])
  })

  test('empty checks arrive as a list', () => {
    const { checks, report } = checkFirstInvocation(
      { outcome: 'response', body: '{"phpVersion":"8.2.32","invocation":1,"pid":7,"loadedExtensions":[],"checks":[]}', durationMs: 1 },
      { phpVersion: '8.2', extensions: [] }
    )

    expect(report?.checks).toEqual({})
    expect(checks.every((check) => check.ok)).toBe(true)
  })

  test('runtime exit', () => {
    const { checks, report } = checkFirstInvocation(
      { outcome: 'exit', errorType: 'Runtime.ExitError', body: '{"errorMessage":"exit status 127"}', durationMs: 3 },
      EXPECTED
    )

    expect(report).toBeUndefined()
    expect(checks).toEqual([
      { name: 'first invocation', ok: false, detail: 'expected a response, got exit Runtime.ExitError: {"errorMessage":"exit status 127"}' }
    ])
  })

  test('response of another handler', () => {
    const { checks } = checkFirstInvocation({ outcome: 'response', body: '{"message":"Hello"}', durationMs: 1 }, EXPECTED)

    expect(checks[0]?.detail).toBe('the response is not a smoke handler report: {"message":"Hello"}')
  })
})

describe('checkErrorInvocation', () => {
  test('reported exception', () => {
    const check = checkErrorInvocation({
      outcome: 'error',
      body: JSON.stringify({ errorType: 'RuntimeException', errorMessage: SMOKE_FAILURE_MESSAGE, stackTrace: [] }),
      durationMs: 2
    })

    expect(check).toEqual({ name: 'error path', ok: true, detail: 'RuntimeException reported in 2 ms' })
  })

  test('response instead of error', () => {
    const check = checkErrorInvocation(response({}))

    expect(check.ok).toBe(false)
    expect(check.detail).toMatch(/^expected an invocation error, got response: /)
  })

  test('other error type', () => {
    const check = checkErrorInvocation({ outcome: 'error', body: '{"errorType":"Runtime.FatalError","errorMessage":"boom"}', durationMs: 2 })

    expect(check.detail).toBe(`expected RuntimeException "${SMOKE_FAILURE_MESSAGE}", got Runtime.FatalError "boom"`)
  })
})

describe('checkWarmInvocation', () => {
  const first: SmokeReport = { phpVersion: '8.2.32', invocation: 1, pid: 7, loadedExtensions: [], checks: {} }

  test('same process', () => {
    expect(checkWarmInvocation(response({ invocation: 3 }), first, 2).ok).toBe(true)
  })

  test('restarted process', () => {
    const check = checkWarmInvocation(response({ invocation: 1, pid: 9 }), first, 2)

    expect(check.detail).toBe('expected PHP process 7 at invocation 3, got process 9 at invocation 1: the runtime restarted PHP')
  })

  test('check failing when warm', () => {
    const passing: SmokeReport = { ...first, checks: { opcache: { ok: true, detail: 'enabled' }, curl: { ok: false, detail: 'not loaded' } } }
    const warm = response({ invocation: 3, checks: { opcache: { ok: false, detail: 'disabled' }, curl: { ok: false, detail: 'not loaded' } } })

    const check = checkWarmInvocation(warm, passing, 2)

    expect(check.detail).toBe('checks failed on the warm invocation: opcache (disabled)')
  })

  test('check that failed first is not repeated', () => {
    const failedFirst: SmokeReport = { ...first, checks: { curl: { ok: false, detail: 'not loaded' } } }

    expect(checkWarmInvocation(response({ invocation: 3, checks: { curl: { ok: false, detail: 'not loaded' } } }), failedFirst, 2).ok).toBe(true)
  })
})

describe('runSmokeSequence', () => {
  test('sends first, failing and warm events', async () => {
    const events: unknown[] = []
    const answers: SmokeInvocation[] = [
      response({ checks: { curl: { ok: true, detail: 'ok' }, opcache: { ok: true, detail: 'ok' } } }, 40),
      { outcome: 'error', body: JSON.stringify({ errorType: 'RuntimeException', errorMessage: SMOKE_FAILURE_MESSAGE }), durationMs: 3 },
      response({ invocation: 3 }, 2)
    ]

    const sequence = await runSmokeSequence(async (event) => {
      events.push(event)
      return answers.shift() as SmokeInvocation
    }, EXPECTED)

    expect(events).toEqual([{ extensions: ['curl', 'opcache'] }, { fail: SMOKE_FAILURE_MESSAGE }, { extensions: ['curl', 'opcache'] }])
    expect(sequence.checks.every((check) => check.ok)).toBe(true)
    expect(sequence.durationsMs).toEqual({ firstInvocation: 40, errorInvocation: 3, warmInvocation: 2 })
  })

  test('stops when the first invocation fails', async () => {
    let calls = 0

    const sequence = await runSmokeSequence(async () => {
      calls += 1
      return { outcome: 'timeout', errorType: 'Sandbox.Timeout', body: 'Task timed out', durationMs: 10 }
    }, EXPECTED)

    expect(calls).toBe(1)
    expect(sequence.checks.map((check) => check.name)).toEqual(['first invocation'])
  })
})

describe('reporting', () => {
  test('error names each failed check', () => {
    const error = new SmokeTestError('/layer', [
      { name: 'PHP version', ok: false, detail: '8.1.0 (expected 8.2.32)' },
      { name: 'extension curl', ok: true, detail: 'libcurl' },
      { name: 'error path', ok: false, detail: 'no error' }
    ])

    expect(error.message).toBe('Smoke test of the layer in /layer failed 2 check(s): PHP version (8.1.0 (expected 8.2.32)); error path (no error)')
    expect(error.failed.map((check) => check.name)).toEqual(['PHP version', 'error path'])
  })

  test('log lines mark each check', () => {
    expect(formatChecks([{ name: 'PHP version', ok: true, detail: '8.2.32' }, { name: 'extension curl', ok: false, detail: 'not loaded' }])).toEqual([
      'ok   PHP version: 8.2.32',
      'FAIL extension curl: not loaded'
    ])
  })

  test('startup messages once each', () => {
    const output = [
      "PHP Warning:  PHP Startup: Invalid date.timezone value 'UTC', using 'UTC' instead in Unknown on line 0",
      'START RequestId: 1',
      "PHP Warning:  PHP Startup: Invalid date.timezone value 'UTC', using 'UTC' instead in Unknown on line 0"
    ].join('\n')

    expect(startupMessages(output)).toEqual(["PHP Warning:  PHP Startup: Invalid date.timezone value 'UTC', using 'UTC' instead in Unknown on line 0"])
  })
})
