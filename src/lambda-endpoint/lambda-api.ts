import { LAMBDA_UNZIPPED_LIMIT_BYTES } from '../lambda-limits.js'
import { ApiError } from './api-error.js'
import type { BucketStore } from './bucket-store.js'
import { canRead, layerArnOf, policyDocument, type Caller, type LayerRef, type LayerStore, type LayerVersion } from './layer-store.js'
import {
  Validator,
  validateLayerName,
  validateListQuery,
  validatePermissionBody,
  validatePublishBody,
  validateStatementId
} from './lambda-validation.js'
import type { ReceivedRequest } from './signature.js'
import { summarizeZip } from './zip-summary.js'

const DEFAULT_MAX_ITEMS = 50

export type LambdaOperation =
  | 'PublishLayerVersion'
  | 'ListLayerVersions'
  | 'GetLayerVersion'
  | 'GetLayerVersionByArn'
  | 'DeleteLayerVersion'
  | 'AddLayerVersionPermission'
  | 'GetLayerVersionPolicy'
  | 'RemoveLayerVersionPermission'

/** A Lambda API call identified from its method and path, with its path parameters decoded. */
export interface LambdaRoute {
  operation: LambdaOperation
  layerName?: string
  versionNumber?: string
  statementId?: string
}

export interface LambdaResponse {
  status: number
  body?: unknown
}

/** The verified caller of a Lambda call. */
export interface LambdaCaller extends Caller {
  region: string
}

const LAYERS_PREFIX = '/2018-10-31/layers'

/** Maps a method and percent-encoded path to a layer operation, or undefined for anything else. */
export function routeLambda(method: string, path: string, query: Record<string, string | string[]>): LambdaRoute | undefined {
  if (path === LAYERS_PREFIX && method === 'GET' && query.find === 'LayerVersion') {
    return { operation: 'GetLayerVersionByArn' }
  }
  if (!path.startsWith(`${LAYERS_PREFIX}/`)) {
    return undefined
  }

  const parts = path.slice(LAYERS_PREFIX.length + 1).split('/').map(decodeURIComponent)
  const [layerName, versions, versionNumber, policy, statementId] = parts
  if (versions !== 'versions') {
    return undefined
  }

  const table: Record<string, LambdaOperation | undefined> = {
    'POST 2': 'PublishLayerVersion',
    'GET 2': 'ListLayerVersions',
    'GET 3': 'GetLayerVersion',
    'DELETE 3': 'DeleteLayerVersion',
    'POST 4': 'AddLayerVersionPermission',
    'GET 4': 'GetLayerVersionPolicy',
    'DELETE 5': 'RemoveLayerVersionPermission'
  }
  const operation = table[`${method} ${parts.length}`]
  if (operation === undefined || (parts.length >= 4 && policy !== 'policy')) {
    return undefined
  }

  return { operation, layerName, versionNumber, statementId }
}

/** The layer calls of the Lambda API (2018-10-31 paths), on top of a LayerStore. */
export class LambdaApi {
  constructor(
    private readonly layers: LayerStore,
    private readonly buckets: BucketStore,
    /** Returns the download URL reported as Content.Location for a layer version. */
    private readonly locationOf: (record: LayerVersion) => string
  ) {}

  async handle(route: LambdaRoute, request: ReceivedRequest, caller: LambdaCaller): Promise<LambdaResponse> {
    switch (route.operation) {
      case 'PublishLayerVersion':
        return this.publish(route, request, caller)
      case 'ListLayerVersions':
        return this.list(route, request, caller)
      case 'GetLayerVersion':
        return { status: 200, body: this.versionResponse(this.readableVersion(route, caller)) }
      case 'GetLayerVersionByArn':
        return this.getByArn(request, caller)
      case 'DeleteLayerVersion':
        return this.delete(route, caller)
      case 'AddLayerVersionPermission':
        return this.addPermission(route, request, caller)
      case 'GetLayerVersionPolicy':
        return this.getPolicy(route, caller)
      case 'RemoveLayerVersionPermission':
        return this.removePermission(route, request, caller)
    }
  }

