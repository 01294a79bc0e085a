import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

import { ChecksumMismatchError } from '../src/download.js'
import { getPhpSource, SignatureVerificationError } from '../src/php-source.js'
import { resolvePhpRelease } from '../src/resolve.js'
import { actionRoot } from '../src/paths.js'
import { PhpNetStandIn, type StandInRelease } from './support/php-net.js'

const run = promisify(execFile)

// The real PHP 8.2.32 release: Debian's php8.2_8.2.32.orig.tar.xz is php.net's php-8.2.32.tar.xz,
// and this is the tar.xz sha256 php.net lists for it.
const PHP_8_2_32_SHA256 = 'e02aa173c236c12791696254d607da680e6d5516f8f5c2339642de7c4f944bd2'
// Sergey Panteleev's key, one of the PHP 8.2 release managers, which signed php-8.2.32.tar.xz.
const SIGNER_FINGERPRINT = 'E60913E4DF209907D8E30D96659A97C9CF2A795A'

interface FetchedSource {
  version: string
  sha256: string
  tarball: string
  signature: string
  keyring: string
}

let source: FetchedSource
let workDir: string
const openStandIns: PhpNetStandIn[] = []

/** Runs scripts/fetch-php-source.sh (apt-get source from Debian, or its earlier output) and parses its key=value lines. */
async function fetchRealSource(): Promise<FetchedSource> {
  const { stdout } = await run(join(actionRoot(), 'scripts', 'fetch-php-source.sh'), [], { maxBuffer: 1024 * 1024 })
  const values = Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)])
  ) as Record<string, string>

  return values as unknown as FetchedSource
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

/** Starts a php.net stand-in listing 8.2.31 and 8.2.32 (tarball sha256 given) and serving the real files. */
async function startPhpNet(tarballSha256: string, distributions: Record<string, string | Buffer> = {}): Promise<PhpNetStandIn> {
  const releases: StandInRelease[] = [
    { version: '8.2.32', date: '02 Jul 2026', tags: ['security'], sha256: { 'tar.gz': '0'.repeat(64), 'tar.xz': tarballSha256 } },
    { version: '8.2.31', date: '04 Jun 2026', tags: ['security'], sha256: { 'tar.xz': '1'.repeat(64) } }
  ]
  const phpNet = new PhpNetStandIn({
    releases,
    supportedBranches: ['8.2'],
    distributions: {
      'php-8.2.32.tar.xz': source.tarball,
      'php-8.2.32.tar.xz.asc': source.signature,
      'php-keyring.gpg': source.keyring,
      ...distributions
    }
  })
  await phpNet.start()
  openStandIns.push(phpNet)

  return phpNet
}

async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))

  return typeof address === 'object' && address !== null ? address.port : 0
}

function tarballRequests(phpNet: PhpNetStandIn): number {
  return phpNet.requests.filter((request) => request.url === '/distributions/php-8.2.32.tar.xz').length
}

beforeAll(async () => {
  source = await fetchRealSource()
}, 300_000)

beforeEach(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'php-source-test-'))
})

afterEach(async () => {
  await Promise.all(openStandIns.splice(0).map((phpNet) => phpNet.stop()))
  await rm(workDir, { recursive: true, force: true })
})

describe('fetch-php-source.sh output', () => {
  it('is the real PHP 8.2.32 release', () => {
    expect(source.version).toBe('8.2.32')
    expect(source.sha256).toBe(PHP_8_2_32_SHA256)
    expect(source.tarball).toMatch(/\/\.cache\/php-source\/php-8\.2\.32\.tar\.xz$/)
  })
})

