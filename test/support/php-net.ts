import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable, Transform } from 'node:stream'

import { compareVersions } from '../../src/versions.js'

/**
 * A stand-in for www.php.net on 127.0.0.1: the releases JSON API of /releases/index.php and
 * the /distributions/ folder. The JSON follows php/web-php (public/releases/index.php with
 * include/version.inc, include/releases.inc and include/branches.inc): the newest release of
 * each supported branch is a "current" release (version.inc shape, announcement: true), every
 * other release is an "old" one (releases.inc shape, announcement link and museum: false).
 */

/** A release the stand-in lists. */
export interface StandInRelease {
  version: string
  /** php.net's date format, for example "02 Jul 2026". */
  date?: string
  /** For example ["security"]. Left out of an old release's JSON when undefined, as php.net does for some. */
  tags?: string[]
  /** sha256 of each published tarball format. */
  sha256: Partial<Record<'tar.gz' | 'tar.bz2' | 'tar.xz', string>>
}

export interface PhpNetStandInOptions {
  /**
   * Every release to list. Old releases keep this order in the JSON, as releases.inc lists
   * them (newest first by date, with branches interleaved).
   */
  releases: StandInRelease[]
  /** Branches php.net lists as supported (default: every branch that has a release). */
  supportedBranches?: string[]
  /** Files under /distributions/: a local path to stream, or the content itself. */
  distributions?: Record<string, string | Buffer>
}

export interface LoggedRequest {
  method: string
  url: string
  status: number
}

type ReleaseEntry = Record<string, unknown>

/** A JSON object as ordered [key, value] pairs, because JavaScript objects put integer-like keys such as "8" first. */
class OrderedObject {
  constructor(readonly entries: [string, unknown][]) {}
}

const FORMATS = ['tar.gz', 'tar.bz2', 'tar.xz'] as const
const DEFAULT_DATE = '01 Jan 2026'

/** Offset of the byte that corrupt() changes: inside the xz stream, past its 12-byte header. */
const CORRUPTED_OFFSET = 4096

export class PhpNetStandIn {
  readonly requests: LoggedRequest[] = []
  private readonly server: Server
  private releases: StandInRelease[]
  private supportedBranches: string[] | undefined
  private readonly distributions: Map<string, string | Buffer>
  private readonly corrupted = new Set<string>()
  private readonly overrides = new Map<string, { status: number; contentType: string; body: string }>()
  private readonly hanging = new Set<string>()
  private port = 0

