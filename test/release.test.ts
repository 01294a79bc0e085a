import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { jest } from '@jest/globals'

import {
  NOTES_END_MARKER,
  NOTES_START_MARKER,
  publishRelease,
  renderSha256Sums,
  replaceMarkedSection,
  type ReleaseRequest
} from '../src/release.js'
import { GitHubApiStandIn } from './support/github-api.js'

const TOKEN = 'ghs_test_token'
const REPOSITORY = 'octo/layers'

describe('replaceMarkedSection', () => {
  it('appends a section to an empty body', () => {
    expect(replaceMarkedSection('', 'table')).toBe(`${NOTES_START_MARKER}\ntable\n${NOTES_END_MARKER}`)
  })

  it('appends after user text', () => {
    expect(replaceMarkedSection('Hello\n', 'table')).toBe(`Hello\n\n${NOTES_START_MARKER}\ntable\n${NOTES_END_MARKER}`)
  })

  it('replaces only the marked section', () => {
    const body = `Intro\r\n${NOTES_START_MARKER}\nold\n${NOTES_END_MARKER}\r\nOutro`
    expect(replaceMarkedSection(body, 'new')).toBe(`Intro\r\n${NOTES_START_MARKER}\nnew\n${NOTES_END_MARKER}\r\nOutro`)
  })

  it('keeps text after a stray start marker', () => {
    const body = `${NOTES_START_MARKER}\nuser text\n${NOTES_START_MARKER}\nold\n${NOTES_END_MARKER}`
    const result = replaceMarkedSection(body, 'new')
    expect(result).toContain('user text')
    expect(result).not.toContain('old')
  })

  it('is stable when run twice', () => {
    const once = replaceMarkedSection('Intro', 'table')
    expect(replaceMarkedSection(once, 'table')).toBe(once)
  })
})

describe('renderSha256Sums', () => {
  it('writes the sha256sum format', () => {
    expect(renderSha256Sums([{ name: 'a.zip', sha256: 'ab' }])).toBe('ab  a.zip\n')
  })
})

describe('publishRelease against the GitHub API stand-in', () => {
  let api: GitHubApiStandIn
  let folder: string
  let zipPath: string

  beforeEach(async () => {
    api = new GitHubApiStandIn({ token: TOKEN, repository: REPOSITORY })
    await api.start()
    folder = mkdtempSync(join(tmpdir(), 'release-test-'))
    zipPath = join(folder, 'php-8.4.3-x86_64.zip')
    writeFileSync(zipPath, 'first zip contents')
    jest.spyOn(process.stdout, 'write').mockImplementation(() => true)
  })

  afterEach(async () => {
    jest.restoreAllMocks()
    await api.stop()
    rmSync(folder, { recursive: true, force: true })
  })

  function request(notes: string): ReleaseRequest {
    return { token: TOKEN, tag: 'v1.0.0', repository: REPOSITORY, notes, assetPaths: [zipPath], baseUrl: api.url, targetCommitish: 'abc123' }
  }

  it('creates a release with notes and assets', async () => {
    const result = await publishRelease(request('| table v1 |'))

    const release = api.findRelease('v1.0.0')
    expect(result.created).toBe(true)
    expect(release?.body).toBe(`${NOTES_START_MARKER}\n| table v1 |\n${NOTES_END_MARKER}`)
    expect(release?.targetCommitish).toBe('abc123')
    expect(release?.assets.map((asset) => asset.name)).toEqual(['php-8.4.3-x86_64.zip', 'SHA256SUMS'])
    expect(release?.assets[0]?.content.toString()).toBe('first zip contents')
    expect(release?.assets[0]?.contentType).toBe('application/zip')
  })

  it('writes SHA256SUMS for the zip', async () => {
    await publishRelease(request('notes'))

    const digest = createHash('sha256').update('first zip contents').digest('hex')
    const sums = api.findRelease('v1.0.0')?.assets.find((asset) => asset.name === 'SHA256SUMS')
    expect(sums?.content.toString()).toBe(`${digest}  php-8.4.3-x86_64.zip\n`)
  })

  it('rerun rewrites notes and replaces assets', async () => {
    const existing = api.addRelease({ tagName: 'v1.0.0', body: 'Written by hand.' })
    api.addAsset(existing, 'notes.txt', Buffer.from('user asset'))
    await publishRelease(request('| table v1 |'))

    writeFileSync(zipPath, 'second zip contents')
    const result = await publishRelease(request('| table v2 |'))

    const release = api.findRelease('v1.0.0')
    expect(result.created).toBe(false)
    expect(api.releases).toHaveLength(1)
    expect(release?.body).toBe(`Written by hand.\n\n${NOTES_START_MARKER}\n| table v2 |\n${NOTES_END_MARKER}`)
    expect(release?.assets.map((asset) => asset.name).sort()).toEqual(['SHA256SUMS', 'notes.txt', 'php-8.4.3-x86_64.zip'])
    expect(release?.assets.find((asset) => asset.name === 'php-8.4.3-x86_64.zip')?.content.toString()).toBe('second zip contents')
  })

  it('rerun deletes before uploading', async () => {
    await publishRelease(request('notes'))
    api.requests.length = 0

    await publishRelease(request('notes'))

    const calls = api.requests.map((call) => `${call.method} ${call.status}`)
    expect(calls.filter((call) => call === 'DELETE 204')).toHaveLength(2)
    expect(calls.filter((call) => call === 'POST 201')).toHaveLength(2)
    expect(calls.indexOf('DELETE 204')).toBeLessThan(calls.indexOf('POST 201'))
  })

  it('uploads to the upload_url host', async () => {
    await publishRelease(request('notes'))

    const uploads = api.requests
      .filter((call) => call.path.startsWith('/uploads/'))
      .map((call) => new URL(call.path, api.url))
    expect(uploads.map((url) => url.pathname)).toEqual([
      '/uploads/repos/octo/layers/releases/1/assets',
      '/uploads/repos/octo/layers/releases/1/assets'
    ])
    expect(uploads.map((url) => url.searchParams.get('name'))).toEqual(['php-8.4.3-x86_64.zip', 'SHA256SUMS'])
  })

  it('updates a draft release found by listing', async () => {
    api.addRelease({ tagName: 'v1.0.0', body: 'Draft text', draft: true })

    const result = await publishRelease(request('table'))

    expect(result.created).toBe(false)
    expect(api.releases).toHaveLength(1)
    expect(api.findRelease('v1.0.0')?.body).toContain('Draft text')
  })

  it('reports a rejected token', async () => {
    await expect(publishRelease({ ...request('notes'), token: 'wrong' })).rejects.toThrow(
      'GitHub release: failed to find the release for tag v1.0.0 (HTTP 401): Bad credentials'
    )
  })

  it('rejects an invalid repository', async () => {
    await expect(publishRelease({ ...request('notes'), repository: 'no-slash' })).rejects.toThrow('repository "no-slash" is invalid')
  })

  it('rejects an asset named SHA256SUMS', async () => {
    const sums = join(folder, 'SHA256SUMS')
    writeFileSync(sums, '')
    await expect(publishRelease({ ...request('notes'), assetPaths: [sums] })).rejects.toThrow('other than SHA256SUMS')
  })
})
