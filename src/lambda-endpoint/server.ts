import { randomBytes, randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

import { PUBLISH_REQUEST_LIMIT_BYTES } from '../lambda-limits.js'
import { ApiError, lambdaErrorBody, s3ErrorBody } from './api-error.js'
import { BucketStore } from './bucket-store.js'
import { FaultInjector, type Service } from './faults.js'
import { LambdaApi, routeLambda, type LambdaRoute } from './lambda-api.js'
import { LayerStore, type LayerVersion } from './layer-store.js'
import { handleS3, routeS3 } from './s3-api.js'
import { SignatureError, verifySignature, type EndpointCredentials, type ReceivedRequest, type SignedIdentity } from './signature.js'

/** Account of credentials configured without one: the placeholder account of the AWS docs. */
export const DEFAULT_ACCOUNT_ID = '123456789012'

// SigV4 clock skew allowed by Lambda ("Signature expired: ... - 5 min.") and S3 (15 minutes
// before RequestTimeTooSkewed).
const LAMBDA_MAX_CLOCK_SKEW_MS = 5 * 60_000
const S3_MAX_CLOCK_SKEW_MS = 15 * 60_000

// NOTE: objects stay in memory, so uploads are capped well below S3's 5 GB single PUT limit.
const DEFAULT_MAX_OBJECT_BYTES = 512 * 1024 * 1024

const LOCAL_CONTENT_PREFIX = '/_local/layer-content/'

export interface LocalLambdaEndpointOptions {
  /** Credentials requests must be signed with. One generated set when omitted. */
  credentials?: EndpointCredentials[]
  /** Port on 127.0.0.1, where 0 (the default) picks a free one. */
  port?: number
  /** Buckets to create, as bucket name to Region. */
  buckets?: Record<string, string>
  /** Clock for signature dates, CreatedDate and rate-based faults. */
  now?: () => Date
  /** Largest PutObject body kept in memory, in bytes (512 MiB by default). */
  maxObjectBytes?: number
}

/** One request the endpoint served. */
export interface EndpointRequest {
  service: Service | 'local'
  method: string
  path: string
  region?: string
  operation?: string
  accessKeyId?: string
  status: number
  errorCode?: string
  errorMessage?: string
}

/** A request that passed the signature check, passed to `onRequest` before it is served. */
export interface AuthorizedRequest {
  service: Service
  method: string
  path: string
  region: string
  operation: string
  accessKeyId: string
}

interface Reply {
  status: number
  headers: Record<string, string>
  body?: Buffer | string
  errorCode?: string
  errorMessage?: string
}

/**
 * A local stand-in for the Lambda layer API (2018-10-31 paths) and S3 PutObject/GetObject on
 * path-style URLs, served over HTTP on 127.0.0.1. Requests must carry a valid SigV4 signature
 * for one of the configured credentials. The Region in the signature's credential scope selects
 * the Region, so one endpoint serves every Region, each with its own layers. Faults can be
 * injected per Region and operation. Everything is kept in memory.
 */
export class LocalLambdaEndpoint {
  readonly credentials: readonly EndpointCredentials[]
  readonly faults: FaultInjector
  readonly requests: EndpointRequest[] = []
  /** Awaited for every signed request before it is served. Tests use it to hold or count requests. */
  onRequest?: (request: AuthorizedRequest) => Promise<void> | void
  /** Called with every request once its response is sent, for logging. */
  onResponse?: (request: EndpointRequest) => void

  private readonly credentialsByKey: Map<string, EndpointCredentials>
  private readonly now: () => Date
  private readonly maxObjectBytes: number
  private readonly layers: LayerStore
  private readonly buckets = new BucketStore()
  private readonly lambda: LambdaApi
  private readonly contentToken = randomBytes(16).toString('hex')
  private readonly port: number
  private server?: Server
  private address?: AddressInfo

  constructor(options: LocalLambdaEndpointOptions = {}) {
    this.credentials = options.credentials ?? [generateCredentials()]
    this.credentialsByKey = new Map(this.credentials.map((credentials) => [credentials.accessKeyId, credentials]))
    this.now = options.now ?? (() => new Date())
    this.maxObjectBytes = options.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES
    this.port = options.port ?? 0
    this.faults = new FaultInjector(this.now)
    this.layers = new LayerStore(this.now)
    this.lambda = new LambdaApi(this.layers, this.buckets, (record) => this.contentUrl(record))

    for (const [bucket, region] of Object.entries(options.buckets ?? {})) {
      this.buckets.create(bucket, region)
    }
  }

  /** The base URL to pass as the SDK's `endpoint`, such as http://127.0.0.1:41234. */
  get url(): string {
    if (this.address === undefined) {
      throw new Error('the endpoint is not listening: call start() first')
    }
    return `http://127.0.0.1:${this.address.port}`
  }

  async start(): Promise<void> {
    const server = createServer((request, response) => {
      this.serve(request, response).catch((error: unknown) => {
        response.destroy(error instanceof Error ? error : new Error(String(error)))
      })
    })

    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    })

    this.server = server
    this.address = server.address() as AddressInfo
  }

  async stop(): Promise<void> {
    const server = this.server
    if (server === undefined) {
      return
    }

    this.server = undefined
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  }

  createBucket(name: string, region: string): void {
    this.buckets.create(name, region)
  }

  /** Creates one bucket per Region from a name template containing `{region}`. */
  createBuckets(template: string, regions: readonly string[]): void {
    for (const region of regions) {
      this.buckets.create(template.replaceAll('{region}', region), region)
    }
  }

  getObject(bucket: string, key: string): Buffer | undefined {
    return this.buckets.get(bucket, key)?.body
  }

  /** Returns a layer's versions in a Region, newest first, for inspection in tests and demos. */
  layerVersions(region: string, layerName: string, accountId = DEFAULT_ACCOUNT_ID): LayerVersion[] {
    return this.layers.list({ region, accountId, layerName })
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const requestId = randomUUID()
    const url = request.url ?? '/'
    const queryStart = url.indexOf('?')
    const path = queryStart === -1 ? url : url.slice(0, queryStart)
    const queryText = queryStart === -1 ? '' : url.slice(queryStart + 1)
    const method = request.method ?? 'GET'
    const service: Service | 'local' = path.startsWith(LOCAL_CONTENT_PREFIX) ? 'local' : path.startsWith('/2018-10-31/') ? 'lambda' : 's3'
    const record: EndpointRequest = { service, method, path, status: 0 }

    let reply: Reply
    try {
      reply = await this.reply(request, record, { method, path, query: parseQuery(queryText) })
    } catch (error) {
      reply = errorReply(service, toApiError(error), requestId)
    }

    record.status = reply.status
    record.errorCode = reply.errorCode
    record.errorMessage = reply.errorMessage
    this.requests.push(record)
    send(response, reply, service, requestId, this.now())
    this.onResponse?.(record)
  }

  private async reply(
    request: IncomingMessage,
    record: EndpointRequest,
    target: Pick<ReceivedRequest, 'method' | 'path' | 'query'>
  ): Promise<Reply> {
    if (record.service === 'local') {
      await drain(request)
      return this.layerContent(target.path)
    }

    const service = record.service
    const limit = service === 'lambda' ? PUBLISH_REQUEST_LIMIT_BYTES - 1 : this.maxObjectBytes
    const { body, tooLarge } = await readBody(request, limit)
    const lambdaRoute = service === 'lambda' ? routeLambda(target.method, target.path, target.query) : undefined
    const s3Route = service === 's3' ? routeS3(target.method, target.path) : undefined
    record.operation = lambdaRoute?.operation ?? s3Route?.operation

    // The body of an oversized request was not kept, so its signature cannot be checked: the size
    // is reported first.
    if (tooLarge && service === 's3') {
      throw new ApiError(400, 'EntityTooLarge', `Your proposed upload exceeds the maximum allowed size of this local endpoint (${this.maxObjectBytes} bytes)`)
    }
    if (tooLarge) {
      throw new ApiError(
        413,
        'RequestEntityTooLargeException',
        `Request must be smaller than ${PUBLISH_REQUEST_LIMIT_BYTES} bytes for the ${record.operation ?? 'requested'} operation`
      )
    }

    const received: ReceivedRequest = { ...target, headers: headersOf(request), body }
    const identity = await this.authenticate(received, service)
    record.region = identity.region
    record.accessKeyId = identity.credentials.accessKeyId

    const operation = record.operation ?? 'Unknown'
    const accountId = identity.credentials.accountId ?? DEFAULT_ACCOUNT_ID
    await this.onRequest?.({ service, method: target.method, path: target.path, region: identity.region, operation, accessKeyId: identity.credentials.accessKeyId })

    const fault = this.faults.check({ service, region: identity.region, operation, accountId })
    if (fault !== undefined) {
      throw fault
    }

    if (service === 's3') {
      const result = handleS3(s3Route ?? routeS3(target.method, target.path), received, identity.region, this.buckets, this.now())
      return { status: result.status, headers: result.headers, body: result.body }
    }

    return this.lambdaReply(lambdaRoute, received, identity)
  }

  private async authenticate(received: ReceivedRequest, service: Service): Promise<SignedIdentity> {
    try {
      return await verifySignature(received, this.credentialsByKey, {
        service,
        now: this.now(),
        maxClockSkewMs: service === 'lambda' ? LAMBDA_MAX_CLOCK_SKEW_MS : S3_MAX_CLOCK_SKEW_MS
      })
    } catch (error) {
      if (error instanceof SignatureError) {
        throw service === 'lambda' ? lambdaSignatureError(error) : s3SignatureError(error)
      }
      throw error
    }
  }

  private async lambdaReply(route: LambdaRoute | undefined, received: ReceivedRequest, identity: SignedIdentity): Promise<Reply> {
    if (route === undefined) {
      throw new ApiError(404, 'UnknownOperationException', `Unknown operation ${received.method} ${received.path}: this endpoint serves the layer calls only`)
    }

    const caller = {
      region: identity.region,
      accountId: identity.credentials.accountId ?? DEFAULT_ACCOUNT_ID,
      organizationId: identity.credentials.organizationId
    }
    const result = await this.lambda.handle(route, received, caller)
    const body = result.body === undefined ? undefined : JSON.stringify(result.body)

    return { status: result.status, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body }
  }

  private contentUrl(record: LayerVersion): string {
    const parts = [this.contentToken, record.region, record.accountId, record.layerName, String(record.version)]
    return `${this.url}${LOCAL_CONTENT_PREFIX}${parts.map(encodeURIComponent).join('/')}`
  }

  // Serves Content.Location: like the presigned S3 URL Lambda returns, it needs no signature,
  // only the random token in its path.
  private layerContent(path: string): Reply {
    const [token, region = '', accountId = '', layerName = '', version = ''] = path.slice(LOCAL_CONTENT_PREFIX.length).split('/').map(decodeURIComponent)
    const record = token === this.contentToken ? this.layers.get({ region, accountId, layerName }, Number(version)) : undefined

    if (record === undefined) {
      return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'layer version not found\n', errorCode: 'NotFound' }
    }
    return { status: 200, headers: { 'content-type': 'application/zip' }, body: record.content }
  }
}