  private async publish(route: LambdaRoute, request: ReceivedRequest, caller: LambdaCaller): Promise<LambdaResponse> {
    const body = parseJsonBody(request.body)
    const validator = new Validator()
    validateLayerName(validator, route.layerName ?? '')
    validatePublishBody(validator, body)
    validator.throwIfInvalid()
    const ref = this.ownedLayer(route, caller, 'PublishLayerVersion')

    const content = await this.readContent(body.Content as Record<string, unknown>, caller.region)
    await checkZip(content)

    const record = this.layers.publish(ref, {
      content,
      description: (body.Description as string | undefined) ?? '',
      licenseInfo: body.LicenseInfo as string | undefined,
      compatibleRuntimes: body.CompatibleRuntimes as string[] | undefined,
      compatibleArchitectures: body.CompatibleArchitectures as string[] | undefined
    })
    return { status: 201, body: this.versionResponse(record) }
  }

  private list(route: LambdaRoute, request: ReceivedRequest, caller: LambdaCaller): LambdaResponse {
    const ref = this.ownedLayer(route, caller, 'ListLayerVersions')
    const query = {
      runtime: singleValue(request.query.CompatibleRuntime),
      architecture: singleValue(request.query.CompatibleArchitecture),
      maxItems: singleValue(request.query.MaxItems),
      marker: singleValue(request.query.Marker)
    }
    const validator = new Validator()
    validateListQuery(validator, query)
    validator.throwIfInvalid()

    const versions = this.layers.list(ref, query)
    const start = query.marker === undefined ? 0 : versions.findIndex((record) => record.version <= decodeMarker(query.marker ?? ''))
    const maxItems = query.maxItems === undefined ? DEFAULT_MAX_ITEMS : Number(query.maxItems)
    const page = start === -1 ? [] : versions.slice(start, start + maxItems)
    const next = start === -1 ? undefined : versions[start + maxItems]

    return {
      status: 200,
      body: {
        LayerVersions: page.map(listItem),
        ...(next === undefined ? {} : { NextMarker: encodeMarker(next.version) })
      }
    }
  }

  private getByArn(request: ReceivedRequest, caller: LambdaCaller): LambdaResponse {
    const arn = singleValue(request.query.Arn) ?? ''
    const match = /^arn:[a-zA-Z0-9-]+:lambda:([a-z0-9-]+):(\d{12}):layer:([a-zA-Z0-9-_]+):(\d+)$/.exec(arn)
    if (match === null) {
      throw new ApiError(
        400,
        'ValidationException',
        `1 validation error detected: Value '${arn}' at 'arn' failed to satisfy constraint: Member must satisfy regular expression pattern: ` +
          'arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+'
      )
    }

    const [, region = '', accountId = '', layerName = '', version = ''] = match
    if (region !== caller.region) {
      throw regionMismatch(arn, caller.region)
    }

    const record = this.layers.get({ region, accountId, layerName }, Number(version))
    return { status: 200, body: this.versionResponse(this.checkReadable(record, caller, arn)) }
  }

  private delete(route: LambdaRoute, caller: LambdaCaller): LambdaResponse {
    const ref = this.ownedLayer(route, caller, 'DeleteLayerVersion')
    this.layers.delete(ref, versionNumberOf(route))
    return { status: 204 }
  }

  private addPermission(route: LambdaRoute, request: ReceivedRequest, caller: LambdaCaller): LambdaResponse {
    const body = parseJsonBody(request.body)
    const validator = new Validator()
    validateLayerName(validator, route.layerName ?? '')
    validatePermissionBody(validator, body)
    validator.throwIfInvalid()
    const record = this.ownedVersion(route, caller, 'AddLayerVersionPermission')

    const principal = body.Principal as string
    const organizationId = body.OrganizationId as string | undefined
    if (organizationId !== undefined && principal !== '*') {
      throw new ApiError(400, 'InvalidParameterValueException', `OrganizationId ${organizationId} needs Principal "*", not "${principal}".`)
    }

    const statement = this.layers.addStatement(record, {
      statementId: body.StatementId as string,
      action: body.Action as string,
      principal,
      organizationId,
      revisionId: singleValue(request.query.RevisionId)
    })
    return { status: 201, body: { Statement: JSON.stringify(statement), RevisionId: record.policyRevisionId } }
  }

