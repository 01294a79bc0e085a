import { readFile } from 'node:fs/promises'

import * as core from '@actions/core'
import { LambdaClient, type LambdaClientConfig } from '@aws-sdk/client-lambda'
import { S3Client } from '@aws-sdk/client-s3'

import { DESCRIPTION_MAX_LENGTH, LICENSE_INFO_MAX_LENGTH, PUBLISH_REQUEST_LIMIT_BYTES } from './lambda-limits.js'
import type { LayerZip } from './package.js'
import {
  describeAwsError,
  publishToRegion,
  type Architecture,
  type LayerPermission,
  type PublishLogger,
  type RegionJob,
  type RegionResult
} from './publish-region.js'
import { isThrottlingError, realSleep, retryWithBackoff, type Sleep } from './retry.js'

export { STATEMENT_ID_PREFIX, type Architecture, type LayerPermission, type PublishLogger, type RegionResult } from './publish-region.js'

export interface PublishOptions {
  /** The packaged layer. `hashZip` gives these fields for a zip built by an earlier job. */
  zip: Pick<LayerZip, 'zipPath' | 'sha256' | 'codeSha256' | 'zipBytes'>
  /** Final layer name for this architecture, templates already filled. */
  layerName: string
  architecture: Architecture
  regions: readonly string[]
  compatibleRuntimes: readonly string[]
  /** Truncated to Lambda's 256 characters at a word boundary when longer. */
  description: string
  /** At most 512 characters. */
  licenseInfo?: string
  permission: LayerPermission
  /** Bucket name template with `{region}`, required when the zip is too large for a direct upload. */
  s3Bucket?: string
  /** Object key for the S3 upload, `{layerName}/{sha256}.zip` by default. */
  s3Key?: string
  /** Regions published to at the same time. */
  maxParallelRegions: number
  /** Attempts per AWS call made by the SDK's standard retry mode. */
  maxAttempts: number
  /** Further attempts per call when the SDK gives up on throttling, 5 by default. */
  throttleMaxAttempts?: number
  /** First wait of those attempts in milliseconds (1000 by default), doubled each time up to 20 s. */
  throttleBaseDelayMs?: number
  /** Logs what would be published without calling AWS. */
  dryRun?: boolean
  /** Lambda endpoint URL to use instead of AWS's. `{region}` in it is replaced per Region. */
  lambdaEndpoint?: string
  /** S3 endpoint URL to use instead of AWS's, addressed path-style. `{region}` is replaced per Region. */
  s3Endpoint?: string
  /**
   * Credentials for tests and local endpoints. The action leaves this unset, so the SDK's
   * default provider chain supplies them (environment, web identity, profile, instance role).
   */
  credentials?: LambdaClientConfig['credentials']
  sleep?: Sleep
  random?: () => number
  logger?: PublishLogger
}

const DEFAULT_THROTTLE_MAX_ATTEMPTS = 5
const DEFAULT_THROTTLE_BASE_DELAY_MS = 1000
const THROTTLE_MAX_DELAY_MS = 20_000

// Room kept in the request body for everything but the base64 zip: layer settings serialize to
// well under 4 KiB (Description 256 and LicenseInfo 512 characters, at most 4 UTF-8 bytes each).
const REQUEST_OVERHEAD_BYTES = 4096

const coreLogger: PublishLogger = { info: (message) => core.info(message), warning: (message) => core.warning(message) }

/**
 * Publishes one architecture's layer zip to every Region, at most `maxParallelRegions` at a
 * time, and returns one result per Region in the order given. A Region that fails does not stop
 * the others, and its result carries the error. Rerunning publishes only where the newest version differs.
 * Throws before any AWS call when the options cannot work in any Region.
 */
export async function publishLayer(options: PublishOptions): Promise<RegionResult[]> {
  checkOptions(options)

  const logger = options.logger ?? coreLogger
  const description = truncateDescription(options.description)
  const upload = needsS3Upload(options.zip.zipBytes) ? { bucketTemplate: options.s3Bucket ?? '', key: options.s3Key ?? `${options.layerName}/${options.zip.sha256}.zip` } : undefined

  if (options.dryRun === true) {
    return options.regions.map((region) => describeDryRun(options, region, description, upload, logger))
  }

  const zipBytes = memoize(() => readFile(options.zip.zipPath))
  const clients: Array<{ destroy(): void }> = []

  try {
    return await mapWithConcurrency(options.regions, options.maxParallelRegions, (region) => {
      const lambda = new LambdaClient(clientConfig(options, region, options.lambdaEndpoint))
      clients.push(lambda)
      const s3 = memoize(() => {
        const client = new S3Client({ ...clientConfig(options, region, options.s3Endpoint), forcePathStyle: options.s3Endpoint !== undefined })
        clients.push(client)
        return client
      })

      const job: RegionJob = {
        region,
        architecture: options.architecture,
        layerName: options.layerName,
        codeSha256: options.zip.codeSha256,
        compatibleRuntimes: [...options.compatibleRuntimes],
        description,
        licenseInfo: options.licenseInfo,
        permission: options.permission,
        upload: upload === undefined ? undefined : { bucket: fillRegion(upload.bucketTemplate, region), key: upload.key },
        lambda,
        s3,
        zipBytes,
        call: (operation, send) => callWithThrottleRetries(options, logger, region, operation, send),
        logger
      }
      return publishToRegion(job)
    })
  } finally {
    for (const client of clients) {
      client.destroy()
    }
  }
}

