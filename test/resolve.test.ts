import { createServer } from 'node:net'

import {
  checkForNewerRelease,
  compareVersions,
  distributionUrl,
  listSupportedBranches,
  parseVersionSpec,
  releasesApiUrl,
  resolvePhpRelease,
  VersionNotFoundError
} from '../src/resolve.js'
import { PhpNetStandIn, type StandInRelease } from './support/php-net.js'

const digest = (character: string): string => character.repeat(64)

/** php.net's shape in mid 2026: four supported branches, old releases newest first and interleaved. */
const RELEASES: StandInRelease[] = [
  { version: '8.5.9', date: '30 Jul 2026', tags: ['security'], sha256: { 'tar.gz': digest('1'), 'tar.bz2': digest('2'), 'tar.xz': digest('3') } },
  { version: '8.4.24', date: '30 Jul 2026', tags: ['security'], sha256: { 'tar.gz': digest('4'), 'tar.xz': digest('5') } },
  { version: '8.3.33', date: '30 Jul 2026', tags: ['security'], sha256: { 'tar.xz': digest('6') } },
  { version: '8.2.33', date: '30 Jul 2026', tags: ['security'], sha256: { 'tar.xz': digest('7') } },
  { version: '8.4.23', date: '02 Jul 2026', tags: ['security'], sha256: { 'tar.xz': digest('8') } },
  { version: '8.3.32', date: '02 Jul 2026', tags: [''], sha256: { 'tar.xz': digest('9') } },
  { version: '8.2.32', date: '02 Jul 2026', tags: [], sha256: { 'tar.xz': digest('a') } },
  { version: '8.1.34', date: '18 Dec 2025', tags: ['security'], sha256: { 'tar.xz': digest('b') } },
  { version: '7.4.33', date: '03 Nov 2022', sha256: { 'tar.xz': digest('c') } },
  { version: '5.2.17', date: '06 Jan 2011', sha256: { 'tar.gz': digest('d') } }
]
const SUPPORTED = ['8.2', '8.3', '8.4', '8.5']

