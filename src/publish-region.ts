import {
  AddLayerVersionPermissionCommand,
  GetLayerVersionCommand,
  GetLayerVersionPolicyCommand,
  ListLayerVersionsCommand,
  PublishLayerVersionCommand,
  RemoveLayerVersionPermissionCommand,
  type GetLayerVersionCommandOutput,
  type LambdaClient,
  type PublishLayerVersionCommandInput
} from '@aws-sdk/client-lambda'
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'

import { errorMessage } from './errors.js'

export type Architecture = 'x86_64' | 'arm64'

/** Accounts allowed to use the published layer version through `lambda:GetLayerVersion`. */
export type LayerPermission = { kind: 'public' } | { kind: 'organization'; organizationId: string } | { kind: 'private' }

/** Outcome of publishing to one Region. */
export interface RegionResult {
  region: string
  architecture: Architecture
  layerName: string
  /** `reused` means the newest version already had this CodeSha256, and `dry-run` that nothing was called. */
  status: 'new' | 'reused' | 'failed' | 'dry-run'
  layerArn?: string
  layerVersionArn?: string
  version?: number
  /** Why the Region failed: the step, the AWS error name and its message. */
  error?: string
}

export interface PublishLogger {
  info(message: string): void
  warning(message: string): void
}

/** Everything a Region's publish needs, prepared once for all Regions. */
export interface RegionJob {
  region: string
  architecture: Architecture
  layerName: string
  codeSha256: string
  compatibleRuntimes: string[]
  description: string
  licenseInfo?: string
  permission: LayerPermission
  /** Set when the zip goes through S3: the bucket for this Region and the object key. */
  upload?: { bucket: string; key: string }
  lambda: LambdaClient
  s3: () => S3Client
  /** Reads the zip once and shares it between Regions. */
  zipBytes: () => Promise<Buffer>
  /** Sends one AWS call with this module's throttling retries. */
  call: <T>(operation: string, send: () => Promise<T>) => Promise<T>
  logger: PublishLogger
}

/** Prefix of the statement ids this action owns. Statements with it are rewritten to match the config. */
export const STATEMENT_ID_PREFIX = 'runtime-layer-action-'
const GET_LAYER_VERSION = 'lambda:GetLayerVersion'

/** Thrown by a step so the Region's result names the call that failed. */
class StepError extends Error {
  constructor(step: string, cause: unknown) {
    super(`${step} failed: ${describeAwsError(cause)}`)
    this.name = 'StepError'
  }
}

/**
 * Publishes the layer to one Region: reuses the newest version for this architecture when its
 * CodeSha256 and settings match, else publishes a new version (directly or from S3), then
 * applies the permission. Never throws: a failure becomes a `failed` result.
 */
export async function publishToRegion(job: RegionJob): Promise<RegionResult> {
  const result: RegionResult = { region: job.region, architecture: job.architecture, layerName: job.layerName, status: 'failed' }

  try {
    const reusable = await findReusableVersion(job)
    const published = reusable ?? (await publishVersion(job))

    result.status = reusable === undefined ? 'new' : 'reused'
    result.layerArn = published.LayerArn
    result.layerVersionArn = published.LayerVersionArn
    result.version = published.Version

    job.logger.info(
      result.status === 'new'
        ? `${job.region}: published ${result.layerVersionArn}`
        : `${job.region}: reusing ${result.layerVersionArn}, which has the same CodeSha256 and settings`
    )

    await applyPermission(job, published.Version ?? 0, result.status === 'reused')
  } catch (error) {
    result.status = 'failed'
    result.error = errorMessage(error)
    job.logger.warning(`${job.region}: ${result.error}`)
  }

  return result
}

async function findReusableVersion(job: RegionJob): Promise<GetLayerVersionCommandOutput | undefined> {
  const listed = await step('ListLayerVersions', () =>
    job.call('ListLayerVersions', () =>
      job.lambda.send(new ListLayerVersionsCommand({ LayerName: job.layerName, CompatibleArchitecture: job.architecture, MaxItems: 1 }))
    )
  )

  const newest = listed.LayerVersions?.[0]
  if (newest?.Version === undefined) {
    return undefined
  }

  const version = await step('GetLayerVersion', () =>
    job.call('GetLayerVersion', () => job.lambda.send(new GetLayerVersionCommand({ LayerName: job.layerName, VersionNumber: newest.Version })))
  )

  const difference = describeDifference(job, version)
  if (difference !== undefined) {
    job.logger.info(`${job.region}: publishing a new version because version ${newest.Version} has ${difference}`)
    return undefined
  }
  return version
}

function describeDifference(job: RegionJob, version: GetLayerVersionCommandOutput): string | undefined {
  if (version.Content?.CodeSha256 !== job.codeSha256) {
    return `CodeSha256 ${version.Content?.CodeSha256 ?? '(none)'}, not ${job.codeSha256}`
  }
  if (!sameSet(version.CompatibleRuntimes ?? [], job.compatibleRuntimes)) {
    return `CompatibleRuntimes ${JSON.stringify(version.CompatibleRuntimes ?? [])}, not ${JSON.stringify(job.compatibleRuntimes)}`
  }
  if (!sameSet(version.CompatibleArchitectures ?? [], [job.architecture])) {
    return `CompatibleArchitectures ${JSON.stringify(version.CompatibleArchitectures ?? [])}, not ["${job.architecture}"]`
  }
  if ((version.Description ?? '') !== job.description) {
    return 'another Description'
  }
  if ((version.LicenseInfo ?? '') !== (job.licenseInfo ?? '')) {
    return 'another LicenseInfo'
  }
  return undefined
}

