import { createHash, randomUUID } from 'node:crypto'

import { ApiError } from './api-error.js'

/** A layer in one account and Region. */
export interface LayerRef {
  region: string
  accountId: string
  layerName: string
}

/** One statement of a layer version's resource-based policy, as GetLayerVersionPolicy returns it. */
export interface PolicyStatement {
  Sid: string
  Effect: 'Allow'
  Principal: '*' | { AWS: string }
  Action: string
  Resource: string
  Condition?: { StringEquals: { 'aws:PrincipalOrgID': string } }
}

export interface LayerVersion extends LayerRef {
  version: number
  layerArn: string
  layerVersionArn: string
  description: string
  licenseInfo?: string
  compatibleRuntimes?: string[]
  compatibleArchitectures?: string[]
  /** ISO 8601 with milliseconds and a +0000 offset, as Lambda formats it. */
  createdDate: string
  codeSha256: string
  codeSize: number
  content: Buffer
  policyRevisionId: string
  statements: PolicyStatement[]
}

export interface NewLayerVersion {
  description: string
  licenseInfo?: string
  compatibleRuntimes?: string[]
  compatibleArchitectures?: string[]
  content: Buffer
}

export interface NewStatement {
  statementId: string
  action: string
  principal: string
  organizationId?: string
  revisionId?: string
}

/** The caller of a read, for checking a layer version's policy. */
export interface Caller {
  accountId: string
  organizationId?: string
}

interface Layer {
  /** Version numbers are never reused, even after DeleteLayerVersion. */
  lastVersion: number
  versions: Map<number, LayerVersion>
}

/** Layers and their versions, kept apart per Region and account as Lambda keeps them. */
export class LayerStore {
  private readonly layers = new Map<string, Layer>()

  constructor(private readonly now: () => Date) {}

  publish(ref: LayerRef, input: NewLayerVersion): LayerVersion {
    const layer = this.layerOrCreate(ref)
    const version = layer.lastVersion + 1
    const layerArn = layerArnOf(ref)

    const record: LayerVersion = {
      ...ref,
      version,
      layerArn,
      layerVersionArn: `${layerArn}:${version}`,
      description: input.description,
      licenseInfo: input.licenseInfo,
      compatibleRuntimes: input.compatibleRuntimes,
      compatibleArchitectures: input.compatibleArchitectures,
      createdDate: this.now().toISOString().replace('Z', '+0000'),
      codeSha256: createHash('sha256').update(input.content).digest('base64'),
      codeSize: input.content.length,
      content: input.content,
      policyRevisionId: randomUUID(),
      statements: []
    }

    layer.lastVersion = version
    layer.versions.set(version, record)
    return record
  }

  /** Returns the layer's versions, newest first, that match the filters. */
  list(ref: LayerRef, filter: { runtime?: string; architecture?: string } = {}): LayerVersion[] {
    const versions = [...(this.layers.get(layerKey(ref))?.versions.values() ?? [])]

    return versions
      .filter((record) => filter.runtime === undefined || (record.compatibleRuntimes ?? []).includes(filter.runtime))
      .filter((record) => filter.architecture === undefined || (record.compatibleArchitectures ?? []).includes(filter.architecture))
      .sort((a, b) => b.version - a.version)
  }

  get(ref: LayerRef, version: number): LayerVersion | undefined {
    return this.layers.get(layerKey(ref))?.versions.get(version)
  }

  /** Deletes a version; deleting one that does not exist succeeds, as DeleteLayerVersion does. */
  delete(ref: LayerRef, version: number): void {
    this.layers.get(layerKey(ref))?.versions.delete(version)
  }

  addStatement(record: LayerVersion, input: NewStatement): PolicyStatement {
    checkRevision(record, input.revisionId)

    if (record.statements.some((statement) => statement.Sid === input.statementId)) {
      throw new ApiError(
        409,
        'ResourceConflictException',
        `The statement id (${input.statementId}) provided already exists. Please provide a new statement id, or remove the existing statement.`
      )
    }

    const statement: PolicyStatement = {
      Sid: input.statementId,
      Effect: 'Allow',
      Principal: input.principal === '*' ? '*' : { AWS: principalArn(input.principal, record.region) },
      Action: input.action,
      Resource: record.layerVersionArn
    }
    if (input.organizationId !== undefined) {
      statement.Condition = { StringEquals: { 'aws:PrincipalOrgID': input.organizationId } }
    }

    record.statements.push(statement)
    record.policyRevisionId = randomUUID()
    return statement
  }

  removeStatement(record: LayerVersion, statementId: string, revisionId?: string): void {
    checkRevision(record, revisionId)

    const index = record.statements.findIndex((statement) => statement.Sid === statementId)
    if (index === -1) {
      throw new ApiError(404, 'ResourceNotFoundException', `Statement ${statementId} is not found in resource policy.`)
    }

    record.statements.splice(index, 1)
    record.policyRevisionId = randomUUID()
  }

  private layerOrCreate(ref: LayerRef): Layer {
    const key = layerKey(ref)
    let layer = this.layers.get(key)
    if (layer === undefined) {
      layer = { lastVersion: 0, versions: new Map() }
      this.layers.set(key, layer)
    }
    return layer
  }
}

/** Returns the policy document GetLayerVersionPolicy returns, or undefined when it has no statements. */
export function policyDocument(record: LayerVersion): string | undefined {
  if (record.statements.length === 0) {
    return undefined
  }
  return JSON.stringify({ Version: '2012-10-17', Id: 'default', Statement: record.statements })
}

/** Tells whether the layer version's owner or its policy lets the caller read it. */
export function canRead(record: LayerVersion, caller: Caller): boolean {
  if (caller.accountId === record.accountId) {
    return true
  }

  return record.statements.some((statement) => {
    const principalMatches =
      statement.Principal === '*' || statement.Principal.AWS === principalArn(caller.accountId, record.region)
    const organization = statement.Condition?.StringEquals['aws:PrincipalOrgID']
    const organizationMatches = organization === undefined || organization === caller.organizationId

    return principalMatches && organizationMatches
  })
}

/** Returns the ARN partition of a Region: aws-cn for China, aws-us-gov for GovCloud, else aws. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) {
    return 'aws-cn'
  }
  if (region.startsWith('us-gov-')) {
    return 'aws-us-gov'
  }
  return 'aws'
}

export function layerArnOf(ref: LayerRef): string {
  return `arn:${partitionOf(ref.region)}:lambda:${ref.region}:${ref.accountId}:layer:${ref.layerName}`
}

function principalArn(principal: string, region: string): string {
  return /^\d{12}$/.test(principal) ? `arn:${partitionOf(region)}:iam::${principal}:root` : principal
}

function checkRevision(record: LayerVersion, revisionId: string | undefined): void {
  if (revisionId !== undefined && revisionId !== record.policyRevisionId) {
    throw new ApiError(
      412,
      'PreconditionFailedException',
      'The Revision Id provided does not match the latest Revision Id. Call the GetLayerVersionPolicy API to retrieve the latest Revision Id'
    )
  }
}

function layerKey(ref: LayerRef): string {
  return `${ref.region}/${ref.accountId}/${ref.layerName}`
}