  constructor(options: PhpNetStandInOptions) {
    this.releases = [...options.releases]
    this.supportedBranches = options.supportedBranches
    this.distributions = new Map(Object.entries(options.distributions ?? {}))
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        this.send(request, response, 500, 'text/plain', `stand-in error: ${String(error)}\n`)
      })
    })
  }

  /** Base URL to pass as the php.net URL, for example http://127.0.0.1:41234. */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(0, '127.0.0.1', () => resolve())
    })
    this.port = (this.server.address() as AddressInfo).port
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  /** Publishes another release, as php.net does on release day. It becomes its branch's current release when it is the newest. */
  addRelease(release: StandInRelease): void {
    this.releases = [release, ...this.releases]
  }

  setSupportedBranches(branches: string[]): void {
    this.supportedBranches = branches
  }

  setDistribution(filename: string, content: string | Buffer): void {
    this.distributions.set(filename, content)
  }

  /** Serves the file with one byte changed from now on, keeping its length. */
  corrupt(filename: string): void {
    this.corrupted.add(filename)
  }

  /** Sends this response to every request for this path (for example /releases/index.php). */
  respondWith(pathname: string, status: number, body = `stand-in response ${status}\n`, contentType = 'text/plain'): void {
    this.overrides.set(pathname, { status, contentType, body })
  }

  /** Accepts requests for this path but never responds, to exercise client timeouts. */
  hang(pathname: string): void {
    this.hanging.add(pathname)
  }

  /** Returns the JSON body php.net would send for a query string such as "json&version=8.4". */
  releasesJson(query: string): string {
    return encodePhpJson(this.machineReadable(new URLSearchParams(query)))
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1')
    const pathname = decodeURIComponent(url.pathname)

    if (this.hanging.has(pathname)) {
      this.requests.push({ method: request.method ?? '', url: request.url ?? '', status: 0 })
      return
    }

    const override = this.overrides.get(pathname)
    if (override !== undefined) {
      this.send(request, response, override.status, override.contentType, override.body)
      return
    }

    if (pathname === '/releases/index.php' || pathname === '/releases/') {
      this.serveReleases(request, response, url.searchParams)
      return
    }

    if (pathname.startsWith('/distributions/')) {
      await this.serveDistribution(request, response, pathname.slice('/distributions/'.length))
      return
    }

    this.send(request, response, 404, 'text/html; charset=utf-8', '<h1>Not Found</h1>\n')
  }

  private serveReleases(request: IncomingMessage, response: ServerResponse, query: URLSearchParams): void {
    if (query.has('json')) {
      this.send(request, response, 200, 'application/json', encodePhpJson(this.machineReadable(query)))
      return
    }

    // php.net also serves ?serialize (PHP serialize() output) and an HTML page, which the client does not use.
    this.send(request, response, 501, 'text/plain', 'The stand-in serves only ?json.\n')
  }

  private async serveDistribution(request: IncomingMessage, response: ServerResponse, filename: string): Promise<void> {
    const file = this.distributions.get(filename)
    if (file === undefined) {
      this.send(request, response, 404, 'text/html; charset=utf-8', '<h1>Not Found</h1>\n')
      return
    }

    const size = typeof file === 'string' ? (await stat(file)).size : file.length
    const body = typeof file === 'string' ? createReadStream(file) : Readable.from([file])
    const output = this.corrupted.has(filename) ? body.pipe(flipByteAt(Math.min(CORRUPTED_OFFSET, size - 1))) : body

    this.requests.push({ method: request.method ?? '', url: request.url ?? '', status: 200 })
    response.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': size })
    output.pipe(response)
  }

  private send(request: IncomingMessage, response: ServerResponse, status: number, contentType: string, body: string): void {
    this.requests.push({ method: request.method ?? '', url: request.url ?? '', status })
    response.writeHead(status, { 'Content-Type': contentType })
    response.end(body)
  }

  /** Builds the value that public/releases/index.php passes to json_encode() for a query. */
  private machineReadable(query: URLSearchParams): OrderedObject {
    const { current, old } = this.tables()
    const releases = unionByMajor(current, old)
    const supportedVersions = this.supportedVersionsByMajor()
    const version = lastValue(query, 'version')

    if (version === undefined) {
      const latestPerMajor: [string, unknown][] = []
      for (const [major, entries] of releases) {
        const [latestVersion, entry] = entries[0] as [string, ReleaseEntry]
        latestPerMajor.push([String(major), { ...entry, version: latestVersion, supported_versions: supportedVersions.get(major) ?? [] }])
      }
      return new OrderedObject(latestPerMajor)
    }

    const versionArray = versionToArray(version)
    const major = versionArray[0] as number
    const maxValue = lastValue(query, 'max')
    const matches: [string, ReleaseEntry][] = []

    const majorReleases = releases.get(major)
    if (majorReleases !== undefined) {
      let max = maxValue === undefined ? 1 : phpIntval(maxValue)
      if (max === -1) {
        max = Number.POSITIVE_INFINITY
      }

      for (const [releaseVersion, entry] of majorReleases) {
        if (max <= matches.length) {
          break
        }
        if (compareVersion(versionArray, releaseVersion) === 0) {
          const withSupported = maxValue === undefined ? { ...entry, supported_versions: supportedVersions.get(major) ?? [] } : entry
          matches.push([releaseVersion, withSupported])
        }
      }
    }

    if (matches.length === 0) {
      return new OrderedObject([['error', 'Unknown version']])
    }
    if (maxValue === undefined) {
      const [releaseVersion, entry] = matches[0] as [string, ReleaseEntry]
      return new OrderedObject(Object.entries({ ...entry, version: releaseVersion }))
    }

    return new OrderedObject(matches)
  }

  /** Splits the releases into version.inc's current releases and releases.inc's old ones, by major. */
  private tables(): { current: Map<number, [string, ReleaseEntry][]>; old: Map<number, [string, ReleaseEntry][]> } {
    const supported = this.supportedBranchList()
    const newestPerBranch = new Map<string, StandInRelease>()
    for (const release of this.releases) {
      const branch = branchOf(release.version)
      const known = newestPerBranch.get(branch)
      if (supported.includes(branch) && (known === undefined || compareVersions(release.version, known.version) > 0)) {
        newestPerBranch.set(branch, release)
      }
    }

    // version.inc lists the supported branches newest first.
    const current = new Map<number, [string, ReleaseEntry][]>()
    const currentReleases = [...newestPerBranch.values()].sort((a, b) => compareVersions(b.version, a.version))
    for (const release of currentReleases) {
      appendTo(current, majorOf(release.version), [release.version, currentEntry(release)])
    }

    const old = new Map<number, [string, ReleaseEntry][]>()
    for (const release of this.releases) {
      if (!currentReleases.includes(release)) {
        appendTo(old, majorOf(release.version), [release.version, oldEntry(release)])
      }
    }

    return { current, old }
  }

  private supportedBranchList(): string[] {
    return this.supportedBranches ?? [...new Set(this.releases.map((release) => branchOf(release.version)))]
  }

  /** get_active_branches(false) keyed by major, each list sorted oldest first. */
  private supportedVersionsByMajor(): Map<number, string[]> {
    const byMajor = new Map<number, string[]>()
    const withReleases = new Set(this.releases.map((release) => branchOf(release.version)))
    const branches = this.supportedBranchList().filter((branch) => withReleases.has(branch)).sort(compareVersions)
    for (const branch of branches) {
      appendTo(byMajor, majorOf(branch), branch)
    }

    return byMajor
  }
}

