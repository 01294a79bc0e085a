import { execFile } from 'node:child_process'
import { mkdtemp, open, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join, resolve } from 'node:path'

import * as core from '@actions/core'

import {
  cachedDownload,
  copyFileVerified,
  downloadFile,
  normalizeSha256,
  type FetchFunction
} from './download.js'
import { DEFAULT_PHP_NET_URL, distributionUrl } from './resolve.js'

export interface PhpSourceOptions {
  /** Full PHP version, for example 8.2.32. */
  version: string
  /** sha256 of php-X.Y.Z.tar.xz from php.net's releases JSON. Required for downloads. */
  expectedSha256?: string
  /** Base URL of php.net or a mirror that serves /distributions/ (default https://www.php.net). */
  baseUrl?: string
  /** A php-X.Y.Z.tar.xz on disk, used instead of a download (air-gapped builds). */
  localTarball?: string
  /** Detached signature of localTarball (default: localTarball + '.asc'). */
  localSignature?: string
  /** OpenPGP keyring (binary or ASCII-armored) to check the .asc signature against. */
  keyring?: string
  /** Folder for downloaded and copied tarballs, reused across runs. */
  cacheDir: string
  fetch?: FetchFunction
  idleTimeoutMs?: number
  log?: (message: string) => void
}

/** A good signature, as reported by gpgv. */
export interface VerifiedSignature {
  status: 'verified'
  signatureFile: string
  /** Fingerprint of the signer's primary key, as php.net's gpg-keys page lists it. */
  fingerprint: string
  /** Fingerprint of the key that made the signature (a subkey or the primary key). */
  signingKeyFingerprint: string
  /** User id of the signing key, for example "Sergey Panteleev <sergey@php.net>". */
  signer: string
}

export type SignatureStatus = VerifiedSignature | { status: 'not-checked'; reason: string }

/** A PHP source tarball whose sha256 and, when a keyring was given, signature were verified. */
export interface PhpSource {
  path: string
  filename: string
  version: string
  sha256: string
  /** Source of the file: downloaded now, an earlier download with the expected digest (cache), or a copy of localTarball (local). */
  origin: 'download' | 'cache' | 'local'
  signature: SignatureStatus
}

/** Raised when gpgv rejects a signature or cannot check it. */
export class SignatureVerificationError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly signatureFile: string
  ) {
    super(message)
    this.name = 'SignatureVerificationError'
  }
}

const VERSION_PATTERN = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/

/** Returns the upstream tarball name of a PHP version, for example php-8.2.32.tar.xz. */
export function phpTarballName(version: string): string {
  return `php-${version}.tar.xz`
}

/**
 * Gets a verified PHP source tarball into cacheDir: downloaded from <baseUrl>/distributions/,
 * reused from an earlier download, or copied from localTarball. The sha256 is checked while
 * the data streams, before anything can be unpacked. With a keyring, the .asc signature is
 * checked too. A local tarball must also contain the requested version.
 */
export async function getPhpSource(options: PhpSourceOptions): Promise<PhpSource> {
  if (!VERSION_PATTERN.test(options.version)) {
    throw new Error(`Invalid PHP version "${options.version}" for the source tarball: expected a full version such as 8.2.32.`)
  }
  if (options.keyring !== undefined) {
    await requireFile(options.keyring, 'keyring')
  }

  if (options.localTarball !== undefined) {
    return getLocalSource(options, options.localTarball)
  }

  return downloadSource(options)
}

async function downloadSource(options: PhpSourceOptions): Promise<PhpSource> {
  const filename = phpTarballName(options.version)
  const log = options.log ?? core.info
  if (options.expectedSha256 === undefined) {
    throw new Error(`No sha256 given for ${filename}: pass the tar.xz sha256 from php.net's releases JSON, so the download can be verified.`)
  }

  const baseUrl = options.baseUrl ?? DEFAULT_PHP_NET_URL
  const tarball = await cachedDownload({
    url: distributionUrl(baseUrl, filename),
    cacheDir: options.cacheDir,
    filename,
    expectedSha256: options.expectedSha256,
    fetch: options.fetch,
    idleTimeoutMs: options.idleTimeoutMs,
    log
  })
  log(`${filename}: sha256 ${tarball.sha256} matches php.net's releases JSON`)

  let signature: SignatureStatus = { status: 'not-checked', reason: 'no keyring given' }
  if (options.keyring !== undefined) {
    // The .asc is fetched again on each run because it is small and gpgv checks it anyway.
    const signatureUrl = distributionUrl(baseUrl, `${filename}.asc`)
    const signatureFile = await downloadFile({
      url: signatureUrl,
      destination: join(options.cacheDir, `${filename}.asc`),
      fetch: options.fetch,
      idleTimeoutMs: options.idleTimeoutMs
    })
    signature = await verifySignature(tarball.path, signatureFile.path, options.keyring)
    log(`${filename}: good signature from ${signature.signer}, key ${signature.fingerprint}`)
  }

  return {
    path: tarball.path,
    filename,
    version: options.version,
    sha256: tarball.sha256,
    origin: tarball.fromCache ? 'cache' : 'download',
    signature
  }
}

