// Init errors: a handler that cannot be loaded goes to /runtime/init/error with an error type
// and a message naming what was looked for where, and bootstrap exits with status 1.

import { afterEach, expect, test } from '@jest/globals'

import { FIXTURES, startRuntime, stopAllRuntimes, type ErrorBody } from './runtime-support.js'

afterEach(stopAllRuntimes)

/** Invokes once and returns the init error the runtime posted, after checking how it ended. */
async function initError(handler: string): Promise<ErrorBody & { logs: string }> {
  const { invoke, emulator, runtime } = await startRuntime(handler)

  const result = await invoke({})
  const exit = await runtime.waitForExit()

  expect(result.outcome).toBe('error')
  expect(exit.code).toBe(1)
  expect(emulator.requests.map((request) => request.path)).toEqual(['/2018-06-01/runtime/init/error'])

  const body = emulator.initError as ErrorBody
  expect(emulator.initErrorReport?.errorType).toBe(body.errorType)
  expect(result.errorType).toBe(body.errorType)

  return { ...body, logs: runtime.output() }
}

test('init error missing file', async () => {
  const error = await initError('missing.main')

  expect(error.errorType).toBe('Runtime.HandlerNotFound')
  expect(error.errorMessage).toBe(`Handler file ${FIXTURES}/missing.php not found or not readable (_HANDLER=missing.main, LAMBDA_TASK_ROOT=${FIXTURES}).`)
})

test('init error missing function', async () => {
  const error = await initError('functions.absent')

  expect(error.errorType).toBe('Runtime.HandlerNotFound')
  expect(error.errorMessage).toContain(`Function absent() not found after loading ${FIXTURES}/functions.php (_HANDLER=functions.absent)`)
})

test('init error missing class', async () => {
  const error = await initError('src/Handlers.App\\Absent::handle')

  expect(error.errorType).toBe('Runtime.HandlerNotFound')
  expect(error.errorMessage).toContain(`Class App\\Absent not found after loading ${FIXTURES}/src/Handlers.php`)
})

test('init error missing method', async () => {
  const error = await initError('src/Handlers.App\\OrderHandler::absent')

  expect(error.errorType).toBe('Runtime.HandlerNotFound')
  expect(error.errorMessage).toContain('Method App\\OrderHandler::absent() not found')
})

test('init error malformed name', async () => {
  const error = await initError('functions')

  expect(error.errorType).toBe('Runtime.MalformedHandlerName')
  expect(error.errorMessage).toContain('_HANDLER=functions names no file and function')
})

test('init error empty handler', async () => {
  const error = await initError('')

  expect(error.errorType).toBe('Runtime.MalformedHandlerName')
  expect(error.errorMessage).toContain('_HANDLER is empty')
})

test('init error parse error', async () => {
  const error = await initError('init/syntax-error.main')

  expect(error.errorType).toBe('Runtime.UserCodeSyntaxError')
  expect(error.errorMessage).toBe(`syntax error, unexpected token "{", expecting variable in ${FIXTURES}/init/syntax-error.php on line 5`)
})

test('init error exception while loading', async () => {
  const error = await initError('init/throws.main')

  expect(error.errorType).toBe('UnexpectedValueException')
  expect(error.errorMessage).toBe('Cannot connect to the database during init')
  expect(error.stackTrace[0]).toBe(`thrown in ${FIXTURES}/init/throws.php on line 5`)
})

test('init error exit while loading', async () => {
  const error = await initError('init/exits.main')

  expect(error.errorType).toBe('Runtime.ExitError')
  expect(error.errorMessage).toContain('exit() or die()')
})

test('init error fatal while loading', async () => {
  const error = await initError('init/fatal.main')

  expect(error.errorType).toBe('Runtime.FatalError')
  expect(error.errorMessage).toBe('Cannot redeclare strlen()')
  expect(error.stackTrace).toEqual([`in ${FIXTURES}/init/fatal.php on line 5`])
  expect(error.logs).toContain('FATAL\tInit Error: Runtime.FatalError: Cannot redeclare strlen()')
})

test('init error file returns no handler', async () => {
  const error = await initError('init/returns-data.php')

  expect(error.errorType).toBe('Runtime.InvalidHandler')
  expect(error.errorMessage).toContain(`${FIXTURES}/init/returns-data.php returned array`)
})

test('init error logged once as FATAL', async () => {
  const error = await initError('functions.absent')

  const records = error.logs.split('\n').filter((line) => line.includes('Init Error'))
  expect(records).toHaveLength(1)
  expect(records[0]).toMatch(/^\S+Z\t-\tFATAL\tInit Error: Runtime\.HandlerNotFound: Function absent\(\) not found/)
})
