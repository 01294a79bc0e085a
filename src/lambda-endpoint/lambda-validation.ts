import { Runtime } from '@aws-sdk/client-lambda'

import { DESCRIPTION_MAX_LENGTH, LICENSE_INFO_MAX_LENGTH } from '../lambda-limits.js'
import { ApiError } from './api-error.js'

// Constraints from the Lambda API reference (PublishLayerVersion, AddLayerVersionPermission,
// ListLayerVersions) and botocore's lambda/2015-03-31/service-2.json (commit 0e6e2404b85d).
const LAYER_NAME_PATTERN = /^(?:(arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+)$/
const LAYER_NAME_PATTERN_TEXT = '(arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+'
const LAYER_NAME_MAX_LENGTH = 140
const COMPATIBLE_RUNTIMES_MAX_ITEMS = 15
const COMPATIBLE_ARCHITECTURES_MAX_ITEMS = 2
const STATEMENT_ID_PATTERN = /^[a-zA-Z0-9-_]{1,100}$/
const ACTION_PATTERN = /^lambda:GetLayerVersion$/
const PRINCIPAL_PATTERN = /^(?:\d{12}|\*|arn:aws[a-zA-Z-]*:iam::\d{12}:root)$/
const ORGANIZATION_ID_PATTERN = /^o-[a-z0-9]{10,32}$/
// 3 to 63 characters, not ending with a dot.
const S3_BUCKET_PATTERN = /^[0-9A-Za-z.\-_]{2,62}[0-9A-Za-z\-_]$/
const MAX_ITEMS_RANGE = { min: 1, max: 50 }

// NOTE: the Runtime enum of the installed SDK, which may trail or lead what Lambda accepts.
const RUNTIMES: readonly string[] = Object.values(Runtime)
const ARCHITECTURES: readonly string[] = ['x86_64', 'arm64']

/**
 * Collects constraint violations and raises them as one ValidationException, worded like
 * Lambda's "1 validation error detected: Value 'x' at 'description' failed to satisfy
 * constraint: ..." messages.
 */
export class Validator {
  private readonly violations: string[] = []

  required(member: string, value: unknown): boolean {
    if (value === undefined || value === null) {
      this.violations.push(`Value null at '${member}' failed to satisfy constraint: Member must not be null`)
      return false
    }
    return true
  }

  string(member: string, value: unknown, rules: { min?: number; max?: number; pattern?: RegExp; patternText?: string }): void {
    if (value === undefined || value === null) {
      return
    }
    if (typeof value !== 'string') {
      this.violate(member, value, 'Member must be a string')
      return
    }

    if (rules.min !== undefined && value.length < rules.min) {
      this.violate(member, value, `Member must have length greater than or equal to ${rules.min}`)
    }
    if (rules.max !== undefined && value.length > rules.max) {
      this.violate(member, value, `Member must have length less than or equal to ${rules.max}`)
    }
    if (rules.pattern !== undefined && !rules.pattern.test(value)) {
      this.violate(member, value, `Member must satisfy regular expression pattern: ${rules.patternText ?? rules.pattern.source}`)
    }
  }

  enumList(member: string, value: unknown, allowed: readonly string[], maxItems: number): void {
    if (value === undefined || value === null) {
      return
    }
    if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
      this.violate(member, value, 'Member must be a list of strings')
      return
    }

    if (value.length > maxItems) {
      this.violate(member, value, `Member must have length less than or equal to ${maxItems}`)
    }
    if (value.some((item: string) => !allowed.includes(item))) {
      this.violate(member, value, `Member must satisfy constraint: [Member must satisfy enum value set: [${allowed.join(', ')}]]`)
    }
  }

  enumValue(member: string, value: string | undefined, allowed: readonly string[]): void {
    if (value !== undefined && !allowed.includes(value)) {
      this.violate(member, value, `Member must satisfy enum value set: [${allowed.join(', ')}]`)
    }
  }

  integer(member: string, value: string | undefined, range: { min: number; max: number }): void {
    if (value === undefined) {
      return
    }

    const number = Number(value)
    if (!Number.isInteger(number)) {
      this.violate(member, value, 'Member must be an integer')
    } else if (number < range.min) {
      this.violate(member, value, `Member must have value greater than or equal to ${range.min}`)
    } else if (number > range.max) {
      this.violate(member, value, `Member must have value less than or equal to ${range.max}`)
    }
  }

  throwIfInvalid(): void {
    const count = this.violations.length
    if (count === 0) {
      return
    }

    const noun = count === 1 ? 'error' : 'errors'
    throw new ApiError(400, 'ValidationException', `${count} validation ${noun} detected: ${this.violations.join('; ')}`)
  }

  private violate(member: string, value: unknown, constraint: string): void {
    const shown = Array.isArray(value) ? `[${value.join(', ')}]` : String(value)
    this.violations.push(`Value '${shown}' at '${member}' failed to satisfy constraint: ${constraint}`)
  }
}