  private getPolicy(route: LambdaRoute, caller: LambdaCaller): LambdaResponse {
    const record = this.ownedVersion(route, caller, 'GetLayerVersionPolicy')
    const policy = policyDocument(record)
    if (policy === undefined) {
      throw new ApiError(404, 'ResourceNotFoundException', 'No policy is associated with the given resource.')
    }

    return { status: 200, body: { Policy: policy, RevisionId: record.policyRevisionId } }
  }

  private removePermission(route: LambdaRoute, request: ReceivedRequest, caller: LambdaCaller): LambdaResponse {
    const record = this.ownedVersion(route, caller, 'RemoveLayerVersionPermission')
    const statementId = route.statementId ?? ''
    const validator = new Validator()
    validateStatementId(validator, statementId)
    validator.throwIfInvalid()

    this.layers.removeStatement(record, statementId, singleValue(request.query.RevisionId))
    return { status: 204 }
  }

  private async readContent(content: Record<string, unknown>, region: string): Promise<Buffer> {
    const { ZipFile, S3Bucket, S3Key, S3ObjectVersion } = content
    const fromS3 = S3Bucket !== undefined || S3Key !== undefined

    if (ZipFile !== undefined && fromS3) {
      throw new ApiError(400, 'InvalidParameterValueException', 'Content must contain either ZipFile or S3Bucket and S3Key, not both.')
    }
    if (typeof ZipFile === 'string') {
      return Buffer.from(ZipFile, 'base64')
    }
    if (typeof S3Bucket !== 'string' || typeof S3Key !== 'string') {
      throw new ApiError(400, 'InvalidParameterValueException', 'Content must contain ZipFile, or both S3Bucket and S3Key.')
    }
    if (S3ObjectVersion !== undefined) {
      throw new ApiError(400, 'InvalidParameterValueException', 'S3ObjectVersion is not supported: buckets of this local endpoint are not versioned.')
    }

    const bucketRegion = this.buckets.regionOf(S3Bucket)
    if (bucketRegion === undefined) {
      throw s3Error('NoSuchBucket', 'The specified bucket does not exist')
    }
    if (bucketRegion !== region) {
      throw s3Error('PermanentRedirect', `The bucket is in this region: ${bucketRegion}. Please use this region to retry the request`)
    }

    const object = this.buckets.get(S3Bucket, S3Key)
    if (object === undefined) {
      throw s3Error('NoSuchKey', 'The specified key does not exist.')
    }
    return object.body
  }

  private versionResponse(record: LayerVersion): Record<string, unknown> {
    return {
      Content: { Location: this.locationOf(record), CodeSha256: record.codeSha256, CodeSize: record.codeSize },
      LayerArn: record.layerArn,
      ...listItem(record)
    }
  }

  private ownedLayer(route: LambdaRoute, caller: LambdaCaller, operation: LambdaOperation): LayerRef {
    const ref = layerRefOf(route.layerName ?? '', caller)
    if (ref.accountId !== caller.accountId) {
      throw accessDenied(caller, operation, layerArnOf(ref))
    }
    return ref
  }

  private ownedVersion(route: LambdaRoute, caller: LambdaCaller, operation: LambdaOperation): LayerVersion {
    const ref = this.ownedLayer(route, caller, operation)
    const record = this.layers.get(ref, versionNumberOf(route))
    if (record === undefined) {
      throw notFound()
    }
    return record
  }

  private readableVersion(route: LambdaRoute, caller: LambdaCaller): LayerVersion {
    const ref = layerRefOf(route.layerName ?? '', caller)
    const version = versionNumberOf(route)
    return this.checkReadable(this.layers.get(ref, version), caller, `${layerArnOf(ref)}:${version}`)
  }

