/** Time source for deadlines and timeouts, injectable so tests can fire timeouts without waiting. */
export interface Clock {
  /** Current time in Unix milliseconds. */
  now(): number
  /** Calls `callback` after `ms` milliseconds and returns a function that cancels the call. */
  setTimer(callback: () => void, ms: number): () => void
}

/** Wall clock and Node timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(callback, ms) {
    const timer = setTimeout(callback, ms)
    return () => clearTimeout(timer)
  }
}