async function getLocalSource(options: PhpSourceOptions, localTarball: string): Promise<PhpSource> {
  const filename = phpTarballName(options.version)
  const log = options.log ?? core.info
  const expectedSha256 = options.expectedSha256 === undefined ? undefined : normalizeSha256(options.expectedSha256, localTarball)
  if (expectedSha256 === undefined && options.keyring === undefined) {
    throw new Error(
      `Cannot verify the local tarball ${localTarball}: give its sha256 (from php.net's releases JSON) or a keyring to check its .asc signature.`
    )
  }

  await requireFile(localTarball, 'local PHP tarball')
  const signatureFile = options.localSignature ?? `${localTarball}.asc`
  if (options.keyring !== undefined) {
    await requireFile(signatureFile, `signature of ${localTarball}`)
  }

  // Copying into the cache hashes the file once and leaves a verified copy, so later
  // changes to the original cannot reach the build. The local tarball may already be that
  // file (fetch-php-source.sh output used as the cache), and then it is never deleted.
  const destination = join(options.cacheDir, filename)
  const isCacheFile = resolve(localTarball) === resolve(destination)
  const copy = await copyFileVerified(localTarball, destination, expectedSha256)
  try {
    if (expectedSha256 !== undefined) {
      log(`${localTarball}: sha256 ${copy.sha256} matches the expected digest`)
    }

    let signature: SignatureStatus = { status: 'not-checked', reason: 'no keyring given' }
    if (options.keyring !== undefined) {
      signature = await verifySignature(copy.path, resolve(signatureFile), options.keyring)
      log(`${localTarball}: good signature from ${signature.signer}, key ${signature.fingerprint}`)
    }

    // A signature proves who made a tarball, not which version it is.
    await checkTarballVersion(copy.path, options.version, localTarball)

    return { path: copy.path, filename, version: options.version, sha256: copy.sha256, origin: 'local', signature }
  } catch (error) {
    if (!isCacheFile) {
      await rm(copy.path, { force: true })
    }
    throw error
  }
}

/**
 * Verifies a detached signature with gpgv in a temporary GnuPG home, so the user's keyrings
 * and trust settings play no part. Throws SignatureVerificationError on any bad or
 * uncheckable signature.
 */
export async function verifySignature(file: string, signatureFile: string, keyring: string): Promise<VerifiedSignature> {
  const gnupgHome = await mkdtemp(join(tmpdir(), 'php-source-gnupg-'))

  try {
    const keyringPath = (await isArmored(keyring)) ? await dearmor(keyring, gnupgHome) : resolve(keyring)
    const result = await runTool('gpgv', ['--homedir', gnupgHome, '--status-fd', '1', '--keyring', keyringPath, signatureFile, file], {
      GNUPGHOME: gnupgHome
    })

    return parseGpgvStatus(result, file, signatureFile, keyring)
  } finally {
    await rm(gnupgHome, { recursive: true, force: true })
  }
}

interface ToolResult {
  code: number
  stdout: string
  stderr: string
}