describe('getPhpSource download', () => {
  it('downloads and verifies the real tarball', async () => {
    const phpNet = await startPhpNet(source.sha256)
    const release = await resolvePhpRelease('8.2', { baseUrl: phpNet.baseUrl })
    const cacheDir = join(workDir, 'cache')

    const result = await getPhpSource({
      version: release.version,
      expectedSha256: release.tarball.sha256,
      baseUrl: phpNet.baseUrl,
      keyring: source.keyring,
      cacheDir,
      log: () => undefined
    })

    expect(release.version).toBe('8.2.32')
    expect(result.origin).toBe('download')
    expect(result.path).toBe(join(cacheDir, 'php-8.2.32.tar.xz'))
    expect(result.sha256).toBe(PHP_8_2_32_SHA256)
    expect(sha256(await readFile(result.path))).toBe(PHP_8_2_32_SHA256)
    expect(result.signature.status).toBe('verified')
    expect(result.signature).toMatchObject({ fingerprint: SIGNER_FINGERPRINT, signer: 'Sergey Panteleev <sergey@php.net>' })
    expect(tarballRequests(phpNet)).toBe(1)
  })

  it('reuses a cached tarball', async () => {
    const phpNet = await startPhpNet(source.sha256)
    const options = { version: '8.2.32', expectedSha256: source.sha256, baseUrl: phpNet.baseUrl, cacheDir: workDir, log: () => undefined }

    const first = await getPhpSource(options)
    const second = await getPhpSource(options)

    expect(first.origin).toBe('download')
    expect(second.origin).toBe('cache')
    expect(second.signature).toEqual({ status: 'not-checked', reason: 'no keyring given' })
    expect(tarballRequests(phpNet)).toBe(1)
  })

  it('replaces a cached tarball with another digest', async () => {
    const phpNet = await startPhpNet(source.sha256)
    await writeFile(join(workDir, 'php-8.2.32.tar.xz'), 'not the release')
    const messages: string[] = []

    const result = await getPhpSource({
      version: '8.2.32',
      expectedSha256: source.sha256,
      baseUrl: phpNet.baseUrl,
      cacheDir: workDir,
      log: (message) => messages.push(message)
    })

    expect(result.origin).toBe('download')
    expect(sha256(await readFile(result.path))).toBe(PHP_8_2_32_SHA256)
    expect(messages.some((message) => message.startsWith(`Deleting cached ${join(workDir, 'php-8.2.32.tar.xz')}`))).toBe(true)
  })

  it('stops on a checksum mismatch', async () => {
    const phpNet = await startPhpNet(source.sha256)
    phpNet.corrupt('php-8.2.32.tar.xz')
    const corrupted = Buffer.from(await readFile(source.tarball))
    corrupted[4096] = (corrupted[4096] as number) ^ 0xff
    const cacheDir = join(workDir, 'cache')

    const error = (await getPhpSource({
      version: '8.2.32',
      expectedSha256: source.sha256,
      baseUrl: phpNet.baseUrl,
      cacheDir,
      log: () => undefined
    }).catch((caught: unknown) => caught)) as ChecksumMismatchError

    expect(error).toBeInstanceOf(ChecksumMismatchError)
    expect(error.message).toContain(`sha256 mismatch for php-8.2.32.tar.xz from ${phpNet.baseUrl}/distributions/php-8.2.32.tar.xz`)
    expect(error.message).toContain(`expected ${PHP_8_2_32_SHA256}, got ${sha256(corrupted)}`)
    expect(await readdir(cacheDir)).toEqual([])
  })

  it('rejects a tampered tarball by signature', async () => {
    // The JSON lists the tampered file's digest, so only the signature can catch it.
    const tampered = Buffer.concat([await readFile(source.tarball), Buffer.from('tampered')])
    const phpNet = await startPhpNet(sha256(tampered), { 'php-8.2.32.tar.xz': tampered })
    const release = await resolvePhpRelease('8.2.32', { baseUrl: phpNet.baseUrl })

    const error = (await getPhpSource({
      version: '8.2.32',
      expectedSha256: release.tarball.sha256,
      baseUrl: phpNet.baseUrl,
      keyring: source.keyring,
      cacheDir: workDir,
      log: () => undefined
    }).catch((caught: unknown) => caught)) as SignatureVerificationError

    expect(error).toBeInstanceOf(SignatureVerificationError)
    expect(error.message).toContain('Bad signature: php-8.2.32.tar.xz does not match php-8.2.32.tar.xz.asc')
    expect(error.message).toContain('659A97C9CF2A795A')
  })

  it('rejects a signature from an unknown key', async () => {
    const signature = await signWithNewKey(source.tarball)
    const phpNet = await startPhpNet(source.sha256, { 'php-8.2.32.tar.xz.asc': signature })

    const error = (await getPhpSource({
      version: '8.2.32',
      expectedSha256: source.sha256,
      baseUrl: phpNet.baseUrl,
      keyring: source.keyring,
      cacheDir: workDir,
      log: () => undefined
    }).catch((caught: unknown) => caught)) as SignatureVerificationError

    expect(error).toBeInstanceOf(SignatureVerificationError)
    expect(error.message).toContain(`Cannot check php-8.2.32.tar.xz.asc: it was made by key`)
    expect(error.message).toContain(`which is not in the keyring ${source.keyring}`)
  })

  it('accepts an armored keyring', async () => {
    const phpNet = await startPhpNet(source.sha256)
    const armored = join(workDir, 'keys.asc')
    await writeFile(armored, await armor(source.keyring))

    const result = await getPhpSource({
      version: '8.2.32',
      expectedSha256: source.sha256,
      baseUrl: phpNet.baseUrl,
      keyring: armored,
      cacheDir: join(workDir, 'cache'),
      log: () => undefined
    })

    expect(result.signature).toMatchObject({ status: 'verified', fingerprint: SIGNER_FINGERPRINT })
  })

  it('reports a missing tarball', async () => {
    const phpNet = await startPhpNet(source.sha256)

    await expect(
      getPhpSource({ version: '8.2.31', expectedSha256: '1'.repeat(64), baseUrl: phpNet.baseUrl, cacheDir: workDir, log: () => undefined })
    ).rejects.toThrow(`GET ${phpNet.baseUrl}/distributions/php-8.2.31.tar.xz returned HTTP 404`)
  })

  it('names the URL when php.net is unreachable', async () => {
    const baseUrl = `http://127.0.0.1:${await closedPort()}`

    const error = (await getPhpSource({
      version: '8.2.32',
      expectedSha256: source.sha256,
      baseUrl,
      cacheDir: workDir,
      log: () => undefined
    }).catch((caught: unknown) => caught)) as Error

    expect(error.message).toContain(`GET ${baseUrl}/distributions/php-8.2.32.tar.xz failed`)
    expect(error.message).toContain('ECONNREFUSED')
  })

  it('requires a sha256 for downloads', async () => {
    await expect(getPhpSource({ version: '8.2.32', cacheDir: workDir, log: () => undefined })).rejects.toThrow(
      "No sha256 given for php-8.2.32.tar.xz: pass the tar.xz sha256 from php.net's releases JSON"
    )
  })

  it('rejects a version that is not X.Y.Z', async () => {
    await expect(getPhpSource({ version: '8.2', expectedSha256: source.sha256, cacheDir: workDir })).rejects.toThrow(
      'Invalid PHP version "8.2" for the source tarball'
    )
  })
})

