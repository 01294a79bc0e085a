import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'

import { errorMessage } from './errors.js'

/** Signature of the fetch function this module calls. Tests may pass their own. */
export type FetchFunction = typeof globalThis.fetch

/** Time limit for a request that returns a small document (headers and body). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000

/** Time limit between two chunks of a file download, so a slow large download may go on. */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000

const SHA256_PATTERN = /^[0-9a-f]{64}$/

/** Raised when a file's sha256 digest differs from the expected one. */
export class ChecksumMismatchError extends Error {
  constructor(
    readonly file: string,
    readonly expectedSha256: string,
    readonly actualSha256: string,
    readonly source: string
  ) {
    super(
      `sha256 mismatch for ${file} from ${source}: expected ${expectedSha256}, got ${actualSha256}. ` +
        'The file is corrupt or is not the published release. It was deleted and nothing was unpacked.'
    )
    this.name = 'ChecksumMismatchError'
  }
}

/** Raised when an HTTP request fails, with the URL in the message. */
export class HttpRequestError extends Error {
  constructor(
    readonly url: string,
    message: string,
    readonly status?: number
  ) {
    super(message)
    this.name = 'HttpRequestError'
  }
}

export interface RequestOptions {
  fetch?: FetchFunction
  timeoutMs?: number
}

export interface DownloadOptions {
  url: string
  destination: string
  /** sha256 (hex) the file must have. Without it the file is stored unverified. */
  expectedSha256?: string
  fetch?: FetchFunction
  idleTimeoutMs?: number
}

export interface DownloadedFile {
  path: string
  sha256: string
  bytes: number
}

export interface CachedDownloadOptions {
  url: string
  cacheDir: string
  /** File name inside cacheDir (default: the last segment of the URL path). */
  filename?: string
  expectedSha256: string
  fetch?: FetchFunction
  idleTimeoutMs?: number
  log?: (message: string) => void
}

export interface CachedFile extends DownloadedFile {
  fromCache: boolean
}

/** Returns the digest in lowercase hex, or throws when it is not a sha256 hex digest. */
export function normalizeSha256(digest: string, fileLabel: string): string {
  const normalized = digest.trim().toLowerCase()
  if (!SHA256_PATTERN.test(normalized)) {
    throw new Error(`Invalid sha256 for ${fileLabel}: "${digest}". Expected 64 hexadecimal characters.`)
  }

  return normalized
}

/** Computes the sha256 of a file by streaming it, in lowercase hex. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  await pipeline(createReadStream(path), hash)

  return hash.digest('hex')
}

/** Describes why fetch() failed in the usual terms: timed out, refused, not resolved. */
export function describeFetchError(error: unknown, timeoutMs: number): string {
  // Duck typing instead of instanceof, because fetch's errors may come from another realm (jest's vm).
  if (isErrorLike(error) && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `timed out after ${timeoutMs} ms`
  }

  // undici's fetch throws TypeError('fetch failed') with the socket error as its cause.
  if (isErrorLike(error) && isErrorLike(error.cause)) {
    return error.cause.message
  }

  return isErrorLike(error) ? error.message : errorMessage(error)
}

function isErrorLike(value: unknown): value is { name: string; message: string; cause?: unknown } {
  return typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string'
}

/**
 * Sends a GET request and returns the response once its status is 200, with a time limit
 * that covers the headers only. Throws HttpRequestError naming the URL otherwise.
 */
export async function fetchOk(
  url: string,
  options: RequestOptions & { signal?: AbortSignal } = {}
): Promise<Response> {
  const fetchFunction = options.fetch ?? globalThis.fetch
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
  const signal = options.signal ?? AbortSignal.timeout(timeoutMs)

  let response: Response
  try {
    response = await fetchFunction(url, { signal, redirect: 'follow' })
  } catch (error) {
    throw new HttpRequestError(url, `GET ${url} failed: ${describeFetchError(error, timeoutMs)}`)
  }

  if (response.status !== 200) {
    await response.body?.cancel()
    throw new HttpRequestError(url, `GET ${url} returned HTTP ${response.status} ${response.statusText}`.trim(), response.status)
  }

  return response
}