/** Interprets gpgv's --status-fd lines (GnuPG doc/DETAILS) into a verified signature or an error. */
function parseGpgvStatus(result: ToolResult, file: string, signatureFile: string, keyring: string): VerifiedSignature {
  const status = result.stdout
    .split('\n')
    .filter((line) => line.startsWith('[GNUPG:] '))
    .map((line) => line.slice('[GNUPG:] '.length).split(' '))
  const find = (keyword: string): string[] | undefined => status.find((fields) => fields[0] === keyword)
  const fileName = basename(file)
  const signatureName = basename(signatureFile)

  const bad = find('BADSIG')
  if (bad !== undefined) {
    throw new SignatureVerificationError(
      `Bad signature: ${fileName} does not match ${signatureName} (signed by key ${bad[1]}, ${bad.slice(2).join(' ')}). ` +
        'The file was changed after it was signed; do not build from it.',
      file,
      signatureFile
    )
  }

  const revoked = find('REVKEYSIG')
  if (revoked !== undefined) {
    throw new SignatureVerificationError(
      `${signatureName} was made by the revoked key ${revoked[1]} (${revoked.slice(2).join(' ')}). Do not build from ${fileName}.`,
      file,
      signatureFile
    )
  }

  const missingKey = find('NO_PUBKEY') ?? find('ERRSIG')
  if (missingKey !== undefined) {
    throw new SignatureVerificationError(
      `Cannot check ${signatureName}: it was made by key ${missingKey[1]}, which is not in the keyring ${keyring}. ` +
        "Use a keyring with the PHP release managers' keys (php.net/distributions/php-keyring.gpg, or debian/upstream/signing-key.asc of Debian's php source).",
      file,
      signatureFile
    )
  }

  // NOTE: a signature by a key that has since expired (EXPKEYSIG) is accepted when gpgv exits
  // 0. No test covers that case.
  const valid = find('VALIDSIG')
  const good = find('GOODSIG') ?? find('EXPKEYSIG') ?? find('EXPSIG')
  if (result.code !== 0 || valid === undefined || valid[1] === undefined) {
    throw new SignatureVerificationError(
      `gpgv could not verify ${signatureName} for ${fileName} (exit code ${result.code}): ${result.stderr.trim() || 'no output'}`,
      file,
      signatureFile
    )
  }

  return {
    status: 'verified',
    signatureFile,
    fingerprint: valid[10] ?? valid[1],
    signingKeyFingerprint: valid[1],
    signer: good === undefined ? valid[1] : good.slice(2).join(' ')
  }
}

async function checkTarballVersion(path: string, version: string, origin: string): Promise<void> {
  const member = `php-${version}/main/php_version.h`
  const result = await runTool('tar', ['--occurrence=1', '-xJOf', path, member], {})
  if (result.code !== 0) {
    throw new Error(`${origin} is not the PHP ${version} source: it has no ${member} (tar: ${result.stderr.trim()}).`)
  }

  const found = /#define PHP_VERSION "([^"]+)"/.exec(result.stdout)?.[1]
  if (found !== version) {
    throw new Error(`${origin} contains PHP ${found ?? 'of an unknown version'}, not the requested ${version}.`)
  }
}

async function isArmored(path: string): Promise<boolean> {
  const handle = await open(path, 'r')
  try {
    const buffer = Buffer.alloc(64)
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0)
    return buffer.subarray(0, bytesRead).toString('latin1').trimStart().startsWith('-----BEGIN PGP')
  } finally {
    await handle.close()
  }
}

/** Converts an ASCII-armored keyring into the binary form gpgv reads. */
async function dearmor(keyring: string, gnupgHome: string): Promise<string> {
  const output = join(gnupgHome, 'keyring.gpg')
  const result = await runTool('gpg', ['--homedir', gnupgHome, '--batch', '--dearmor', '--output', output, resolve(keyring)], {
    GNUPGHOME: gnupgHome
  })
  if (result.code !== 0) {
    throw new Error(`gpg --dearmor failed on the keyring ${keyring}: ${result.stderr.trim()}`)
  }

  return output
}

const INSTALL_HINTS: Record<string, string> = {
  gpgv: 'install gpgv (apt-get install gpgv, dnf install gnupg2)',
  gpg: 'install gnupg (apt-get install gnupg, dnf install gnupg2)',
  tar: 'install tar and xz (apt-get install tar xz-utils, dnf install tar xz)'
}

/** Runs a tool and returns its exit code and output. A non-zero exit code resolves the promise, it does not reject it. */
function runTool(command: string, args: string[], env: Record<string, string>): Promise<ToolResult> {
  return new Promise((resolvePromise, reject) => {
    execFile(command, args, { env: { ...process.env, ...env }, maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
      const code = (error as NodeJS.ErrnoException | null)?.code
      if (code === 'ENOENT') {
        reject(new Error(`${command} not found: ${INSTALL_HINTS[command] ?? `install ${command}`}.`))
        return
      }
      if (error !== null && typeof code !== 'number') {
        reject(new Error(`${command} failed: ${error.message}`))
        return
      }

      resolvePromise({ code: typeof code === 'number' ? code : 0, stdout, stderr })
    })
  })
}

async function requireFile(path: string, role: string): Promise<void> {
  const info = await stat(path).catch(() => undefined)
  if (!info?.isFile()) {
    throw new Error(`The ${role} ${path} was not found (or is not a file).`)
  }
}
