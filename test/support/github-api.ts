import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A stand-in for the GitHub REST API calls that src/release.ts makes, on 127.0.0.1 at a random
 * port. It checks the token, keeps releases and assets in memory across requests (so reruns can
 * be tested), and returns an upload_url that points back at itself, as github.com returns one
 * on its uploads host.
 */

export interface StandInAsset {
  id: number
  name: string
  label: string
  contentType: string
  content: Buffer
}

export interface StandInRelease {
  id: number
  tagName: string
  name: string
  body: string
  draft: boolean
  targetCommitish: string
  assets: StandInAsset[]
}

export interface RecordedRequest {
  method: string
  path: string
  status: number
}

export interface GitHubApiStandInOptions {
  /** The only token accepted, as `token X` or `Bearer X`. */
  token: string
  /** The only repository served, owner/name. */
  repository: string
}

interface Route {
  method: string
  pattern: RegExp
  handle: (match: RegExpExecArray, request: IncomingMessage, url: URL, body: Buffer) => Reply
}

interface Reply {
  status: number
  json?: unknown
  raw?: Buffer
  headers?: Record<string, string>
}

export class GitHubApiStandIn {
  readonly requests: RecordedRequest[] = []
  readonly releases: StandInRelease[] = []

  private readonly token: string
  private readonly repository: string
  private readonly server: Server
  private readonly routes: Route[]
  private nextId = 1

