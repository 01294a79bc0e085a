import { createHash } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { cachedDownload, ChecksumMismatchError, downloadFile, normalizeSha256 } from '../src/download.js'
import { PhpNetStandIn } from './support/php-net.js'

// A PECL-style tarball: any file with a pinned sha256.
const EXTENSION = Buffer.from('redis-6.1.0 stand-in tarball\n'.repeat(1000))
const EXTENSION_SHA256 = createHash('sha256').update(EXTENSION).digest('hex')

let cacheDir: string
let phpNet: PhpNetStandIn

beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'download-test-'))
  phpNet = new PhpNetStandIn({ releases: [], distributions: { 'redis-6.1.0.tgz': EXTENSION } })
  await phpNet.start()
})

afterEach(async () => {
  await phpNet.stop()
  await rm(cacheDir, { recursive: true, force: true })
})

describe('cachedDownload', () => {
  it('downloads once then reuses the file', async () => {
    const url = `${phpNet.baseUrl}/distributions/redis-6.1.0.tgz`

    const first = await cachedDownload({ url, cacheDir, expectedSha256: EXTENSION_SHA256 })
    const second = await cachedDownload({ url, cacheDir, expectedSha256: EXTENSION_SHA256 })

    expect(first).toEqual({ path: join(cacheDir, 'redis-6.1.0.tgz'), sha256: EXTENSION_SHA256, bytes: EXTENSION.length, fromCache: false })
    expect(second.fromCache).toBe(true)
    expect(await readFile(second.path)).toEqual(EXTENSION)
    expect(phpNet.requests.length).toBe(1)
  })

  it('leaves nothing behind on a mismatch', async () => {
    phpNet.corrupt('redis-6.1.0.tgz')

    const error = (await cachedDownload({
      url: `${phpNet.baseUrl}/distributions/redis-6.1.0.tgz`,
      cacheDir,
      expectedSha256: EXTENSION_SHA256
    }).catch((caught: unknown) => caught)) as ChecksumMismatchError

    expect(error).toBeInstanceOf(ChecksumMismatchError)
    expect(error.file).toBe('redis-6.1.0.tgz')
    expect(error.expectedSha256).toBe(EXTENSION_SHA256)
    expect(error.actualSha256).not.toBe(EXTENSION_SHA256)
    expect(await readdir(cacheDir)).toEqual([])
  })

  it('rejects an invalid expected sha256', async () => {
    await expect(
      cachedDownload({ url: `${phpNet.baseUrl}/distributions/redis-6.1.0.tgz`, cacheDir, expectedSha256: 'abc' })
    ).rejects.toThrow('Invalid sha256 for http://127.0.0.1:')
  })
})

describe('downloadFile timeouts', () => {
  it('times out waiting for headers', async () => {
    phpNet.hang('/distributions/redis-6.1.0.tgz')
    const url = `${phpNet.baseUrl}/distributions/redis-6.1.0.tgz`

    await expect(downloadFile({ url, destination: join(cacheDir, 'redis.tgz'), idleTimeoutMs: 200 })).rejects.toThrow(
      `GET ${url} failed: timed out after 200 ms`
    )
    expect(await readdir(cacheDir)).toEqual([])
  })

  it('times out when the body stalls', async () => {
    // The stand-in always sends whole files, so this server sends half a body and stops.
    const server: Server = createServer((_request, response) => {
      response.writeHead(200, { 'Content-Length': EXTENSION.length })
      response.write(EXTENSION.subarray(0, EXTENSION.length / 2))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/redis.tgz`

    try {
      await expect(downloadFile({ url, destination: join(cacheDir, 'redis.tgz'), idleTimeoutMs: 200 })).rejects.toThrow(
        `Download of ${url} failed: no data received for 200 ms`
      )
      expect(await readdir(cacheDir)).toEqual([])
    } finally {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})

describe('normalizeSha256', () => {
  it('lowercases a valid digest', () => {
    expect(normalizeSha256(` ${EXTENSION_SHA256.toUpperCase()} `, 'x')).toBe(EXTENSION_SHA256)
  })

  it('names the value when invalid', () => {
    expect(() => normalizeSha256('e02aa1', 'php-8.2.32.tar.xz')).toThrow(
      'Invalid sha256 for php-8.2.32.tar.xz: "e02aa1". Expected 64 hexadecimal characters.'
    )
  })
})