function currentEntry(release: StandInRelease): ReleaseEntry {
  return {
    announcement: true,
    tags: release.tags ?? [],
    date: release.date ?? DEFAULT_DATE,
    source: sourceFiles(release)
  }
}

function oldEntry(release: StandInRelease): ReleaseEntry {
  const entry: ReleaseEntry = { announcement: { English: `/releases/${release.version.replaceAll('.', '_')}.php` } }
  if (release.tags !== undefined) {
    entry['tags'] = release.tags
  }
  entry['date'] = release.date ?? DEFAULT_DATE
  entry['source'] = sourceFiles(release)
  entry['museum'] = false

  return entry
}

function sourceFiles(release: StandInRelease): ReleaseEntry[] {
  return FORMATS.filter((format) => release.sha256[format] !== undefined).map((format) => ({
    filename: `php-${release.version}.${format}`,
    name: `PHP ${release.version} (${format})`,
    sha256: release.sha256[format],
    date: release.date ?? DEFAULT_DATE
  }))
}

/** `$RELEASES + $OLDRELEASES`: current majors first, then majors only old releases have. */
function unionByMajor(
  current: Map<number, [string, ReleaseEntry][]>,
  old: Map<number, [string, ReleaseEntry][]>
): Map<number, [string, ReleaseEntry][]> {
  const union = new Map<number, [string, ReleaseEntry][]>()
  for (const [major, entries] of current) {
    // array_replace_recursive($RELEASES, $OLDRELEASES) appends a major's old releases to its current ones.
    union.set(major, [...entries, ...(old.get(major) ?? [])])
  }
  for (const [major, entries] of old) {
    if (!union.has(major)) {
      union.set(major, entries)
    }
  }

  return union
}

/** PHP's (int) cast of a numeric-leading string: "8" -> 8, "8abc" -> 8, "abc" and "" -> 0, "1e3" -> 1000. */
function phpIntval(value: string): number {
  const match = /^[ \t\n\r\v\f]*([+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?)/.exec(value)
  return match === null ? 0 : Math.trunc(Number(match[1]))
}

/** branches.inc version_array(): intval of each dot-separated part, padded with 0 or cut to length. */
function versionToArray(version: string, length?: number): number[] {
  const parts = version.split('.').map(phpIntval)
  if (length === undefined) {
    return parts
  }

  return parts.length < length ? [...parts, ...Array<number>(length - parts.length).fill(0)] : parts.slice(0, length)
}

/** branches.inc compare_version(): compares only as many parts as the query has. */
function compareVersion(queryParts: number[], version: string): number {
  const versionParts = versionToArray(version, queryParts.length)
  for (const [index, part] of queryParts.entries()) {
    const other = versionParts[index] as number
    if (part !== other) {
      return part > other ? 1 : -1
    }
  }

  return 0
}


function branchOf(version: string): string {
  return version.split('.').slice(0, 2).join('.')
}

function majorOf(version: string): number {
  return Number(version.split('.')[0])
}

function appendTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key)
  if (list === undefined) {
    map.set(key, [value])
  } else {
    list.push(value)
  }
}

/** PHP's $_GET keeps the last of repeated parameters. */
function lastValue(query: URLSearchParams, name: string): string | undefined {
  return query.getAll(name).at(-1)
}

/** json_encode() with PHP's default flags: "/" becomes "\/" and non-ASCII becomes \uXXXX. */
function encodePhpJson(value: unknown): string {
  return encodeOrdered(value)
    .replace(/\//g, '\\/')
    .replace(/[\u0080-\uffff]/g, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

function encodeOrdered(value: unknown): string {
  if (value instanceof OrderedObject) {
    return `{${value.entries.map(([key, item]) => `${JSON.stringify(key)}:${encodeOrdered(item)}`).join(',')}}`
  }
  if (Array.isArray(value)) {
    return `[${value.map(encodeOrdered).join(',')}]`
  }
  if (typeof value === 'object' && value !== null) {
    return encodeOrdered(new OrderedObject(Object.entries(value)))
  }

  return JSON.stringify(value)
}

function flipByteAt(offset: number): Transform {
  let position = 0

  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (offset >= position && offset < position + chunk.length) {
        const copy = Buffer.from(chunk)
        copy[offset - position] = (copy[offset - position] as number) ^ 0xff
        chunk = copy
      }
      position += chunk.length
      callback(null, chunk)
    }
  })
}
