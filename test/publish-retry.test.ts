import { TooManyRequestsException } from '@aws-sdk/client-lambda'

import { PUBLISH_REQUEST_LIMIT_BYTES } from '../src/lambda-limits.js'
import { mapWithConcurrency, needsS3Upload, truncateDescription } from '../src/publish.js'
import { backoffDelayMs, isThrottlingError, retryAfterMs, retryWithBackoff, type RetryEvent } from '../src/retry.js'

function throttled(retryAfterSeconds?: string): TooManyRequestsException {
  return new TooManyRequestsException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 }, retryAfterSeconds })
}

describe('retryWithBackoff', () => {
  it('retries until the operation succeeds', async () => {
    const sleeps: number[] = []
    const events: RetryEvent[] = []
    let calls = 0

    const result = await retryWithBackoff(
      async (attempt) => {
        calls += 1
        if (attempt < 3) {
          throw throttled()
        }
        return 'done'
      },
      {
        maxAttempts: 5,
        baseDelayMs: 1000,
        maxDelayMs: 20_000,
        random: () => 0,
        sleep: async (milliseconds) => {
          sleeps.push(milliseconds)
        },
        isRetryable: isThrottlingError,
        onRetry: (event) => events.push(event)
      }
    )

    expect(result).toBe('done')
    expect(calls).toBe(3)
    expect(sleeps).toEqual([500, 1000])
    expect(events.map((event) => [event.attempt, event.maxAttempts, event.delayMs])).toEqual([
      [1, 5, 500],
      [2, 5, 1000]
    ])
  })

  it('throws the last error after maxAttempts', async () => {
    let calls = 0
    const failing = retryWithBackoff(
      async () => {
        calls += 1
        throw throttled()
      },
      { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 100, sleep: async () => undefined, isRetryable: isThrottlingError }
    )

    await expect(failing).rejects.toThrow('Rate exceeded')
    expect(calls).toBe(3)
  })

  it('does not retry other errors', async () => {
    let calls = 0
    const failing = retryWithBackoff(
      async () => {
        calls += 1
        throw new Error('AccessDeniedException')
      },
      { maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 100, sleep: async () => undefined, isRetryable: isThrottlingError }
    )

    await expect(failing).rejects.toThrow('AccessDeniedException')
    expect(calls).toBe(1)
  })
})

describe('backoffDelayMs', () => {
  it('doubles and caps the delay', () => {
    const options = { baseDelayMs: 1000, maxDelayMs: 5000, random: () => 1 }

    expect([1, 2, 3, 4, 5].map((attempt) => backoffDelayMs(attempt, options))).toEqual([1000, 2000, 4000, 5000, 5000])
  })

  it('keeps at least half the delay with jitter', () => {
    expect(backoffDelayMs(3, { baseDelayMs: 1000, maxDelayMs: 20_000, random: () => 0 })).toBe(2000)
  })

  it('waits at least the Retry-After', () => {
    expect(backoffDelayMs(1, { baseDelayMs: 100, maxDelayMs: 20_000, random: () => 0 }, 7000)).toBe(7000)
  })
})

describe('isThrottlingError', () => {
  it('recognizes throttling errors', () => {
    expect(isThrottlingError(throttled())).toBe(true)
    expect(isThrottlingError(Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown' }))).toBe(true)
    expect(isThrottlingError({ name: 'Whatever', $metadata: { httpStatusCode: 429 } })).toBe(true)
  })

  it('ignores other errors', () => {
    expect(isThrottlingError(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }))).toBe(false)
    expect(isThrottlingError('TooManyRequestsException')).toBe(false)
    expect(isThrottlingError(undefined)).toBe(false)
  })
})

describe('retryAfterMs', () => {
  it('reads retryAfterSeconds', () => {
    expect(retryAfterMs(throttled('3'))).toBe(3000)
    expect(retryAfterMs(throttled('0.5'))).toBe(500)
  })

  it('ignores a missing or invalid value', () => {
    expect(retryAfterMs(throttled())).toBeUndefined()
    expect(retryAfterMs(throttled('soon'))).toBeUndefined()
    expect(retryAfterMs(null)).toBeUndefined()
  })
})

describe('truncateDescription', () => {
  it('keeps a short description', () => {
    expect(truncateDescription('PHP 8.4.3: intl, opcache')).toBe('PHP 8.4.3: intl, opcache')
  })

  it('cuts a long list at a comma', () => {
    const extensions = Array.from({ length: 60 }, (_, index) => `extension${index}`).join(', ')
    const truncated = truncateDescription(`PHP 8.4.3 (x86_64): ${extensions}`)

    expect(truncated.length).toBeLessThanOrEqual(256)
    expect(truncated).toMatch(/^PHP 8\.4\.3 \(x86_64\): extension0, .*extension\d+…$/)
  })

  it('cuts text without spaces at the limit', () => {
    const truncated = truncateDescription('x'.repeat(300))

    expect(truncated).toBe(`${'x'.repeat(255)}…`)
  })

  it('does not split a surrogate pair', () => {
    const truncated = truncateDescription(`${'x'.repeat(254)}🐘🐘🐘`)

    expect(truncated).toBe(`${'x'.repeat(254)}…`)
  })
})

describe('needsS3Upload', () => {
  it('sends zips up to about 50 MB directly', () => {
    expect(needsS3Upload(1024)).toBe(false)
    expect(needsS3Upload(52_000_000)).toBe(false)
  })

  it('sends a zip through S3 once its request would reach the limit', () => {
    const largestDirect = Math.floor(((PUBLISH_REQUEST_LIMIT_BYTES - 4096 - 1) / 4) * 3)

    expect(needsS3Upload(largestDirect - 3)).toBe(false)
    expect(needsS3Upload(largestDirect + 3)).toBe(true)
    expect(needsS3Upload(52_428_800)).toBe(true)
  })
})

describe('mapWithConcurrency', () => {
  it('keeps the input order and the limit', async () => {
    let running = 0
    let maxRunning = 0

    const results = await mapWithConcurrency([5, 1, 4, 2, 3], 2, async (item) => {
      running += 1
      maxRunning = Math.max(maxRunning, running)
      await new Promise((resolve) => setImmediate(resolve))
      running -= 1
      return item * 10
    })

    expect(results).toEqual([50, 10, 40, 20, 30])
    expect(maxRunning).toBe(2)
  })

  it('handles an empty list', async () => {
    expect(await mapWithConcurrency([], 4, async () => 1)).toEqual([])
  })
})
