import { join } from 'node:path'

import { actionRoot } from './paths.js'

/** _HANDLER of the smoke handler: function handler() in smoke.php. */
export const SMOKE_HANDLER = 'smoke.handler'

/** File name the smoke handler gets in the task root, matching SMOKE_HANDLER. */
export const SMOKE_HANDLER_FILE = 'smoke.php'

/** Message of the exception that the smoke handler throws on the failing invocation. */
export const SMOKE_FAILURE_MESSAGE = 'Smoke test: requested failure'

/** Extensions every layer is checked for: json is part of PHP's core since PHP 8.0. */
const ALWAYS_CHECKED = ['json']

/** Returns the path of the smoke handler shipped with the action (examples/handlers/smoke.php). */
export function defaultSmokeHandler(): string {
  return join(actionRoot(), 'examples', 'handlers', SMOKE_HANDLER_FILE)
}

/** One check of the smoke test and what it found. */
export interface SmokeCheck {
  name: string
  ok: boolean
  detail: string
}

/** Report that the smoke handler returns for an `{"extensions": [...]}` event. */
export interface SmokeReport {
  phpVersion: string
  /** Number of invocations this PHP process has handled, this one included. */
  invocation: number
  pid: number
  loadedExtensions: string[]
  checks: Record<string, { ok: boolean; detail: string }>
}

/** End of an invocation, in the form both the native and the docker smoke test use. */
export interface SmokeInvocation {
  outcome: 'response' | 'error' | 'timeout' | 'exit'
  /** Response or error body. */
  body: string
  errorType?: string
  durationMs: number
}

/** Returns the extensions to check: the requested ones plus json, without duplicates, in order. */
export function extensionsToCheck(requested: readonly string[]): string[] {
  return [...new Set([...requested, ...ALWAYS_CHECKED])]
}

/**
 * Returns true when `actual` is the expected version: equal to an exact version (8.2.32), or
 * a release of an expected minor version (8.2 accepts 8.2.x).
 */
export function phpVersionMatches(actual: string, expected: string): boolean {
  if (/^[0-9]+\.[0-9]+$/.test(expected)) {
    return actual.startsWith(`${expected}.`)
  }

  return actual === expected
}

/**
 * Checks the first invocation: it must return a smoke report whose PHP version matches and
 * whose check passed for every extension. Returns the report when the body is one.
 */
export function checkFirstInvocation(
  invocation: SmokeInvocation,
  expected: { phpVersion: string; extensions: readonly string[] }
): { checks: SmokeCheck[]; report?: SmokeReport } {
  const report = parseReport(invocation)
  if (report instanceof Error) {
    return { checks: [{ name: 'first invocation', ok: false, detail: report.message }] }
  }

  const checks: SmokeCheck[] = [
    { name: 'first invocation', ok: true, detail: `response in ${invocation.durationMs} ms (PHP process ${report.pid})` },
    {
      name: 'PHP version',
      ok: phpVersionMatches(report.phpVersion, expected.phpVersion),
      detail: `${report.phpVersion} (expected ${expected.phpVersion})`
    }
  ]

  for (const extension of expected.extensions) {
    const result = report.checks[extension]
    checks.push({
      name: `extension ${extension}`,
      ok: result?.ok === true,
      detail: result?.detail ?? 'no result in the smoke handler response'
    })
  }

  return { checks, report }
}

/**
 * Checks the failing invocation: the handler throws a RuntimeException, and the runtime must
 * report it as an invocation error with that type and message.
 */
export function checkErrorInvocation(invocation: SmokeInvocation): SmokeCheck {
  const name = 'error path'
  if (invocation.outcome !== 'error') {
    return { name, ok: false, detail: `expected an invocation error, got ${describeOutcome(invocation)}` }
  }

  let error: { errorType?: unknown; errorMessage?: unknown }
  try {
    error = JSON.parse(invocation.body) as typeof error
  } catch {
    return { name, ok: false, detail: `the error body is not JSON: ${excerpt(invocation.body)}` }
  }

  if (error.errorType !== 'RuntimeException' || error.errorMessage !== SMOKE_FAILURE_MESSAGE) {
    return {
      name,
      ok: false,
      detail: `expected RuntimeException "${SMOKE_FAILURE_MESSAGE}", got ${String(error.errorType)} "${String(error.errorMessage)}"`
    }
  }

  return { name, ok: true, detail: `RuntimeException reported in ${invocation.durationMs} ms` }
}

/**
 * Checks the invocation after the failing one: the same PHP process must respond (a handler
 * exception ends only its invocation), its state kept, and every extension check that passed
 * on the first invocation must pass again.
 * `invocationsBetween` is the number of invocations since the first one, the failing one included.
 */