describe('getPhpSource local tarball', () => {
  it('copies a local tarball with its sha256', async () => {
    const cacheDir = join(workDir, 'cache')

    const result = await getPhpSource({
      version: '8.2.32',
      localTarball: source.tarball,
      expectedSha256: PHP_8_2_32_SHA256.toUpperCase(),
      cacheDir,
      log: () => undefined
    })

    expect(result.origin).toBe('local')
    expect(result.path).toBe(join(cacheDir, 'php-8.2.32.tar.xz'))
    expect(result.sha256).toBe(PHP_8_2_32_SHA256)
    expect(result.signature.status).toBe('not-checked')
  })

  it('verifies a local tarball by signature', async () => {
    const result = await getPhpSource({
      version: '8.2.32',
      localTarball: source.tarball,
      keyring: source.keyring,
      cacheDir: workDir,
      log: () => undefined
    })

    expect(result.origin).toBe('local')
    expect(result.sha256).toBe(PHP_8_2_32_SHA256)
    expect(result.signature).toMatchObject({ status: 'verified', fingerprint: SIGNER_FINGERPRINT, signatureFile: source.signature })
  })

  it('rejects a local tarball of another version', async () => {
    const renamed = join(workDir, 'php-8.2.33.tar.xz')
    await copyFile(source.tarball, renamed)
    await copyFile(source.signature, `${renamed}.asc`)
    const cacheDir = join(workDir, 'cache')

    await expect(
      getPhpSource({ version: '8.2.33', localTarball: renamed, keyring: source.keyring, cacheDir, log: () => undefined })
    ).rejects.toThrow(`${renamed} is not the PHP 8.2.33 source: it has no php-8.2.33/main/php_version.h`)
    expect(await readdir(cacheDir)).toEqual([])
  })

  it('keeps a local tarball that is the cache file', async () => {
    const local = join(workDir, 'php-8.2.32.tar.xz')
    await copyFile(source.tarball, local)
    await copyFile(source.signature, `${local}.asc`)

    const misnamed = join(workDir, 'php-8.2.33.tar.xz')
    await copyFile(source.tarball, misnamed)
    await copyFile(source.signature, `${misnamed}.asc`)

    const result = await getPhpSource({ version: '8.2.32', localTarball: local, keyring: source.keyring, cacheDir: workDir, log: () => undefined })
    await expect(
      getPhpSource({ version: '8.2.33', localTarball: misnamed, keyring: source.keyring, cacheDir: workDir, log: () => undefined })
    ).rejects.toThrow('is not the PHP 8.2.33 source')

    expect(result.path).toBe(local)
    expect(result.signature.status).toBe('verified')
    expect(sha256(await readFile(local))).toBe(PHP_8_2_32_SHA256)
    expect(sha256(await readFile(misnamed))).toBe(PHP_8_2_32_SHA256)
  })

  it('rejects a local tarball with another sha256', async () => {
    await expect(
      getPhpSource({ version: '8.2.32', localTarball: source.tarball, expectedSha256: 'f'.repeat(64), cacheDir: workDir, log: () => undefined })
    ).rejects.toThrow(`sha256 mismatch for php-8.2.32.tar.xz from ${source.tarball}: expected ${'f'.repeat(64)}, got ${PHP_8_2_32_SHA256}`)
  })

  it('requires a sha256 or keyring', async () => {
    await expect(getPhpSource({ version: '8.2.32', localTarball: source.tarball, cacheDir: workDir })).rejects.toThrow(
      `Cannot verify the local tarball ${source.tarball}: give its sha256`
    )
  })

  it('requires the signature file', async () => {
    const lonely = join(workDir, 'php-8.2.32.tar.xz')
    await copyFile(source.tarball, lonely)

    await expect(
      getPhpSource({ version: '8.2.32', localTarball: lonely, keyring: source.keyring, cacheDir: join(workDir, 'cache') })
    ).rejects.toThrow(`The signature of ${lonely} ${lonely}.asc was not found`)
  })

  it('requires the keyring file', async () => {
    await expect(
      getPhpSource({ version: '8.2.32', localTarball: source.tarball, keyring: join(workDir, 'missing.gpg'), cacheDir: workDir })
    ).rejects.toThrow(`The keyring ${join(workDir, 'missing.gpg')} was not found`)
  })
})