/**
 * Shortens a description to Lambda's limit: cut at the last comma or space that keeps at least
 * half of the text, ending with an ellipsis. Never splits a UTF-16 surrogate pair.
 */
export function truncateDescription(text: string, maxLength = DESCRIPTION_MAX_LENGTH): string {
  if (text.length <= maxLength) {
    return text
  }

  let cut = maxLength - 1
  const boundary = Math.max(text.lastIndexOf(', ', cut), text.lastIndexOf(' ', cut))
  if (boundary >= maxLength / 2) {
    cut = boundary
  }
  if (isHighSurrogate(text.charCodeAt(cut - 1))) {
    cut -= 1
  }

  return `${text.slice(0, cut).replace(/[\s,]+$/, '')}…`
}

/** Tells whether a zip is too large to send inside the PublishLayerVersion request. */
export function needsS3Upload(zipBytes: number): boolean {
  const base64Bytes = 4 * Math.ceil(zipBytes / 3)
  return base64Bytes + REQUEST_OVERHEAD_BYTES >= PUBLISH_REQUEST_LIMIT_BYTES
}

function checkOptions(options: PublishOptions): void {
  if (options.licenseInfo !== undefined && options.licenseInfo.length > LICENSE_INFO_MAX_LENGTH) {
    throw new Error(
      `license info is ${options.licenseInfo.length} characters, over Lambda's limit of ${LICENSE_INFO_MAX_LENGTH}: ` +
        'use an SPDX identifier such as MIT or a URL to the license text'
    )
  }
  if (!Number.isInteger(options.maxParallelRegions) || options.maxParallelRegions < 1) {
    throw new Error(`max parallel regions must be a whole number of at least 1, got ${options.maxParallelRegions}`)
  }
  if (needsS3Upload(options.zip.zipBytes) && options.s3Bucket === undefined) {
    throw new Error(
      `layer zip ${options.zip.zipPath} is ${options.zip.zipBytes} bytes, too large for a direct upload to Lambda ` +
        `(50 MB zipped; the request must stay under ${PUBLISH_REQUEST_LIMIT_BYTES} bytes): ` +
        'set s3-bucket to a bucket name template with {region}, one bucket per Region'
    )
  }
  if (options.s3Bucket !== undefined && options.regions.length > 1 && !options.s3Bucket.includes('{region}')) {
    throw new Error(
      `s3-bucket "${options.s3Bucket}" has no {region} placeholder, but Lambda reads the zip only from a bucket ` +
        'in the Region it publishes to: add {region} to the bucket name'
    )
  }
}

function describeDryRun(
  options: PublishOptions,
  region: string,
  description: string,
  upload: { bucketTemplate: string; key: string } | undefined,
  logger: PublishLogger
): RegionResult {
  const source = upload === undefined ? 'direct upload' : `s3://${fillRegion(upload.bucketTemplate, region)}/${upload.key}`
  const access =
    options.permission.kind === 'public'
      ? 'public'
      : options.permission.kind === 'organization'
        ? `shared with organization ${options.permission.organizationId}`
        : 'private'

  logger.info(
    `${region}: dry run, would publish ${options.layerName} (${options.architecture}, ${options.zip.zipBytes} bytes, ` +
      `CodeSha256 ${options.zip.codeSha256}) via ${source}, ${access}, description "${description}", unless the newest version matches`
  )
  return { region, architecture: options.architecture, layerName: options.layerName, status: 'dry-run' }
}

interface ClientSettings {
  region: string
  maxAttempts: number
  retryMode: 'standard'
  endpoint?: string
  credentials?: LambdaClientConfig['credentials']
}

function clientConfig(options: PublishOptions, region: string, endpoint: string | undefined): ClientSettings {
  return {
    region,
    maxAttempts: options.maxAttempts,
    retryMode: 'standard',
    ...(endpoint === undefined ? {} : { endpoint: fillRegion(endpoint, region) }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials })
  }
}

async function callWithThrottleRetries<T>(
  options: PublishOptions,
  logger: PublishLogger,
  region: string,
  operation: string,
  send: () => Promise<T>
): Promise<T> {
  return retryWithBackoff(send, {
    maxAttempts: options.throttleMaxAttempts ?? DEFAULT_THROTTLE_MAX_ATTEMPTS,
    baseDelayMs: options.throttleBaseDelayMs ?? DEFAULT_THROTTLE_BASE_DELAY_MS,
    maxDelayMs: THROTTLE_MAX_DELAY_MS,
    sleep: options.sleep ?? realSleep,
    random: options.random,
    isRetryable: isThrottlingError,
    onRetry: ({ attempt, maxAttempts, delayMs, error }) => {
      logger.info(
        `${region}: ${operation} throttled (${describeAwsError(error)}), attempt ${attempt + 1} of ${maxAttempts} in ${(delayMs / 1000).toFixed(1)} s`
      )
    }
  })
}

/** Runs `work` on every item with at most `limit` running at once; results keep the input order. */
export async function mapWithConcurrency<Item, Result>(
  items: readonly Item[],
  limit: number,
  work: (item: Item) => Promise<Result>
): Promise<Result[]> {
  const results: Result[] = new Array<Result>(items.length)
  let next = 0

  const worker = async (): Promise<void> => {
    for (let index = next++; index < items.length; index = next++) {
      results[index] = await work(items[index] as Item)
    }
  }

  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

function fillRegion(template: string, region: string): string {
  return template.replaceAll('{region}', region)
}

function memoize<T>(create: () => T): () => T {
  let value: { current: T } | undefined
  return () => {
    value ??= { current: create() }
    return value.current
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff
}