async function publishVersion(job: RegionJob): Promise<GetLayerVersionCommandOutput> {
  const content = job.upload === undefined ? { ZipFile: await job.zipBytes() } : await uploadToS3(job, job.upload)

  const input: PublishLayerVersionCommandInput = {
    LayerName: job.layerName,
    Content: content,
    CompatibleRuntimes: job.compatibleRuntimes as PublishLayerVersionCommandInput['CompatibleRuntimes'],
    CompatibleArchitectures: [job.architecture],
    Description: job.description,
    LicenseInfo: job.licenseInfo
  }
  const published = await step('PublishLayerVersion', () =>
    job.call('PublishLayerVersion', () => job.lambda.send(new PublishLayerVersionCommand(input)))
  )

  // The zip may have changed between packaging and upload, and Lambda's digest is what users get.
  if (published.Content?.CodeSha256 !== job.codeSha256) {
    throw new Error(
      `PublishLayerVersion returned CodeSha256 ${published.Content?.CodeSha256 ?? '(none)'} for ${published.LayerVersionArn ?? 'the new version'}, ` +
        `expected ${job.codeSha256}: the uploaded zip differs from the packaged one`
    )
  }
  return published
}

async function uploadToS3(job: RegionJob, upload: { bucket: string; key: string }): Promise<{ S3Bucket: string; S3Key: string }> {
  const body = await job.zipBytes()
  await step(`PutObject s3://${upload.bucket}/${upload.key}`, () =>
    job.call('PutObject', () => job.s3().send(new PutObjectCommand({ Bucket: upload.bucket, Key: upload.key, Body: body })))
  )

  return { S3Bucket: upload.bucket, S3Key: upload.key }
}

/**
 * Adds this action's statement for the configured permission ("already exists" counts as done)
 * and, on a reused version, removes statements this action added under an earlier setting, so
 * switching from public to an organization really narrows access.
 */
async function applyPermission(job: RegionJob, version: number, reused: boolean): Promise<void> {
  const statement = statementFor(job.permission)

  if (statement !== undefined) {
    await addStatement(job, version, statement)
  }
  if (reused) {
    await removeStaleStatements(job, version, statement?.statementId)
  }
}

function statementFor(permission: LayerPermission): { statementId: string; organizationId?: string } | undefined {
  switch (permission.kind) {
    case 'public':
      return { statementId: `${STATEMENT_ID_PREFIX}public` }
    case 'organization':
      return { statementId: `${STATEMENT_ID_PREFIX}${permission.organizationId}`, organizationId: permission.organizationId }
    case 'private':
      return undefined
  }
}

async function addStatement(job: RegionJob, version: number, statement: { statementId: string; organizationId?: string }): Promise<void> {
  const audience = statement.organizationId === undefined ? 'every AWS account' : `organization ${statement.organizationId}`

  try {
    await job.call('AddLayerVersionPermission', () =>
      job.lambda.send(
        new AddLayerVersionPermissionCommand({
          LayerName: job.layerName,
          VersionNumber: version,
          StatementId: statement.statementId,
          Action: GET_LAYER_VERSION,
          Principal: '*',
          OrganizationId: statement.organizationId
        })
      )
    )
    job.logger.info(`${job.region}: granted ${GET_LAYER_VERSION} on version ${version} to ${audience}`)
  } catch (error) {
    // 409 also means "another operation is in progress", so the statement must be in the policy.
    const exists = awsErrorName(error) === 'ResourceConflictException' && (await readStatementIds(job, version)).includes(statement.statementId)
    if (!exists) {
      throw new StepError('AddLayerVersionPermission', error)
    }
    job.logger.info(`${job.region}: statement ${statement.statementId} already grants version ${version} to ${audience}`)
  }
}

async function removeStaleStatements(job: RegionJob, version: number, keep: string | undefined): Promise<void> {
  const statementIds = await readStatementIds(job, version)
  const stale = statementIds.filter((statementId) => statementId.startsWith(STATEMENT_ID_PREFIX) && statementId !== keep)

  for (const statementId of stale) {
    await step('RemoveLayerVersionPermission', () =>
      job.call('RemoveLayerVersionPermission', () =>
        job.lambda.send(new RemoveLayerVersionPermissionCommand({ LayerName: job.layerName, VersionNumber: version, StatementId: statementId }))
      )
    )
    job.logger.info(`${job.region}: removed statement ${statementId} from version ${version}, left by an earlier permission setting`)
  }
}

async function readStatementIds(job: RegionJob, version: number): Promise<string[]> {
  try {
    const policy = await job.call('GetLayerVersionPolicy', () =>
      job.lambda.send(new GetLayerVersionPolicyCommand({ LayerName: job.layerName, VersionNumber: version }))
    )
    const document = JSON.parse(policy.Policy ?? '{}') as { Statement?: Array<{ Sid?: string }> }
    return (document.Statement ?? []).map((statement) => statement.Sid ?? '')
  } catch (error) {
    // A version without any statement has no policy at all.
    if (awsErrorName(error) === 'ResourceNotFoundException') {
      return []
    }
    throw new StepError('GetLayerVersionPolicy', error)
  }
}

async function step<T>(name: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    throw new StepError(name, error)
  }
}

/** Formats an AWS SDK error as "Name: message", the form the summary shows per Region. */
export function describeAwsError(error: unknown): string {
  const name = awsErrorName(error)
  const message = errorMessage(error)
  return name === undefined || name === 'Error' || message.startsWith(`${name}:`) ? message : `${name}: ${message}`
}

function awsErrorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined
}

function sameSet(actual: readonly string[], expected: readonly string[]): boolean {
  return actual.length === expected.length && expected.every((item) => actual.includes(item))
}