export function checkWarmInvocation(invocation: SmokeInvocation, first: SmokeReport, invocationsBetween: number): SmokeCheck {
  const name = 'warm invocation'
  const report = parseReport(invocation)
  if (report instanceof Error) {
    return { name, ok: false, detail: report.message }
  }

  const expectedCount = first.invocation + invocationsBetween
  if (report.pid !== first.pid || report.invocation !== expectedCount) {
    return {
      name,
      ok: false,
      detail: `expected PHP process ${first.pid} at invocation ${expectedCount}, got process ${report.pid} at invocation ${report.invocation}: the runtime restarted PHP`
    }
  }

  // Checks that already failed on the first invocation are reported there.
  const failing = Object.entries(report.checks).filter(([extension, result]) => !result.ok && first.checks[extension]?.ok === true)
  if (failing.length > 0) {
    return { name, ok: false, detail: `checks failed on the warm invocation: ${failing.map(([extension, result]) => `${extension} (${result.detail})`).join(', ')}` }
  }

  return { name, ok: true, detail: `same PHP process ${report.pid}, invocation ${report.invocation}, response in ${invocation.durationMs} ms` }
}

/** Formats checks as log lines, one per check. */
export function formatChecks(checks: readonly SmokeCheck[]): string[] {
  return checks.map((check) => `${check.ok ? 'ok  ' : 'FAIL'} ${check.name}: ${check.detail}`)
}

/** Error thrown when a smoke test check fails. Its message names every failed check. */
export class SmokeTestError extends Error {
  readonly failed: SmokeCheck[]

  constructor(layerDir: string, readonly checks: readonly SmokeCheck[]) {
    const failed = checks.filter((check) => !check.ok)
    super(`Smoke test of the layer in ${layerDir} failed ${failed.length} check(s): ${failed.map((check) => `${check.name} (${check.detail})`).join('; ')}`)
    this.name = 'SmokeTestError'
    this.failed = failed
  }
}

function parseReport(invocation: SmokeInvocation): SmokeReport | Error {
  if (invocation.outcome !== 'response') {
    return new Error(`expected a response, got ${describeOutcome(invocation)}`)
  }

  let value: unknown
  try {
    value = JSON.parse(invocation.body)
  } catch {
    return new Error(`the response is not JSON: ${excerpt(invocation.body)}`)
  }

  const report = value as Partial<SmokeReport> | null
  if (
    report === null ||
    typeof report !== 'object' ||
    typeof report.phpVersion !== 'string' ||
    typeof report.invocation !== 'number' ||
    typeof report.pid !== 'number' ||
    typeof report.checks !== 'object' ||
    report.checks === null
  ) {
    return new Error(`the response is not a smoke handler report: ${excerpt(invocation.body)}`)
  }

  // PHP encodes an empty array as [], so no checks arrive as a list.
  const checks = Array.isArray(report.checks) ? {} : report.checks
  return { loadedExtensions: [], ...report, checks } as SmokeReport
}

function describeOutcome(invocation: SmokeInvocation): string {
  const type = invocation.errorType === undefined ? '' : ` ${invocation.errorType}`
  return `${invocation.outcome}${type}: ${excerpt(invocation.body)}`
}

function excerpt(text: string): string {
  const limit = 500
  return text.length > limit ? `${text.slice(0, limit)}... (${text.length} characters)` : text
}

/** Sends one event to the function under test and reports how the invocation ended. */
export type SmokeInvoker = (event: unknown) => Promise<SmokeInvocation>

/** Results and durations of the three smoke invocations. */
export interface SmokeSequence {
  checks: SmokeCheck[]
  report?: SmokeReport
  durationsMs: { firstInvocation?: number; errorInvocation?: number; warmInvocation?: number }
}

/**
 * Runs the smoke handler three times: a first (cold) invocation that checks the PHP version
 * and every extension, a failing one for the error path, then a warm one that must reach the
 * same PHP process. Stops after the first invocation when it returned no report.
 */
export async function runSmokeSequence(
  invoke: SmokeInvoker,
  expected: { phpVersion: string; extensions: readonly string[] }
): Promise<SmokeSequence> {
  const durationsMs: SmokeSequence['durationsMs'] = {}

  const first = await invoke({ extensions: expected.extensions })
  durationsMs.firstInvocation = first.durationMs
  const { checks, report } = checkFirstInvocation(first, expected)
  if (report === undefined) {
    return { checks, durationsMs }
  }

  const failing = await invoke({ fail: SMOKE_FAILURE_MESSAGE })
  durationsMs.errorInvocation = failing.durationMs
  checks.push(checkErrorInvocation(failing))

  const warm = await invoke({ extensions: expected.extensions })
  durationsMs.warmInvocation = warm.durationMs
  checks.push(checkWarmInvocation(warm, report, 2))

  return { checks, report, durationsMs }
}

/**
 * Returns the messages PHP printed while starting up ("PHP Warning:  PHP Startup: ..."), each
 * once. bootstrap starts PHP again after a fatal error, which repeats them.
 */
export function startupMessages(runtimeOutput: string): string[] {
  const lines = runtimeOutput.split('\n').filter((line) => line.includes('PHP Startup: '))
  return [...new Set(lines.map((line) => line.trim()))]
}
