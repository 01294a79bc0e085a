import type { IncomingMessage, ServerResponse } from 'node:http'

/** A request body read up to a size limit. */
export interface BodyRead {
  /** The body, or its first `limit` bytes when it was larger. */
  body: Buffer
  /** Size of the whole body in bytes, also when it was over the limit. */
  totalBytes: number
  /** True when the body was larger than the limit. */
  overLimit: boolean
  /** HTTP trailers sent after a chunked body (lower-case names). */
  trailers: NodeJS.Dict<string>
}

/**
 * Reads a request body, keeping at most `limit` bytes in memory but draining the rest, so
 * the connection stays usable for the next request (keep-alive).
 */
export function readBody(request: IncomingMessage, limit: number): Promise<BodyRead> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let keptBytes = 0
    let totalBytes = 0

    request.on('data', (chunk: Buffer) => {
      totalBytes += chunk.length

      if (keptBytes < limit) {
        const keptPart = chunk.subarray(0, limit - keptBytes)
        chunks.push(keptPart)
        keptBytes += keptPart.length
      }
    })

    request.on('end', () => {
      resolve({
        body: Buffer.concat(chunks),
        totalBytes,
        overLimit: totalBytes > limit,
        trailers: request.trailers
      })
    })

    request.on('error', reject)
  })
}

/** Sends a complete response with a Content-Length, unless the client has gone. */
export function sendBody(response: ServerResponse, status: number, body: Buffer, headers: Record<string, string> = {}): void {
  if (response.destroyed || response.writableEnded) {
    return
  }

  response.writeHead(status, {
    'Content-Type': 'application/json',
    ...headers,
    'Content-Length': String(body.length)
  })
  response.end(body)
}

/** Returns one header's value. Node joins repeated headers with ", ". */
export function headerValue(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name.toLowerCase()]

  if (Array.isArray(value)) {
    return value.join(', ')
  }

  return value
}