export function validateLayerName(validator: Validator, layerName: string): void {
  validator.string('layerName', layerName, {
    min: 1,
    max: LAYER_NAME_MAX_LENGTH,
    pattern: LAYER_NAME_PATTERN,
    patternText: LAYER_NAME_PATTERN_TEXT
  })
}

export function validatePublishBody(validator: Validator, body: Record<string, unknown>): void {
  validator.required('content', body.Content)
  validator.string('description', body.Description, { max: DESCRIPTION_MAX_LENGTH })
  validator.string('licenseInfo', body.LicenseInfo, { max: LICENSE_INFO_MAX_LENGTH })
  validator.enumList('compatibleRuntimes', body.CompatibleRuntimes, RUNTIMES, COMPATIBLE_RUNTIMES_MAX_ITEMS)
  validator.enumList('compatibleArchitectures', body.CompatibleArchitectures, ARCHITECTURES, COMPATIBLE_ARCHITECTURES_MAX_ITEMS)

  const content = body.Content
  if (typeof content === 'object' && content !== null) {
    const { S3Bucket, S3Key } = content as Record<string, unknown>
    validator.string('content.s3Bucket', S3Bucket, { pattern: S3_BUCKET_PATTERN, patternText: '[0-9A-Za-z\\.\\-_]*(?<!\\.)' })
    validator.string('content.s3Key', S3Key, { min: 1, max: 1024 })
  }
}

export function validatePermissionBody(validator: Validator, body: Record<string, unknown>): void {
  validator.required('statementId', body.StatementId)
  validator.required('action', body.Action)
  validator.required('principal', body.Principal)
  validator.string('statementId', body.StatementId, { pattern: STATEMENT_ID_PATTERN, patternText: '([a-zA-Z0-9-_]+)' })
  validator.string('action', body.Action, { max: 22, pattern: ACTION_PATTERN, patternText: 'lambda:GetLayerVersion' })
  validator.string('principal', body.Principal, {
    pattern: PRINCIPAL_PATTERN,
    patternText: '\\d{12}|\\*|arn:(aws[a-zA-Z-]*):iam::\\d{12}:root'
  })
  validator.string('organizationId', body.OrganizationId, { max: 34, pattern: ORGANIZATION_ID_PATTERN, patternText: 'o-[a-z0-9]{10,32}' })
}

export function validateListQuery(validator: Validator, query: { maxItems?: string; runtime?: string; architecture?: string }): void {
  validator.integer('maxItems', query.maxItems, MAX_ITEMS_RANGE)
  validator.enumValue('compatibleRuntime', query.runtime, RUNTIMES)
  validator.enumValue('compatibleArchitecture', query.architecture, ARCHITECTURES)
}

export function validateStatementId(validator: Validator, statementId: string): void {
  validator.string('statementId', statementId, { pattern: STATEMENT_ID_PATTERN, patternText: '([a-zA-Z0-9-_]+)' })
}
