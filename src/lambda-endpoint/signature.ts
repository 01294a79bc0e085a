import { createHash, createHmac, timingSafeEqual } from 'node:crypto'

import { SignatureV4 } from '@smithy/signature-v4'
import type { Checksum, SourceData } from '@smithy/types'

/** A set of credentials the endpoint accepts, and the account they act as. */
export interface EndpointCredentials {
  accessKeyId: string
  secretAccessKey: string
  /** When set, requests must carry it in X-Amz-Security-Token. */
  sessionToken?: string
  /** Twelve digits; owns the layers these credentials publish. Defaults to 123456789012. */
  accountId?: string
  /** AWS Organizations id of the account, matched by organization-scoped layer permissions. */
  organizationId?: string
}

/** Identity a verified signature establishes for a request. */
export interface SignedIdentity {
  credentials: EndpointCredentials
  region: string
  service: string
}

/** A request as received, with the path still percent-encoded and the query decoded. */
export interface ReceivedRequest {
  method: string
  path: string
  query: Record<string, string | string[]>
  /** Lowercase names; repeated headers joined with ", " as Node.js does. */
  headers: Record<string, string>
  body: Buffer
}

/** Reason a signature was rejected. The server maps it to each service's error code. */
export type SignatureProblem =
  | 'missing'
  | 'malformed'
  | 'unknown-access-key'
  | 'invalid-token'
  | 'wrong-service'
  | 'expired'
  | 'not-yet-current'
  | 'payload-hash-mismatch'
  | 'mismatch'

export class SignatureError extends Error {
  constructor(
    readonly problem: SignatureProblem,
    message: string
  ) {
    super(message)
    this.name = 'SignatureError'
  }
}

export interface VerifyOptions {
  /** The service the path belongs to: `lambda` or `s3`. */
  service: string
  now: Date
  /** Maximum distance between X-Amz-Date and `now`. */
  maxClockSkewMs: number
}

/** Payload hashes that do not cover the body; the first two mean the body is aws-chunked. */
export const STREAMING_UNSIGNED_PAYLOAD_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER'
export const STREAMING_SIGNED_PAYLOAD = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD'
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD'

const AUTHORIZATION_PATTERN =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/
const AMZ_DATE_PATTERN = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/

/**
 * Verifies an AWS Signature Version 4 Authorization header by signing the same canonical request
 * with the secret key the access key maps to, and returns the identity it proves. S3 paths are
 * signed as sent, every other service's path is escaped once more, as the SigV4 rules require.
 */
export async function verifySignature(
  request: ReceivedRequest,
  credentialsByKey: ReadonlyMap<string, EndpointCredentials>,
  options: VerifyOptions
): Promise<SignedIdentity> {
  const authorization = request.headers.authorization
  if (authorization === undefined) {
    throw new SignatureError('missing', 'Missing Authentication Token')
  }

  const match = AUTHORIZATION_PATTERN.exec(authorization)
  if (match === null) {
    throw new SignatureError('malformed', `Authorization header is not an AWS4-HMAC-SHA256 signature: ${authorization}`)
  }
  const [, accessKeyId = '', scopeDate = '', region = '', service = '', signedHeaderList = '', signature = ''] = match

  const credentials = credentialsByKey.get(accessKeyId)
  if (credentials === undefined) {
    throw new SignatureError('unknown-access-key', 'The security token included in the request is invalid.')
  }
  if (credentials.sessionToken !== undefined && request.headers['x-amz-security-token'] !== credentials.sessionToken) {
    throw new SignatureError('invalid-token', 'The security token included in the request is invalid.')
  }
  if (service !== options.service) {
    throw new SignatureError('wrong-service', `Credential should be scoped to correct service: '${options.service}'.`)
  }

  const signedHeaders = signedHeaderList.split(';')
  const amzDate = request.headers['x-amz-date']
  if (amzDate === undefined || !signedHeaders.includes('x-amz-date') || !signedHeaders.includes('host')) {
    throw new SignatureError('malformed', 'Signed headers must include host and x-amz-date.')
  }
  const signingDate = parseAmzDate(amzDate)
  if (signingDate === undefined || !amzDate.startsWith(scopeDate)) {
    throw new SignatureError('malformed', `X-Amz-Date ${amzDate} is invalid or does not match the credential scope date ${scopeDate}.`)
  }
  checkClockSkew(amzDate, signingDate, options)
  checkPayloadHash(request)

  const headers: Record<string, string> = {}
  for (const name of signedHeaders) {
    const value = request.headers[name]
    if (value === undefined) {
      throw new SignatureError('malformed', `Signed header ${name} is missing from the request.`)
    }
    headers[name] = value
  }

  const signer = new SignatureV4({
    credentials,
    region,
    service,
    sha256: NodeSha256,
    uriEscapePath: service !== 's3',
    applyChecksum: false
  })
  const signed = await signer.sign(
    { method: request.method, protocol: 'http:', hostname: '127.0.0.1', path: request.path, query: request.query, headers, body: request.body },
    { signingDate, signableHeaders: new Set(signedHeaders) }
  )

  const expected = /Signature=([0-9a-f]{64})$/.exec(signed.headers.authorization ?? '')?.[1] ?? ''
  if (expected.length !== signature.length || !timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) {
    throw new SignatureError(
      'mismatch',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.'
    )
  }

  return { credentials, region, service }
}

function parseAmzDate(amzDate: string): Date | undefined {
  const parts = AMZ_DATE_PATTERN.exec(amzDate)
  if (parts === null) {
    return undefined
  }

  const [year, month, day, hour, minute, second] = parts.slice(1).map(Number) as [number, number, number, number, number, number]
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second))
}

function checkClockSkew(amzDate: string, signingDate: Date, options: VerifyOptions): void {
  const skewMinutes = Math.round(options.maxClockSkewMs / 60_000)
  const earliest = new Date(options.now.getTime() - options.maxClockSkewMs)
  const latest = new Date(options.now.getTime() + options.maxClockSkewMs)

  if (signingDate < earliest) {
    throw new SignatureError(
      'expired',
      `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(earliest)} (${formatAmzDate(options.now)} - ${skewMinutes} min.)`
    )
  }
  if (signingDate > latest) {
    throw new SignatureError(
      'not-yet-current',
      `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(latest)} (${formatAmzDate(options.now)} + ${skewMinutes} min.)`
    )
  }
}

// The signer trusts X-Amz-Content-SHA256 when present, so a hash that names the body must match it.
function checkPayloadHash(request: ReceivedRequest): void {
  const declared = request.headers['x-amz-content-sha256']
  if (declared === undefined || declared === UNSIGNED_PAYLOAD || declared === STREAMING_UNSIGNED_PAYLOAD_TRAILER || declared === STREAMING_SIGNED_PAYLOAD) {
    return
  }

  const actual = createHash('sha256').update(request.body).digest('hex')
  if (declared !== actual) {
    throw new SignatureError('payload-hash-mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.")
  }
}

function formatAmzDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')
}

/** SHA-256 and HMAC-SHA256 on node:crypto, in the shape @smithy/signature-v4 expects. */
class NodeSha256 implements Checksum {
  private hash

  constructor(private readonly secret?: SourceData) {
    this.hash = this.create()
  }

  update(data: Uint8Array): void {
    this.hash.update(data)
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest())
  }

  reset(): void {
    this.hash = this.create()
  }

  private create() {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(this.secret))
  }
}

function toBuffer(data: SourceData): Buffer {
  if (typeof data === 'string') {
    return Buffer.from(data, 'utf8')
  }
  if (ArrayBuffer.isView(data)) {
    return Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  }
  return Buffer.from(data)
}
