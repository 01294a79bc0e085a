import { createHash } from 'node:crypto'
import { crc32 } from 'node:zlib'

import { ApiError } from './api-error.js'
import type { BucketStore } from './bucket-store.js'
import { STREAMING_SIGNED_PAYLOAD, STREAMING_UNSIGNED_PAYLOAD_TRAILER, type ReceivedRequest } from './signature.js'

/** An S3 request on a path-style URL, `/{bucket}/{key}`. */
export interface S3Route {
  operation: 'PutObject' | 'GetObject' | 'Unsupported'
  bucket: string
  key: string
}

export interface S3Response {
  status: number
  headers: Record<string, string>
  body?: Buffer
}

/** Maps a path-style S3 request to its operation. */
export function routeS3(method: string, path: string): S3Route {
  const [bucketPart = '', ...keyParts] = path.replace(/^\//, '').split('/')
  const bucket = decodeURIComponent(bucketPart)
  const key = decodeURIComponent(keyParts.join('/'))

  if (key !== '' && method === 'PUT') {
    return { operation: 'PutObject', bucket, key }
  }
  if (key !== '' && method === 'GET') {
    return { operation: 'GetObject', bucket, key }
  }
  return { operation: 'Unsupported', bucket, key }
}

/** Serves PutObject and GetObject for a request whose signature was verified for `region`. */
export function handleS3(route: S3Route, request: ReceivedRequest, region: string, buckets: BucketStore, now: Date): S3Response {
  if (route.operation === 'Unsupported') {
    throw new ApiError(501, 'NotImplemented', `${request.method} ${request.path} is not implemented: this endpoint serves only PutObject and GetObject`)
  }

  const bucketRegion = buckets.regionOf(route.bucket)
  if (bucketRegion === undefined) {
    throw new ApiError(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: route.bucket })
  }
  if (bucketRegion !== region) {
    throw new ApiError(
      400,
      'AuthorizationHeaderMalformed',
      `The authorization header is malformed; the region '${region}' is wrong; expecting '${bucketRegion}'`,
      { Region: bucketRegion }
    )
  }

  if (route.operation === 'GetObject') {
    const object = buckets.get(route.bucket, route.key)
    if (object === undefined) {
      throw new ApiError(404, 'NoSuchKey', 'The specified key does not exist.', { Key: route.key })
    }
    return { status: 200, headers: { etag: object.etag, 'content-type': 'application/octet-stream' }, body: object.body }
  }

  const { data, trailers } = readPayload(request)
  checkChecksums(data, { ...request.headers, ...trailers })
  const object = buckets.put(route.bucket, route.key, data, now)

  return { status: 200, headers: { etag: object.etag } }
}

function readPayload(request: ReceivedRequest): { data: Buffer; trailers: Record<string, string> } {
  const payloadHash = request.headers['x-amz-content-sha256']
  if (payloadHash === STREAMING_SIGNED_PAYLOAD) {
    throw new ApiError(501, 'NotImplemented', 'Signed aws-chunked payloads (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) are not implemented by this endpoint')
  }

  const chunked = payloadHash === STREAMING_UNSIGNED_PAYLOAD_TRAILER || (request.headers['content-encoding'] ?? '').includes('aws-chunked')
  if (!chunked) {
    return { data: request.body, trailers: {} }
  }

  const decoded = decodeAwsChunked(request.body)
  const declaredLength = request.headers['x-amz-decoded-content-length']
  if (declaredLength !== undefined && Number(declaredLength) !== decoded.data.length) {
    throw new ApiError(
      400,
      'IncompleteBody',
      `You did not provide the number of bytes specified by the x-amz-decoded-content-length header (${declaredLength}, received ${decoded.data.length})`
    )
  }
  return decoded
}

/**
 * Decodes an aws-chunked body: chunks of `<hex size>[;extensions]\r\n<data>\r\n`, ended by a
 * zero-size chunk and optional trailer lines `name:value\r\n`, then an empty line.
 */
export function decodeAwsChunked(body: Buffer): { data: Buffer; trailers: Record<string, string> } {
  const chunks: Buffer[] = []
  const trailers: Record<string, string> = {}
  let position = 0

  for (;;) {
    const lineEnd = body.indexOf('\r\n', position)
    if (lineEnd === -1) {
      throw incompleteBody()
    }

    const sizeText = body.subarray(position, lineEnd).toString('latin1').split(';')[0] ?? ''
    const size = Number.parseInt(sizeText, 16)
    if (!/^[0-9a-fA-F]+$/.test(sizeText) || Number.isNaN(size)) {
      throw new ApiError(400, 'InvalidRequest', `Invalid aws-chunked chunk size "${sizeText}"`)
    }
    position = lineEnd + 2

    if (size === 0) {
      break
    }
    if (position + size + 2 > body.length || body.subarray(position + size, position + size + 2).toString('latin1') !== '\r\n') {
      throw incompleteBody()
    }
    chunks.push(body.subarray(position, position + size))
    position += size + 2
  }

  for (;;) {
    const lineEnd = body.indexOf('\r\n', position)
    if (lineEnd === -1) {
      break
    }

    const line = body.subarray(position, lineEnd).toString('latin1')
    position = lineEnd + 2
    if (line === '') {
      break
    }

    const separator = line.indexOf(':')
    if (separator > 0) {
      trailers[line.slice(0, separator).trim().toLowerCase()] = line.slice(separator + 1).trim()
    }
  }

  return { data: Buffer.concat(chunks), trailers }
}

// Checksums verified here; CRC32C and CRC64NVME are accepted without a check because node:zlib
// does not compute them. NOTE: an upload using only those goes unverified.
function checkChecksums(data: Buffer, headers: Record<string, string>): void {
  const checks: Array<[header: string, label: string, compute: () => string]> = [
    ['x-amz-checksum-crc32', 'CRC32', () => crc32Base64(data)],
    ['x-amz-checksum-sha1', 'SHA1', () => createHash('sha1').update(data).digest('base64')],
    ['x-amz-checksum-sha256', 'SHA256', () => createHash('sha256').update(data).digest('base64')],
    ['content-md5', 'Content-MD5', () => createHash('md5').update(data).digest('base64')]
  ]

  for (const [header, label, compute] of checks) {
    const declared = headers[header]
    if (declared !== undefined && declared !== compute()) {
      throw new ApiError(400, 'BadDigest', `The ${label} you specified did not match the calculated checksum.`)
    }
  }
}

function crc32Base64(data: Buffer): string {
  const bytes = Buffer.alloc(4)
  bytes.writeUInt32BE(crc32(data) >>> 0)
  return bytes.toString('base64')
}

function incompleteBody(): ApiError {
  return new ApiError(400, 'IncompleteBody', 'The request body terminated unexpectedly')
}