  constructor(options: GitHubApiStandInOptions) {
    this.token = options.token
    this.repository = options.repository
    this.server = createServer((request, response) => {
      void this.serve(request, response)
    })
    this.routes = this.buildRoutes()
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(0, '127.0.0.1', () => resolve())
    })
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  /** Base URL for the REST API, e.g. http://127.0.0.1:40123 (what GITHUB_API_URL would hold). */
  get url(): string {
    const address = this.server.address() as AddressInfo | null
    if (address === null) {
      throw new Error('GitHub API stand-in is not started')
    }

    return `http://127.0.0.1:${address.port}`
  }

  /** Adds a release as if a user had made it before the action ran. */
  addRelease(release: { tagName: string; body?: string; draft?: boolean }): StandInRelease {
    const created: StandInRelease = {
      id: this.nextId++,
      tagName: release.tagName,
      name: release.tagName,
      body: release.body ?? '',
      draft: release.draft ?? false,
      targetCommitish: 'main',
      assets: []
    }
    this.releases.push(created)
    return created
  }

  /** Adds an asset to a release as if a user had uploaded it. */
  addAsset(release: StandInRelease, name: string, content: Buffer): StandInAsset {
    const asset: StandInAsset = { id: this.nextId++, name, label: '', contentType: 'application/octet-stream', content }
    release.assets.push(asset)
    return asset
  }

  findRelease(tagName: string): StandInRelease | undefined {
    return this.releases.find((release) => release.tagName === tagName)
  }

  private buildRoutes(): Route[] {
    const repo = this.repository.replace('/', '\\/')
    const api = `^\\/repos\\/${repo}\\/releases`

    return [
      { method: 'GET', pattern: new RegExp(`${api}\\/tags\\/(.+)$`), handle: (m) => this.getReleaseByTag(decodeURIComponent(m[1]!)) },
      { method: 'GET', pattern: new RegExp(`${api}$`), handle: (_m, _r, url) => this.listReleases(url) },
      { method: 'POST', pattern: new RegExp(`${api}$`), handle: (_m, _r, _u, body) => this.createRelease(body) },
      { method: 'PATCH', pattern: new RegExp(`${api}\\/(\\d+)$`), handle: (m, _r, _u, body) => this.updateRelease(Number(m[1]), body) },
      { method: 'GET', pattern: new RegExp(`${api}\\/(\\d+)\\/assets$`), handle: (m, _r, url) => this.listAssets(Number(m[1]), url) },
      { method: 'DELETE', pattern: new RegExp(`${api}\\/assets\\/(\\d+)$`), handle: (m) => this.deleteAsset(Number(m[1])) },
      {
        method: 'POST',
        pattern: new RegExp(`^\\/uploads\\/repos\\/${repo}\\/releases\\/(\\d+)\\/assets$`),
        handle: (m, request, url, body) => this.uploadAsset(Number(m[1]), request, url, body)
      },
      { method: 'GET', pattern: /^\/downloads\/(\d+)$/, handle: (m) => this.downloadAsset(Number(m[1])) }
    ]
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of request) {
      chunks.push(chunk as Buffer)
    }

    const url = new URL(request.url ?? '/', this.url)
    let reply: Reply
    try {
      reply = this.dispatch(request, url, Buffer.concat(chunks))
    } catch (error) {
      // GitHub returns 400 "Problems parsing JSON" for a body it cannot parse.
      reply = { status: 400, json: { message: `Problems parsing JSON: ${String(error)}` } }
    }

    this.requests.push({ method: request.method ?? '', path: url.pathname + url.search, status: reply.status })

    const payload = reply.raw ?? (reply.json === undefined ? undefined : Buffer.from(JSON.stringify(reply.json)))
    response.writeHead(reply.status, {
      ...(reply.json === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }),
      ...reply.headers
    })
    response.end(payload)
  }

  private dispatch(request: IncomingMessage, url: URL, body: Buffer): Reply {
    const isDownload = url.pathname.startsWith('/downloads/')
    if (!isDownload && !this.isAuthorized(request.headers.authorization)) {
      return { status: 401, json: { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' } }
    }

    for (const route of this.routes) {
      const match = route.method === request.method ? route.pattern.exec(url.pathname) : null
      if (match !== null) {
        return route.handle(match, request, url, body)
      }
    }

    return notFound()
  }

  private isAuthorized(authorization: string | undefined): boolean {
    return authorization === `token ${this.token}` || authorization === `Bearer ${this.token}`
  }

  private getReleaseByTag(tag: string): Reply {
    const release = this.releases.find((candidate) => candidate.tagName === tag && !candidate.draft)
    return release === undefined ? notFound() : { status: 200, json: this.releaseJson(release) }
  }

  private listReleases(url: URL): Reply {
    const newestFirst = [...this.releases].reverse()
    return this.page(newestFirst.map((release) => this.releaseJson(release)), url)
  }

  private createRelease(body: Buffer): Reply {
    const fields = JSON.parse(body.toString('utf8')) as Record<string, unknown>
    const tagName = fields.tag_name
    if (typeof tagName !== 'string' || tagName === '') {
      return validationFailed('Release', 'missing_field', 'tag_name')
    }

    if (this.findRelease(tagName) !== undefined) {
      return validationFailed('Release', 'already_exists', 'tag_name')
    }

    const release = this.addRelease({ tagName, body: stringField(fields.body), draft: fields.draft === true })
    release.name = stringField(fields.name) || tagName
    release.targetCommitish = stringField(fields.target_commitish) || 'main'
    return { status: 201, json: this.releaseJson(release) }
  }

  private updateRelease(id: number, body: Buffer): Reply {
    const release = this.releases.find((candidate) => candidate.id === id)
    if (release === undefined) {
      return notFound()
    }

    const fields = JSON.parse(body.toString('utf8')) as Record<string, unknown>
    if (typeof fields.body === 'string') {
      release.body = fields.body
    }

    if (typeof fields.name === 'string') {
      release.name = fields.name
    }

    return { status: 200, json: this.releaseJson(release) }
  }

  private listAssets(releaseId: number, url: URL): Reply {
    const release = this.releases.find((candidate) => candidate.id === releaseId)
    if (release === undefined) {
      return notFound()
    }

    return this.page(release.assets.map((asset) => this.assetJson(asset)), url)
  }

  private deleteAsset(assetId: number): Reply {
    for (const release of this.releases) {
      const index = release.assets.findIndex((asset) => asset.id === assetId)
      if (index !== -1) {
        release.assets.splice(index, 1)
        return { status: 204 }
      }
    }

    return notFound()
  }

  private uploadAsset(releaseId: number, request: IncomingMessage, url: URL, body: Buffer): Reply {
    const release = this.releases.find((candidate) => candidate.id === releaseId)
    if (release === undefined) {
      return notFound()
    }

    const name = url.searchParams.get('name')
    if (name === null || name === '') {
      return validationFailed('ReleaseAsset', 'missing_field', 'name')
    }

    if (release.assets.some((asset) => asset.name === name)) {
      return validationFailed('ReleaseAsset', 'already_exists', 'name')
    }

    const asset = this.addAsset(release, name, body)
    asset.label = url.searchParams.get('label') ?? ''
    asset.contentType = request.headers['content-type'] ?? 'application/octet-stream'
    return { status: 201, json: this.assetJson(asset) }
  }

  private downloadAsset(assetId: number): Reply {
    const asset = this.releases.flatMap((release) => release.assets).find((candidate) => candidate.id === assetId)
    return asset === undefined ? notFound() : { status: 200, raw: asset.content, headers: { 'content-type': asset.contentType } }
  }

  /** Serves one page of a list with a Link header, as GitHub paginates with per_page and page. */
  private page(items: unknown[], url: URL): Reply {
    const perPage = Number(url.searchParams.get('per_page') ?? '30')
    const page = Number(url.searchParams.get('page') ?? '1')
    const slice = items.slice((page - 1) * perPage, page * perPage)

    const headers: Record<string, string> = {}
    if (page * perPage < items.length) {
      const next = new URL(url.toString())
      next.searchParams.set('page', String(page + 1))
      headers.link = `<${next.toString()}>; rel="next"`
    }

    return { status: 200, json: slice, headers }
  }

  private releaseJson(release: StandInRelease): Record<string, unknown> {
    const api = `${this.url}/repos/${this.repository}/releases/${release.id}`
    return {
      id: release.id,
      tag_name: release.tagName,
      target_commitish: release.targetCommitish,
      name: release.name,
      body: release.body,
      draft: release.draft,
      prerelease: false,
      url: api,
      html_url: `${this.url}/${this.repository}/releases/tag/${encodeURIComponent(release.tagName)}`,
      assets_url: `${api}/assets`,
      upload_url: `${this.url}/uploads/repos/${this.repository}/releases/${release.id}/assets{?name,label}`,
      assets: release.assets.map((asset) => this.assetJson(asset))
    }
  }

  private assetJson(asset: StandInAsset): Record<string, unknown> {
    return {
      id: asset.id,
      name: asset.name,
      label: asset.label,
      content_type: asset.contentType,
      size: asset.content.length,
      state: 'uploaded',
      url: `${this.url}/repos/${this.repository}/releases/assets/${asset.id}`,
      browser_download_url: `${this.url}/downloads/${asset.id}`
    }
  }
}

function notFound(): Reply {
  return { status: 404, json: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' } }
}

function validationFailed(resource: string, code: string, field: string): Reply {
  return { status: 422, json: { message: 'Validation Failed', errors: [{ resource, code, field }] } }
}

function stringField(value: unknown): string {
  return typeof value === 'string' ? value : ''
}