/** Signs a file with a fresh ed25519 key in a throwaway GnuPG home and returns the armored signature. */
async function signWithNewKey(file: string): Promise<Buffer> {
  const home = await mkdtemp(join(tmpdir(), 'php-source-test-gnupg-'))
  const gpg = (...args: string[]) => run('gpg', ['--homedir', home, '--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', ...args])

  try {
    await gpg('--quick-generate-key', 'Unknown Signer <unknown@example.invalid>', 'ed25519', 'sign', 'never')
    await gpg('--armor', '--detach-sign', '--output', join(home, 'signature.asc'), file)
    return await readFile(join(home, 'signature.asc'))
  } finally {
    // gpg started an agent for this home to keep the secret key, so stop it.
    await run('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']).catch(() => undefined)
    await rm(home, { recursive: true, force: true })
  }
}

/** Exports a binary keyring as an ASCII-armored public key block. */
async function armor(keyring: string): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), 'php-source-test-gnupg-'))

  try {
    // A copy, because gpg may write lock files next to the keyring it opens.
    await copyFile(keyring, join(home, 'keyring.gpg'))
    const { stdout } = await run('gpg', ['--homedir', home, '--batch', '--quiet', '--no-default-keyring', '--keyring', join(home, 'keyring.gpg'), '--armor', '--export'])
    return stdout
  } finally {
    await rm(home, { recursive: true, force: true })
  }
}
