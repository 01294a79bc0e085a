import { createHash } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { basename } from 'node:path'

import * as core from '@actions/core'
import { getOctokit } from '@actions/github'

import { errorMessage } from './errors.js'

/** Markers around the release notes section that every run rewrites. Text outside them is kept. */
export const NOTES_START_MARKER = '<!-- runtime-layer-action:layers:start -->'
export const NOTES_END_MARKER = '<!-- runtime-layer-action:layers:end -->'

export const SHA256SUMS_NAME = 'SHA256SUMS'

export interface ReleaseRequest {
  /** Token with contents write permission. */
  token: string
  tag: string
  /** owner/name. Default: GITHUB_REPOSITORY. */
  repository?: string
  /** Markdown placed between the markers, e.g. renderReportMarkdown(). */
  notes: string
  /** Files to upload as assets, besides the SHA256SUMS made from them. */
  assetPaths: string[]
  /** REST API base URL. Default: GITHUB_API_URL, else https://api.github.com. */
  baseUrl?: string
  /** Commit to create the tag at when it does not exist yet. Default: GITHUB_SHA. */
  targetCommitish?: string
}

export interface ReleaseAsset {
  name: string
  size: number
  /** Download URL of the asset. */
  url: string
}

export interface ReleaseResult {
  id: number
  htmlUrl: string
  /** True when this run created the release, false when it updated an existing one. */
  created: boolean
  assets: ReleaseAsset[]
}

interface ExistingRelease {
  id: number
  body?: string | null
  upload_url: string
  html_url: string
}

type Octokit = ReturnType<typeof getOctokit>

/**
 * Creates or updates the GitHub release for the tag: rewrites the notes between the markers
 * and uploads the assets plus SHA256SUMS, deleting same-named assets first.
 */
export async function publishRelease(request: ReleaseRequest): Promise<ReleaseResult> {
  const { owner, repo } = parseRepository(request.repository ?? process.env.GITHUB_REPOSITORY ?? '')
  const baseUrl = request.baseUrl ?? process.env.GITHUB_API_URL ?? 'https://api.github.com'
  const octokit = getOctokit(request.token, { baseUrl })

  const files = await Promise.all(request.assetPaths.map(readAssetFile))
  const names = files.map((file) => file.name)
  if (new Set(names).size !== names.length || names.includes(SHA256SUMS_NAME)) {
    throw new Error(`release assets need distinct file names other than ${SHA256SUMS_NAME}; got ${names.join(', ')}`)
  }

  const sums = Buffer.from(renderSha256Sums(files), 'utf8')
  const uploads = [...files.map(({ name, content }) => ({ name, content })), { name: SHA256SUMS_NAME, content: sums }]

  const existing = await step(`find the release for tag ${request.tag}`, () => findRelease(octokit, owner, repo, request.tag))
  let release: ExistingRelease
  if (existing === undefined) {
    release = await step(`create the release for tag ${request.tag}`, () => createRelease(octokit, owner, repo, request))
    core.info(`Created release ${request.tag} (id ${release.id})`)
  } else {
    release = await step(`update the notes of release ${existing.id}`, () => updateNotes(octokit, owner, repo, existing, request.notes))
    core.info(`Updated the notes of release ${request.tag} (id ${release.id})`)
  }

  await step(`delete old assets of release ${release.id}`, () => deleteAssetsNamed(octokit, owner, repo, release.id, uploads.map((upload) => upload.name)))

  const assets: ReleaseAsset[] = []
  for (const upload of uploads) {
    const asset = await step(`upload ${upload.name} to release ${release.id}`, () => uploadAsset(octokit, owner, repo, release, upload.name, upload.content))
    core.info(`Uploaded release asset ${asset.name} (${asset.size} bytes)`)
    assets.push(asset)
  }

  return { id: release.id, htmlUrl: release.html_url, created: existing === undefined, assets }
}

/**
 * Returns the body with the section between the markers replaced by `section`, or with a new
 * marked section appended when the body has none. Text outside the markers is kept as it is.
 */
export function replaceMarkedSection(body: string, section: string): string {
  const block = `${NOTES_START_MARKER}\n${section.trim()}\n${NOTES_END_MARKER}`

  // The start marker nearest before the first end marker, so a stray start marker left by a
  // hand edit never swallows the user's text.
  const end = body.indexOf(NOTES_END_MARKER)
  const start = end === -1 ? -1 : body.lastIndexOf(NOTES_START_MARKER, end)
  if (start === -1) {
    const userText = body.trimEnd()
    return userText === '' ? block : `${userText}\n\n${block}`
  }

  return body.slice(0, start) + block + body.slice(end + NOTES_END_MARKER.length)
}