/** Returns a 127.0.0.1 port that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))

  return typeof address === 'object' && address !== null ? address.port : 0
}

describe('parseVersionSpec', () => {
  it.each([
    ['8.3.14', { kind: 'exact', version: '8.3.14' }],
    ['8.4', { kind: 'minor', branch: '8.4' }],
    ['latest', { kind: 'latest' }],
    [' Latest ', { kind: 'latest' }],
    ['8.10.0', { kind: 'exact', version: '8.10.0' }]
  ])('accepts %p', (input, expected) => {
    expect(parseVersionSpec(input)).toEqual(expected)
  })

  it.each(['8', '8.4.x', 'php-8.4', 'v8.4', '08.4', '8.4.1.2', '8.4.0RC1', '', 'newest'])('rejects %p', (input) => {
    expect(parseVersionSpec(input)).toBeUndefined()
  })
})

describe('compareVersions', () => {
  it('compares numerically, not as text', () => {
    expect(compareVersions('8.4.10', '8.4.9')).toBeGreaterThan(0)
    expect(compareVersions('8.10.0', '8.9.30')).toBeGreaterThan(0)
    expect(compareVersions('8.4.9', '8.4.9')).toBe(0)
    expect(compareVersions('7.4.33', '8.0.0')).toBeLessThan(0)
  })
})

describe('URL builders', () => {
  it('builds php.net release API URLs', () => {
    expect(releasesApiUrl('https://www.php.net', { version: '8.4' })).toBe('https://www.php.net/releases/index.php?json&version=8.4')
    expect(releasesApiUrl('https://www.php.net/', { version: '8.4', max: '3' })).toBe(
      'https://www.php.net/releases/index.php?json&version=8.4&max=3'
    )
    expect(releasesApiUrl('https://mirror.example/php')).toBe('https://mirror.example/php/releases/index.php?json')
  })

  it('builds distribution URLs', () => {
    expect(distributionUrl('https://www.php.net', 'php-8.4.24.tar.xz')).toBe('https://www.php.net/distributions/php-8.4.24.tar.xz')
  })

  it('rejects a base URL that is not http', () => {
    expect(() => releasesApiUrl('ftp://www.php.net')).toThrow('Invalid php.net base URL "ftp://www.php.net"')
    expect(() => distributionUrl('www.php.net', 'x')).toThrow('Invalid php.net base URL "www.php.net"')
  })
})

describe('resolvePhpRelease', () => {
  let phpNet: PhpNetStandIn

  beforeEach(async () => {
    phpNet = new PhpNetStandIn({ releases: RELEASES, supportedBranches: SUPPORTED })
    await phpNet.start()
  })

  afterEach(async () => {
    await phpNet.stop()
  })

  it('resolves an exact current version', async () => {
    const release = await resolvePhpRelease('8.4.24', { baseUrl: phpNet.baseUrl })

    expect(release.version).toBe('8.4.24')
    expect(release.branch).toBe('8.4')
    expect(release.date).toBe('30 Jul 2026')
    expect(release.tags).toEqual(['security'])
    expect(release.tarball).toEqual({ filename: 'php-8.4.24.tar.xz', sha256: digest('5') })
    expect(release.source.map((file) => file.filename)).toEqual(['php-8.4.24.tar.gz', 'php-8.4.24.tar.xz'])
    expect(release.supportedVersions).toEqual(SUPPORTED)
    expect(release.supported).toBe(true)
    expect(phpNet.requests.map((request) => request.url)).toEqual(['/releases/index.php?json&version=8.4.24'])
  })

  it('resolves an exact old version', async () => {
    const release = await resolvePhpRelease('8.3.32', { baseUrl: phpNet.baseUrl })

    expect(release.version).toBe('8.3.32')
    expect(release.tarball.sha256).toBe(digest('9'))
    expect(release.tags).toEqual([])
  })

  it('resolves a minor version to its newest release', async () => {
    const release = await resolvePhpRelease('8.4', { baseUrl: phpNet.baseUrl })

    expect(release.version).toBe('8.4.24')
    expect(release.tarball.sha256).toBe(digest('5'))
  })

  it('resolves an unsupported branch and marks it', async () => {
    const release = await resolvePhpRelease('8.1', { baseUrl: phpNet.baseUrl })

    expect(release.version).toBe('8.1.34')
    expect(release.supported).toBe(false)
    expect(release.supportedVersions).toEqual(SUPPORTED)
  })

  it('resolves latest to the newest release of all majors', async () => {
    const release = await resolvePhpRelease('latest', { baseUrl: phpNet.baseUrl })

    expect(release.version).toBe('8.5.9')
    expect(release.tarball).toEqual({ filename: 'php-8.5.9.tar.xz', sha256: digest('3') })
    expect(phpNet.requests.map((request) => request.url)).toEqual(['/releases/index.php?json'])
  })

  it('resolves latest across a new major', async () => {
    phpNet.addRelease({ version: '9.0.0', date: '19 Nov 2026', sha256: { 'tar.xz': digest('e') } })
    phpNet.setSupportedBranches([...SUPPORTED, '9.0'])

    const release = await resolvePhpRelease('latest', { baseUrl: phpNet.baseUrl })

    expect(release.version).toBe('9.0.0')
    expect(release.supportedVersions).toEqual(['9.0'])
  })

  it.each(['8.4.99', '9.1', '8.0', '6.0.0'])('rejects unknown %p listing branches', async (spec) => {
    const error = await resolvePhpRelease(spec, { baseUrl: phpNet.baseUrl }).catch((caught: unknown) => caught)

    expect(error).toBeInstanceOf(VersionNotFoundError)
    expect((error as VersionNotFoundError).supportedBranches).toEqual(SUPPORTED)
    expect((error as Error).message).toContain(`PHP version "${spec}" not found`)
    expect((error as Error).message).toContain(`${phpNet.baseUrl}/releases/index.php?json&version=${spec} returned "Unknown version"`)
    expect((error as Error).message).toContain('Supported branches: 8.2, 8.3, 8.4, 8.5.')
  })

  it.each(['8', '8.4.x', 'php-8.4', ''])('rejects malformed %p listing branches', async (spec) => {
    const error = await resolvePhpRelease(spec, { baseUrl: phpNet.baseUrl }).catch((caught: unknown) => caught)

    expect(error).toBeInstanceOf(VersionNotFoundError)
    expect((error as Error).message).toContain(`Invalid PHP version "${spec}"`)
    expect((error as Error).message).toContain('a full version (8.3.14), a minor version (8.4')
    expect((error as Error).message).toContain('Supported branches: 8.2, 8.3, 8.4, 8.5.')
  })

  it('rejects a release without a tar.xz', async () => {
    await expect(resolvePhpRelease('5.2.17', { baseUrl: phpNet.baseUrl })).rejects.toThrow(
      'lists no php-5.2.17.tar.xz, which the build needs (source files: php-5.2.17.tar.gz)'
    )
  })

  it('rejects a tar.xz without sha256', async () => {
    // php.net lists only md5 for releases up to 5.5.4. The stand-in always lists sha256, so this body is written out.
    const body = { date: '17 Oct 2013', source: [{ filename: 'php-5.5.4.tar.xz', name: 'PHP 5.5.4 (tar.xz)', md5: '0'.repeat(32) }], version: '5.5.4' }
    phpNet.respondWith('/releases/index.php', 200, JSON.stringify(body), 'application/json')

    await expect(resolvePhpRelease('5.5.4', { baseUrl: phpNet.baseUrl })).rejects.toThrow(
      'lists no sha256 for php-5.5.4.tar.xz, so the download cannot be verified.'
    )
  })

  it('reports an HTTP error with the URL', async () => {
    phpNet.respondWith('/releases/index.php', 503)

    await expect(resolvePhpRelease('8.4', { baseUrl: phpNet.baseUrl })).rejects.toThrow(
      `GET ${phpNet.baseUrl}/releases/index.php?json&version=8.4 returned HTTP 503`
    )
  })

  it('reports a response that is not JSON', async () => {
    phpNet.respondWith('/releases/index.php', 200, '<html>maintenance</html>', 'text/html')

    await expect(resolvePhpRelease('8.4', { baseUrl: phpNet.baseUrl })).rejects.toThrow(
      `${phpNet.baseUrl}/releases/index.php?json&version=8.4 did not return JSON (first bytes: "<html>maintenance</html>")`
    )
  })

  it('reports a timeout with the URL', async () => {
    phpNet.hang('/releases/index.php')

    await expect(resolvePhpRelease('8.4', { baseUrl: phpNet.baseUrl, timeoutMs: 200 })).rejects.toThrow(
      `GET ${phpNet.baseUrl}/releases/index.php?json&version=8.4 failed: timed out after 200 ms`
    )
  })
})

describe('resolvePhpRelease unreachable', () => {
  it('names the URL and the connection error', async () => {
    const baseUrl = `http://127.0.0.1:${await closedPort()}`

    const error = (await resolvePhpRelease('8.4', { baseUrl }).catch((caught: unknown) => caught)) as Error

    expect(error.message).toContain(`php.net releases API could not be reached: GET ${baseUrl}/releases/index.php?json&version=8.4 failed`)
    expect(error.message).toContain('ECONNREFUSED')
    expect(error.message).toContain('set the base URL to a reachable php.net mirror')
  })

  it('says when a malformed spec cannot list branches', async () => {
    const baseUrl = `http://127.0.0.1:${await closedPort()}`

    const error = (await resolvePhpRelease('8.x', { baseUrl }).catch((caught: unknown) => caught)) as VersionNotFoundError

    expect(error).toBeInstanceOf(VersionNotFoundError)
    expect(error.message).toContain('Invalid PHP version "8.x"')
    expect(error.message).toContain('The supported branches could not be listed')
    expect(error.supportedBranches).toEqual([])
  })
})

describe('listSupportedBranches', () => {
  it('collects the branches of every major', async () => {
    const phpNet = new PhpNetStandIn({
      releases: [...RELEASES, { version: '9.0.0', sha256: { 'tar.xz': digest('f') } }],
      supportedBranches: ['8.4', '8.5', '9.0']
    })
    await phpNet.start()

    try {
      expect(await listSupportedBranches({ baseUrl: phpNet.baseUrl })).toEqual(['8.4', '8.5', '9.0'])
    } finally {
      await phpNet.stop()
    }
  })
})

describe('checkForNewerRelease', () => {
  let phpNet: PhpNetStandIn

  beforeEach(async () => {
    phpNet = new PhpNetStandIn({ releases: RELEASES, supportedBranches: SUPPORTED })
    await phpNet.start()
  })

  afterEach(async () => {
    await phpNet.stop()
  })

  it('reports a newer release in the branch', async () => {
    const check = await checkForNewerRelease('8.4', '8.4.23', { baseUrl: phpNet.baseUrl })

    expect(check.newer).toBe(true)
    expect(check.latest.version).toBe('8.4.24')
    expect(check.current).toBe('8.4.23')
  })

  it('reports no newer release when current', async () => {
    const check = await checkForNewerRelease('8.4', '8.4.24', { baseUrl: phpNet.baseUrl })

    expect(check.newer).toBe(false)
    expect(check.latest.version).toBe('8.4.24')
  })

  it('sees a release published later', async () => {
    expect((await checkForNewerRelease('8.4', '8.4.24', { baseUrl: phpNet.baseUrl })).newer).toBe(false)

    phpNet.addRelease({ version: '8.4.25', date: '27 Aug 2026', tags: ['security'], sha256: { 'tar.xz': digest('0') } })
    const check = await checkForNewerRelease('8.4', '8.4.24', { baseUrl: phpNet.baseUrl })

    expect(check.newer).toBe(true)
    expect(check.latest.version).toBe('8.4.25')
    expect(check.latest.tarball.sha256).toBe(digest('0'))
  })

  it('compares latest across branches', async () => {
    const check = await checkForNewerRelease('latest', '8.4.24', { baseUrl: phpNet.baseUrl })

    expect(check.newer).toBe(true)
    expect(check.latest.version).toBe('8.5.9')
  })

  it('treats a pinned version as newer only when above current', async () => {
    expect((await checkForNewerRelease('8.3.33', '8.3.32', { baseUrl: phpNet.baseUrl })).newer).toBe(true)
    expect((await checkForNewerRelease('8.3.32', '8.3.32', { baseUrl: phpNet.baseUrl })).newer).toBe(false)
  })

  it('rejects an invalid current version', async () => {
    await expect(checkForNewerRelease('8.4', '8.4', { baseUrl: phpNet.baseUrl })).rejects.toThrow(
      'Invalid current PHP version "8.4": expected a full version such as 8.3.14.'
    )
  })

  it('rejects an unknown spec listing branches', async () => {
    await expect(checkForNewerRelease('7.3', '7.3.0', { baseUrl: phpNet.baseUrl })).rejects.toThrow(
      'Supported branches: 8.2, 8.3, 8.4, 8.5.'
    )
  })
})
