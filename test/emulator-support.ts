// Plain HTTP client for the emulator tests: node:http with keep-alive agents, the way a
// runtime talks to the Runtime API (one reused connection, long-polling /next).
import { Agent, request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http'

import type { RuntimeApiEmulator } from '../src/emulator/index.js'

export interface HttpResponse {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
  text: string
  json(): unknown
}

export interface HttpRequestOptions {
  method?: string
  headers?: OutgoingHttpHeaders
  body?: Buffer | string
  /** Sends the body chunked, followed by these trailers. */
  trailers?: Record<string, string>
}

/** Sends one request and reads the whole response. */
export function httpCall(agent: Agent, url: string, options: HttpRequestOptions = {}): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const headers: OutgoingHttpHeaders = { ...options.headers }
    if (options.trailers !== undefined) {
      headers.Trailer = Object.keys(options.trailers).join(', ')
      headers['Transfer-Encoding'] = 'chunked'
    } else if (options.body !== undefined) {
      headers['Content-Length'] = String(Buffer.byteLength(options.body))
    }

    const request = httpRequest(url, { method: options.method ?? 'GET', headers, agent }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => {
        const body = Buffer.concat(chunks)
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body,
          text: body.toString('utf8'),
          json: () => JSON.parse(body.toString('utf8'))
        })
      })
      response.on('error', reject)
    })

    request.on('error', reject)

    if (options.body !== undefined) {
      request.write(options.body)
    }

    if (options.trailers !== undefined) {
      request.addTrailers(options.trailers)
    }

    request.end()
  })
}

/** A runtime driven by hand: one keep-alive connection, like AWS's runtime clients use. */
export class RuntimeClient {
  readonly agent = new Agent({ keepAlive: true, maxSockets: 1 })

  constructor(private readonly emulator: RuntimeApiEmulator) {}

  url(path: string): string {
    return `${this.emulator.url}/2018-06-01${path}`
  }

  next(): Promise<HttpResponse> {
    return httpCall(this.agent, this.url('/runtime/invocation/next'))
  }

  respond(requestId: string, body: Buffer | string, headers: OutgoingHttpHeaders = {}): Promise<HttpResponse> {
    return httpCall(this.agent, this.url(`/runtime/invocation/${requestId}/response`), { method: 'POST', body, headers })
  }

  error(requestId: string, body: Buffer | string, headers: OutgoingHttpHeaders = {}): Promise<HttpResponse> {
    return httpCall(this.agent, this.url(`/runtime/invocation/${requestId}/error`), { method: 'POST', body, headers })
  }

  initError(body: Buffer | string, headers: OutgoingHttpHeaders = {}): Promise<HttpResponse> {
    return httpCall(this.agent, this.url('/runtime/init/error'), { method: 'POST', body, headers })
  }

  close(): void {
    this.agent.destroy()
  }
}

/** Returns the request id header of a /next response. */
export function requestIdOf(answer: HttpResponse): string {
  const requestId = answer.headers['lambda-runtime-aws-request-id']
  if (typeof requestId !== 'string') {
    throw new Error(`No Lambda-Runtime-Aws-Request-Id in the /next response (status ${answer.status}): ${answer.text}`)
  }

  return requestId
}

/** A clock whose time and timers move only when the test calls advance(). */
export class ManualClock {
  private time: number
  private timers: Array<{ at: number, callback: () => void, cancelled: boolean }> = []

  constructor(start = 1_700_000_000_000) {
    this.time = start
  }

  now = (): number => this.time

  setTimer = (callback: () => void, ms: number): (() => void) => {
    const timer = { at: this.time + ms, callback, cancelled: false }
    this.timers.push(timer)
    return () => {
      timer.cancelled = true
    }
  }

  /** Moves time forward and fires the timers that fall due, in order. */
  advance(ms: number): void {
    this.time += ms
    const due = this.timers.filter((timer) => !timer.cancelled && timer.at <= this.time).sort((a, b) => a.at - b.at)
    this.timers = this.timers.filter((timer) => !due.includes(timer))

    for (const timer of due) {
      timer.callback()
    }
  }
}

/** Waits until `condition` holds, polling every 5 ms, or fails after `timeoutMs`. */
export async function waitUntil(condition: () => boolean, description: string, timeoutMs = 5000): Promise<void> {
  const started = Date.now()

  while (!condition()) {
    if (Date.now() - started > timeoutMs) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting until ${description}`)
    }

    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
