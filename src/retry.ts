/** Waits for a number of milliseconds. Tests pass one that returns at once. */
export type Sleep = (milliseconds: number) => Promise<void>

export const realSleep: Sleep = (milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds))

/** A retry about to happen, passed to `onRetry` for logging. */
export interface RetryEvent {
  /** The attempt that failed, from 1. */
  attempt: number
  maxAttempts: number
  delayMs: number
  error: unknown
}

export interface BackoffOptions {
  /** Attempts in total, the first one included. */
  maxAttempts: number
  /** Delay before the second attempt, doubled for each later one. */
  baseDelayMs: number
  maxDelayMs: number
  sleep: Sleep
  /** Source of numbers in [0, 1) for jitter, Math.random by default. */
  random?: () => number
  isRetryable: (error: unknown) => boolean
  onRetry?: (event: RetryEvent) => void
}

// Error names the AWS SDKs treat as throttling, plus S3's SlowDown (HTTP 503).
const THROTTLING_ERROR_NAMES = new Set([
  'TooManyRequestsException',
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'RequestLimitExceeded',
  'SlowDown'
])

/**
 * Runs an operation until it succeeds, it fails with an error `isRetryable` rejects, or
 * `maxAttempts` attempts have failed, and then throws the last error. Between attempts it waits
 * with exponential backoff and jitter, and at least as long as a throttling error's Retry-After.
 */
export async function retryWithBackoff<T>(operation: (attempt: number) => Promise<T>, options: BackoffOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt)
    } catch (error) {
      if (attempt >= options.maxAttempts || !options.isRetryable(error)) {
        throw error
      }

      const delayMs = backoffDelayMs(attempt, options, retryAfterMs(error))
      options.onRetry?.({ attempt, maxAttempts: options.maxAttempts, delayMs, error })
      await options.sleep(delayMs)
    }
  }
}

/**
 * Returns the wait after a failed attempt: half of the exponential delay plus a random share of
 * the other half (capped at `maxDelayMs`), but never less than the service's Retry-After.
 */
export function backoffDelayMs(
  attempt: number,
  options: Pick<BackoffOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'>,
  retryAfter?: number
): number {
  const random = options.random ?? Math.random
  const exponential = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1))
  const jittered = Math.round(exponential / 2 + (random() * exponential) / 2)

  return Math.max(jittered, retryAfter ?? 0)
}

/** Tells whether an AWS SDK error means the request was throttled. */
export function isThrottlingError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) {
    return false
  }

  const { name, $metadata } = error as { name?: unknown; $metadata?: { httpStatusCode?: number } }
  return $metadata?.httpStatusCode === 429 || (typeof name === 'string' && THROTTLING_ERROR_NAMES.has(name))
}

/**
 * Returns the wait a throttling error requests, in milliseconds. Lambda's
 * TooManyRequestsException carries the Retry-After header as `retryAfterSeconds`.
 */
export function retryAfterMs(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) {
    return undefined
  }

  const seconds = Number((error as { retryAfterSeconds?: unknown }).retryAfterSeconds)
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined
}