function generateCredentials(): EndpointCredentials {
  return {
    accessKeyId: `AKIALOCAL${randomBytes(6).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64'),
    accountId: DEFAULT_ACCOUNT_ID
  }
}

function lambdaSignatureError(error: SignatureError): ApiError {
  switch (error.problem) {
    case 'missing':
      return new ApiError(403, 'MissingAuthenticationTokenException', error.message)
    case 'malformed':
      return new ApiError(400, 'IncompleteSignatureException', error.message)
    case 'unknown-access-key':
    case 'invalid-token':
      return new ApiError(403, 'UnrecognizedClientException', error.message)
    default:
      return new ApiError(403, 'InvalidSignatureException', error.message)
  }
}

function s3SignatureError(error: SignatureError): ApiError {
  switch (error.problem) {
    case 'missing':
      return new ApiError(403, 'AccessDenied', 'Access Denied')
    case 'malformed':
    case 'wrong-service':
      return new ApiError(400, 'AuthorizationHeaderMalformed', error.message)
    case 'unknown-access-key':
      return new ApiError(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.')
    case 'invalid-token':
      return new ApiError(400, 'InvalidToken', 'The provided token is malformed or otherwise invalid.')
    case 'expired':
    case 'not-yet-current':
      return new ApiError(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.')
    case 'payload-hash-mismatch':
      return new ApiError(400, 'XAmzContentSHA256Mismatch', error.message)
    case 'mismatch':
      return new ApiError(403, 'SignatureDoesNotMatch', error.message)
  }
}

function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) {
    return error
  }
  const message = error instanceof Error ? error.message : String(error)
  return new ApiError(500, 'ServiceException', `local endpoint failed: ${message}`)
}

function errorReply(service: Service | 'local', error: ApiError, requestId: string): Reply {
  if (service === 's3') {
    return {
      status: error.status,
      headers: { 'content-type': 'application/xml', ...error.headers },
      body: s3ErrorBody(error, requestId),
      errorCode: error.code,
      errorMessage: error.message
    }
  }

  return {
    status: error.status,
    headers: { 'content-type': 'application/json', 'x-amzn-errortype': error.code, ...error.headers },
    body: lambdaErrorBody(error),
    errorCode: error.code,
    errorMessage: error.message
  }
}

// The Date header comes from the endpoint's clock, so the SDK's clock skew correction works from
// the same time as the signature check.
function send(response: ServerResponse, reply: Reply, service: Service | 'local', requestId: string, now: Date): void {
  const idHeader = service === 's3' ? 'x-amz-request-id' : 'x-amzn-requestid'
  const body = reply.body === undefined ? undefined : Buffer.from(reply.body)
  const headers: Record<string, string> = { ...reply.headers, [idHeader]: requestId, date: now.toUTCString() }
  if (body !== undefined) {
    headers['content-length'] = String(body.length)
  }

  response.writeHead(reply.status, headers)
  response.end(body)
}

function headersOf(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) {
      headers[name] = Array.isArray(value) ? value.join(', ') : value
    }
  }
  return headers
}

function parseQuery(queryText: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {}
  for (const pair of queryText.split('&')) {
    if (pair === '') {
      continue
    }

    const [rawName = '', rawValue = ''] = pair.split('=', 2)
    const name = decodeURIComponent(rawName)
    const value = decodeURIComponent(rawValue)
    const existing = query[name]
    query[name] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value]
  }
  return query
}

/**
 * Reads a body of up to `limit` bytes. Past that it keeps reading, so the client can finish
 * sending, but stores nothing and reports `tooLarge`.
 */
async function readBody(request: IncomingMessage, limit: number): Promise<{ body: Buffer; tooLarge: boolean }> {
  const chunks: Buffer[] = []
  let bytes = 0

  for await (const chunk of request) {
    const buffer = chunk as Buffer
    bytes += buffer.length
    if (bytes <= limit) {
      chunks.push(buffer)
    }
  }

  return bytes > limit ? { body: Buffer.alloc(0), tooLarge: true } : { body: Buffer.concat(chunks), tooLarge: false }
}

async function drain(request: IncomingMessage): Promise<void> {
  request.resume()
  await once(request, 'end')
}