/** Renders a SHA256SUMS file in the format `sha256sum --check` reads: hex digest, two spaces, name. */
export function renderSha256Sums(files: readonly { name: string; sha256: string }[]): string {
  return files.map((file) => `${file.sha256}  ${file.name}\n`).join('')
}

async function readAssetFile(path: string): Promise<{ name: string; content: Buffer; sha256: string }> {
  const info = await stat(path)
  if (!info.isFile()) {
    throw new Error(`release asset ${path} is not a regular file`)
  }

  const content = await readFile(path)
  const sha256 = createHash('sha256').update(content).digest('hex')
  return { name: basename(path), content, sha256 }
}

function parseRepository(repository: string): { owner: string; repo: string } {
  const match = /^([^/\s]+)\/([^/\s]+)$/.exec(repository)
  if (match === null) {
    throw new Error(`repository "${repository}" is invalid: expected owner/name (GITHUB_REPOSITORY is set on GitHub runners)`)
  }

  return { owner: match[1]!, repo: match[2]! }
}

/**
 * Looks the release up by tag. The tag endpoint returns published releases only, so on 404 the
 * first 100 releases are searched for a draft with that tag.
 */
async function findRelease(octokit: Octokit, owner: string, repo: string, tag: string): Promise<ExistingRelease | undefined> {
  try {
    const response = await octokit.rest.repos.getReleaseByTag({ owner, repo, tag })
    return response.data
  } catch (error) {
    if (statusOf(error) !== 404) {
      throw error
    }
  }

  // NOTE: a draft beyond the 100 newest releases is not found, and a second release is created.
  const response = await octokit.rest.repos.listReleases({ owner, repo, per_page: 100 })
  return response.data.find((release) => release.tag_name === tag)
}

async function createRelease(octokit: Octokit, owner: string, repo: string, request: ReleaseRequest): Promise<ExistingRelease> {
  const targetCommitish = request.targetCommitish ?? process.env.GITHUB_SHA
  const response = await octokit.rest.repos.createRelease({
    owner,
    repo,
    tag_name: request.tag,
    name: request.tag,
    body: replaceMarkedSection('', request.notes),
    ...(targetCommitish ? { target_commitish: targetCommitish } : {})
  })

  return response.data
}

async function updateNotes(
  octokit: Octokit,
  owner: string,
  repo: string,
  release: ExistingRelease,
  notes: string
): Promise<ExistingRelease> {
  const body = replaceMarkedSection(release.body ?? '', notes)
  const response = await octokit.rest.repos.updateRelease({ owner, repo, release_id: release.id, body })
  return response.data
}

async function deleteAssetsNamed(octokit: Octokit, owner: string, repo: string, releaseId: number, names: string[]): Promise<void> {
  const assets = await octokit.paginate(octokit.rest.repos.listReleaseAssets, { owner, repo, release_id: releaseId, per_page: 100 })

  for (const asset of assets.filter((candidate) => names.includes(candidate.name))) {
    await octokit.rest.repos.deleteReleaseAsset({ owner, repo, asset_id: asset.id })
    core.info(`Deleted release asset ${asset.name} (id ${asset.id}) to replace it`)
  }
}

async function uploadAsset(
  octokit: Octokit,
  owner: string,
  repo: string,
  release: ExistingRelease,
  name: string,
  content: Buffer
): Promise<ReleaseAsset> {
  // upload_url is a URI template ending in {?name,label}. It points at the upload host, which
  // differs from the API host on github.com and on GitHub Enterprise Server.
  const response = await octokit.rest.repos.uploadReleaseAsset({
    owner,
    repo,
    release_id: release.id,
    url: release.upload_url,
    name,
    // The endpoint's type declares a string, but Octokit sends a Buffer body unchanged.
    data: content as unknown as string,
    headers: { 'content-type': contentType(name), 'content-length': content.length }
  })

  return { name: response.data.name, size: response.data.size, url: response.data.browser_download_url }
}

function contentType(name: string): string {
  if (name.endsWith('.zip')) {
    return 'application/zip'
  }

  return name === SHA256SUMS_NAME ? 'text/plain' : 'application/octet-stream'
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status
  return typeof status === 'number' ? status : undefined
}

async function step<T>(description: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action()
  } catch (error) {
    const status = statusOf(error)
    const code = status === undefined ? '' : ` (HTTP ${status})`
    throw new Error(`GitHub release: failed to ${description}${code}: ${errorMessage(error)}`)
  }
}
