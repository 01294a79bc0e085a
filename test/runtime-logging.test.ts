// Log records of handlers and of the runtime: one line per call with the request id, JSON
// with AWS_LAMBDA_LOG_FORMAT=JSON, filtered by AWS_LAMBDA_LOG_LEVEL.

import { afterEach, describe, expect, test } from '@jest/globals'

import { RuntimeApiEmulator } from '../src/emulator/index.js'
import { expectOutcome, killRawRuntimes, spawnRawRuntime, startRuntime, stopAllRuntimes, waitUntil, type RawRuntime } from './runtime-support.js'

afterEach(async () => {
  killRawRuntimes()
  await stopAllRuntimes()
})

const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

/** Returns the raw stdout lines once `count` have arrived. */
async function rawLines(raw: RawRuntime, count: number): Promise<string[]> {
  const lines = (): string[] => raw.stdout().toString('utf8').split('\n').filter((line) => line !== '')
  await waitUntil(() => lines().length >= count, `${count} stdout lines`)

  return lines()
}

/** Parses every stdout line of a JSON-format runtime as a JSON object. */
function jsonRecords(output: string): Record<string, unknown>[] {
  return output.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>)
}

describe('text format', () => {
  test('records carry the request id', async () => {
    const { invoke, runtime } = await startRuntime('functions.log_lines')

    const result = await invoke({})

    expect(expectOutcome(result, 'response')).toBe('logged')
    await runtime.waitForLine('error record')
    const records = runtime.lines.filter((line) => line.text.includes(`\t${result.requestId}\t`)).map((line) => line.text.split('\t').slice(2).join('\t'))
    expect(records).toEqual([
      'DEBUG\tdebug record',
      'INFO\tfirst line',
      'WARN\twarn record',
      'ERROR\terror record'
    ])
    expect(runtime.lines.find((line) => line.text.startsWith('second line'))?.text).toBe('second line {"orderId":42}')
  })

  test('multi-line message is one record', async () => {
    const emulator = new RuntimeApiEmulator({ timeoutMs: 10_000 })
    await emulator.start()
    const raw = spawnRawRuntime(emulator, 'functions.log_lines')

    try {
      const result = await emulator.invoke({})
      expect(result.outcome).toBe('response')

      const lines = await rawLines(raw, 4)
      expect(lines).toHaveLength(4)
      expect(lines.every((line) => line.split('\t')[1] === result.requestId)).toBe(true)
      expect(lines[1]).toMatch(/\tINFO\tfirst line\rsecond line \{"orderId":42\}$/)
    } finally {
      await emulator.stop()
    }
  })

  test('invocation error is one record', async () => {
    const emulator = new RuntimeApiEmulator({ timeoutMs: 10_000 })
    await emulator.start()
    const raw = spawnRawRuntime(emulator, 'functions.throw_error')

    try {
      const result = await emulator.invoke({ message: 'two\nlines' })

      const lines = await rawLines(raw, 1)
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(new RegExp(`^\\S+\\t${result.requestId}\\tERROR\\tInvoke Error: DomainException: two\\rlines\\rthrown in .*functions\\.php on line \\d+\\r#0 `))
    } finally {
      await emulator.stop()
    }
  })
})

describe('JSON format', () => {
  test('records have level, timestamp, request and tenant id', async () => {
    const { invoke, runtime } = await startRuntime('functions.log_lines', { env: { AWS_LAMBDA_LOG_FORMAT: 'JSON' } })

    const result = await invoke({}, { tenantId: 'tenant-3' })

    expect(result.outcome).toBe('response')
    await runtime.waitForLine('error record')
    const records = jsonRecords(runtime.output('stdout'))
    expect(records.map((record) => [record.level, record.message])).toEqual([
      ['DEBUG', 'debug record'],
      ['INFO', 'first line\nsecond line'],
      ['WARN', 'warn record'],
      ['ERROR', 'error record']
    ])
    for (const record of records) {
      expect(record.timestamp).toMatch(TIMESTAMP)
      expect(record.requestId).toBe(result.requestId)
      expect(record.tenantId).toBe('tenant-3')
    }
    expect(records[1]!.orderId).toBe(42)
  })

  test('invocation error record', async () => {
    const { invoke, runtime } = await startRuntime('functions.throw_error', { env: { AWS_LAMBDA_LOG_FORMAT: 'JSON' } })

    const result = await invoke({ message: 'broken order' })
    await runtime.waitForLine('Invoke Error')

    const [record] = jsonRecords(runtime.output('stdout'))
    expect(record).toMatchObject({
      level: 'ERROR',
      requestId: result.requestId,
      message: 'Invoke Error: DomainException: broken order',
      errorType: 'DomainException',
      errorMessage: 'broken order'
    })
    expect(record!.stackTrace).toEqual(expect.arrayContaining([expect.stringMatching(/^thrown in .*functions\.php/)]))
  })

  test('PHP warnings are JSON records', async () => {
    const { invoke, runtime } = await startRuntime('functions.warning', { env: { AWS_LAMBDA_LOG_FORMAT: 'JSON' } })

    const result = await invoke({})
    await runtime.waitForLine('PHP Warning')

    const [record] = jsonRecords(runtime.output('stdout'))
    expect(record).toMatchObject({ level: 'WARN', requestId: result.requestId })
    expect(record!.message).toMatch(/^PHP Warning: Undefined array key "undefined key" in /)
  })
})

describe('log level', () => {
  test('AWS_LAMBDA_LOG_LEVEL drops lower levels', async () => {
    const { invoke, runtime } = await startRuntime('functions.log_lines', {
      env: { AWS_LAMBDA_LOG_FORMAT: 'JSON', AWS_LAMBDA_LOG_LEVEL: 'WARN' }
    })

    await invoke({})
    await runtime.waitForLine('error record')

    expect(jsonRecords(runtime.output('stdout')).map((record) => record.level)).toEqual(['WARN', 'ERROR'])
  })

  test('filter applies to text format too', async () => {
    const { invoke, runtime } = await startRuntime('functions.log_lines', { env: { AWS_LAMBDA_LOG_LEVEL: 'error' } })

    const result = await invoke({})
    await runtime.waitForLine('error record')

    const records = runtime.lines.filter((line) => line.text.includes(`\t${result.requestId}\t`))
    expect(records.map((line) => line.text.split('\t')[2])).toEqual(['ERROR'])
  })
})