/** Fetches a small text document (headers and body within timeoutMs). */
export async function fetchText(url: string, options: RequestOptions = {}): Promise<string> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
  const signal = AbortSignal.timeout(timeoutMs)
  const response = await fetchOk(url, { ...options, signal })

  try {
    return await response.text()
  } catch (error) {
    throw new HttpRequestError(url, `GET ${url} failed while reading the body: ${describeFetchError(error, timeoutMs)}`)
  }
}

/**
 * Downloads a URL into destination, hashing while it streams. The data goes to a temporary
 * file next to destination, which is renamed once the download is complete and its digest
 * matches expectedSha256 (when given), so destination never contains a partial file or one
 * with another digest.
 */
export async function downloadFile(options: DownloadOptions): Promise<DownloadedFile> {
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS
  const controller = new AbortController()
  let idleTimer = setTimeout(() => controller.abort(), idleTimeoutMs)
  const resetIdleTimer = (): void => {
    clearTimeout(idleTimer)
    idleTimer = setTimeout(() => controller.abort(), idleTimeoutMs)
  }

  try {
    const response = await fetchOk(options.url, { fetch: options.fetch, timeoutMs: idleTimeoutMs, signal: controller.signal })
    if (response.body === null) {
      throw new HttpRequestError(options.url, `GET ${options.url} returned no body`)
    }

    const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>)
    return await writeVerified(body, options.destination, options.expectedSha256, options.url, resetIdleTimer)
  } catch (error) {
    if (error instanceof HttpRequestError || error instanceof ChecksumMismatchError) {
      throw error
    }
    const reason = controller.signal.aborted ? `no data received for ${idleTimeoutMs} ms` : describeFetchError(error, idleTimeoutMs)
    throw new HttpRequestError(options.url, `Download of ${options.url} failed: ${reason}`)
  } finally {
    clearTimeout(idleTimer)
  }
}

/**
 * Copies a local file into destination while hashing it, with the same guarantee as
 * downloadFile: destination appears only when the digest matches expectedSha256.
 */
export async function copyFileVerified(source: string, destination: string, expectedSha256?: string): Promise<DownloadedFile> {
  return writeVerified(createReadStream(source), destination, expectedSha256, source)
}

async function writeVerified(
  input: Readable,
  destination: string,
  expectedSha256: string | undefined,
  origin: string,
  onChunk: () => void = () => undefined
): Promise<DownloadedFile> {
  const expected = expectedSha256 === undefined ? undefined : normalizeSha256(expectedSha256, origin)
  const file = basename(destination)
  const partPath = join(dirname(destination), `.${file}.${randomBytes(6).toString('hex')}.part`)

  const hash = createHash('sha256')
  let bytes = 0
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      onChunk()
      hash.update(chunk)
      bytes += chunk.length
      callback(null, chunk)
    }
  })

  await mkdir(dirname(destination), { recursive: true })
  try {
    await pipeline(input, hashing, createWriteStream(partPath, { mode: 0o644 }))
  } catch (error) {
    await rm(partPath, { force: true })
    throw error
  }

  const sha256 = hash.digest('hex')
  if (expected !== undefined && sha256 !== expected) {
    await rm(partPath, { force: true })
    throw new ChecksumMismatchError(file, expected, sha256, origin)
  }

  await rename(partPath, destination)

  return { path: destination, sha256, bytes }
}

/**
 * Returns a verified copy of a URL in cacheDir. A cached file is reused only when its
 * sha256 matches. A cached file with another digest is deleted and downloaded again.
 */
export async function cachedDownload(options: CachedDownloadOptions): Promise<CachedFile> {
  const expectedSha256 = normalizeSha256(options.expectedSha256, options.url)
  const filename = options.filename ?? basename(new URL(options.url).pathname)
  const path = join(options.cacheDir, filename)
  const log = options.log ?? (() => undefined)

  const cached = await stat(path).catch(() => undefined)
  if (cached?.isFile()) {
    const sha256 = await sha256File(path)
    if (sha256 === expectedSha256) {
      log(`Using cached ${path} (sha256 ${sha256})`)
      return { path, sha256, bytes: cached.size, fromCache: true }
    }

    log(`Deleting cached ${path}: sha256 ${sha256} differs from the expected ${expectedSha256}`)
    await rm(path, { force: true })
  }

  log(`Downloading ${options.url}`)
  const downloaded = await downloadFile({
    url: options.url,
    destination: path,
    expectedSha256,
    fetch: options.fetch,
    idleTimeoutMs: options.idleTimeoutMs
  })

  return { ...downloaded, fromCache: false }
}
