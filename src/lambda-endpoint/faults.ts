import { ApiError } from './api-error.js'

export type Service = 'lambda' | 's3'

/**
 * Error an injected fault returns:
 * - `throttle`: Lambda 429 TooManyRequestsException with Retry-After, S3 503 SlowDown;
 * - `service-error`: Lambda 500 ServiceException, S3 500 InternalError;
 * - `access-denied`: Lambda 403 AccessDeniedException, S3 403 AccessDenied;
 * - `invalid-token`: 403 UnrecognizedClientException (S3: InvalidAccessKeyId), the error for
 *   credentials the Region does not accept;
 * - `conflict`: Lambda 409 ResourceConflictException for an operation in progress (S3: 409
 *   OperationAborted).
 */
export type FaultKind = 'throttle' | 'service-error' | 'access-denied' | 'invalid-token' | 'conflict'

export interface FaultRule {
  kind: FaultKind
  /** Region the fault applies to, or every Region when omitted. */
  region?: string
  /** Service the fault applies to, or both when omitted. */
  service?: Service
  /** Operations the fault applies to, such as PublishLayerVersion or PutObject, or all when omitted. */
  operations?: string[]
  /** Number of matching requests to fail. Without it, every one fails until the rule is removed. */
  count?: number
  /**
   * Lets this many matching requests per second through in each Region and fails the rest,
   * counted in one-second windows of the endpoint's clock.
   */
  requestsPerSecond?: number
  /** Seconds sent as Retry-After with `throttle`, 1 by default. */
  retryAfterSeconds?: number
}

/** A request, as the fault injector matches it against rules. */
export interface FaultTarget {
  service: Service
  region: string
  operation: string
  /** The caller's account id, for the AccessDeniedException message. */
  accountId: string
}

interface ActiveRule {
  id: number
  rule: FaultRule
  remaining?: number
  /** Requests seen per Region in the current one-second window. */
  windows: Map<string, { second: number; requests: number }>
}

/** Fault rules that make the endpoint fail requests the way AWS does under load or misconfiguration. */
export class FaultInjector {
  private rules: ActiveRule[] = []
  private nextId = 1

  constructor(private readonly now: () => Date) {}

  /** Adds a rule and returns a function that removes it. */
  add(rule: FaultRule): () => void {
    const id = this.nextId++
    this.rules.push({ id, rule, remaining: rule.count, windows: new Map() })
    return () => {
      this.rules = this.rules.filter((active) => active.id !== id)
    }
  }

  /** Throttles matching requests; a shorthand for `add({ kind: 'throttle', ... })`. */
  throttle(rule: Omit<FaultRule, 'kind'> = {}): () => void {
    return this.add({ ...rule, kind: 'throttle' })
  }

  /** Fails every request to a Region until the returned function or `clear` removes the rule. */
  failRegion(region: string, kind: Exclude<FaultKind, 'throttle'> = 'service-error'): () => void {
    return this.add({ kind, region })
  }

  /** Removes every rule, or only the rules for one Region. */
  clear(region?: string): void {
    this.rules = region === undefined ? [] : this.rules.filter((active) => active.rule.region !== region)
  }

  /** Returns the error for a request that a rule fails, counting the request against the rule. */
  check(target: FaultTarget): ApiError | undefined {
    for (const active of this.rules) {
      if (!matches(active.rule, target) || this.withinRate(active, target.region)) {
        continue
      }
      if (active.remaining !== undefined) {
        if (active.remaining <= 0) {
          continue
        }
        active.remaining -= 1
      }
      return faultError(active.rule, target)
    }
    return undefined
  }

  private withinRate(active: ActiveRule, region: string): boolean {
    const limit = active.rule.requestsPerSecond
    if (limit === undefined) {
      return false
    }

    const second = Math.floor(this.now().getTime() / 1000)
    const window = active.windows.get(region)
    const current = window === undefined || window.second !== second ? { second, requests: 0 } : window
    current.requests += 1
    active.windows.set(region, current)

    return current.requests <= limit
  }
}

function matches(rule: FaultRule, target: FaultTarget): boolean {
  return (
    (rule.region === undefined || rule.region === target.region) &&
    (rule.service === undefined || rule.service === target.service) &&
    (rule.operations === undefined || rule.operations.includes(target.operation))
  )
}

function faultError(rule: FaultRule, target: FaultTarget): ApiError {
  const lambda = target.service === 'lambda'

  switch (rule.kind) {
    case 'throttle': {
      if (!lambda) {
        return new ApiError(503, 'SlowDown', 'Please reduce your request rate.')
      }
      const retryAfter = String(rule.retryAfterSeconds ?? 1)
      return new ApiError(429, 'TooManyRequestsException', 'Rate exceeded', { Reason: 'CallerRateLimitExceeded' }, { 'Retry-After': retryAfter })
    }
    case 'service-error':
      return lambda
        ? new ApiError(500, 'ServiceException', `Lambda encountered an internal error in ${target.region} (injected fault).`)
        : new ApiError(500, 'InternalError', 'We encountered an internal error. Please try again.')
    case 'access-denied':
      return lambda
        ? new ApiError(
            403,
            'AccessDeniedException',
            `User: arn:aws:iam::${target.accountId}:root is not authorized to perform: lambda:${target.operation} in ${target.region} (injected fault)`
          )
        : new ApiError(403, 'AccessDenied', 'Access Denied')
    case 'invalid-token':
      return lambda
        ? new ApiError(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.')
        : new ApiError(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.')
    case 'conflict':
      return lambda
        ? new ApiError(409, 'ResourceConflictException', `An update is in progress for the resource in ${target.region} (injected fault).`)
        : new ApiError(409, 'OperationAborted', 'A conflicting conditional operation is currently in progress against this resource. Please try again.')
  }
}