  private checkReadable(record: LayerVersion | undefined, caller: LambdaCaller, arn: string): LayerVersion {
    if (record === undefined) {
      throw notFound()
    }
    if (!canRead(record, caller)) {
      throw accessDenied(caller, 'GetLayerVersion', arn)
    }
    return record
  }
}

function listItem(record: LayerVersion): Record<string, unknown> {
  return {
    LayerVersionArn: record.layerVersionArn,
    Version: record.version,
    Description: record.description,
    CreatedDate: record.createdDate,
    ...(record.compatibleRuntimes === undefined ? {} : { CompatibleRuntimes: record.compatibleRuntimes }),
    ...(record.compatibleArchitectures === undefined ? {} : { CompatibleArchitectures: record.compatibleArchitectures }),
    ...(record.licenseInfo === undefined ? {} : { LicenseInfo: record.licenseInfo })
  }
}

/** Resolves a LayerName that is either a plain name or a layer ARN into a layer reference. */
function layerRefOf(layerName: string, caller: LambdaCaller): LayerRef {
  const validator = new Validator()
  validateLayerName(validator, layerName)
  validator.throwIfInvalid()

  const arn = /^arn:[a-zA-Z0-9-]+:lambda:([a-zA-Z0-9-]+):(\d{12}):layer:([a-zA-Z0-9-_]+)$/.exec(layerName)
  if (arn === null) {
    return { region: caller.region, accountId: caller.accountId, layerName }
  }

  const [, region = '', accountId = '', name = ''] = arn
  if (region !== caller.region) {
    throw regionMismatch(layerName, caller.region)
  }
  return { region, accountId, layerName: name }
}

function versionNumberOf(route: LambdaRoute): number {
  const text = route.versionNumber ?? ''
  if (!/^\d+$/.test(text)) {
    throw new ApiError(400, 'ValidationException', `1 validation error detected: Value '${text}' at 'versionNumber' failed to satisfy constraint: Member must be a number`)
  }
  return Number(text)
}

function parseJsonBody(body: Buffer): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(body.length === 0 ? '{}' : body.toString('utf8'))
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>
    }
  } catch {
    // Reported below with the status Lambda uses for a body that is not a JSON object.
  }
  throw new ApiError(400, 'InvalidRequestContentException', 'Could not parse request body into json')
}

async function checkZip(content: Buffer): Promise<void> {
  const summary = await summarizeZip(content).catch(() => undefined)
  if (summary === undefined) {
    throw new ApiError(400, 'InvalidParameterValueException', 'Could not unzip uploaded file. Please check your file, then try to upload again.')
  }
  if (summary.unzippedBytes > LAMBDA_UNZIPPED_LIMIT_BYTES) {
    throw new ApiError(400, 'InvalidParameterValueException', `Unzipped size must be smaller than ${LAMBDA_UNZIPPED_LIMIT_BYTES} bytes`)
  }
}

function singleValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

function encodeMarker(version: number): string {
  return Buffer.from(`version:${version}`).toString('base64url')
}

function decodeMarker(marker: string): number {
  const match = /^version:(\d+)$/.exec(Buffer.from(marker, 'base64url').toString('utf8'))
  if (match === null) {
    throw new ApiError(400, 'InvalidParameterValueException', `Invalid Marker "${marker}": pass the NextMarker of a previous ListLayerVersions response.`)
  }
  return Number(match[1])
}

function s3Error(code: string, message: string): ApiError {
  return new ApiError(400, 'InvalidParameterValueException', `Error occurred while GetObject. S3 Error Code: ${code}. S3 Error Message: ${message}`)
}

function notFound(): ApiError {
  return new ApiError(404, 'ResourceNotFoundException', 'The resource you requested does not exist.')
}

function regionMismatch(arn: string, region: string): ApiError {
  return new ApiError(400, 'InvalidParameterValueException', `${arn} is not in ${region}, the Region this request was signed for.`)
}

function accessDenied(caller: LambdaCaller, operation: string, resource: string): ApiError {
  return new ApiError(
    403,
    'AccessDeniedException',
    `User: arn:aws:iam::${caller.accountId}:root is not authorized to perform: lambda:${operation} on resource: ${resource}`
  )
}
