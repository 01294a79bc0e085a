import { errorMessage } from './errors.js'
import { fetchText, normalizeSha256, type FetchFunction } from './download.js'
import { compareVersions } from './versions.js'

/** php.net, whose releases JSON API and /distributions/ folder this module reads. */
export const DEFAULT_PHP_NET_URL = 'https://www.php.net'

/** A parsed php-version input: one release, the newest of a branch, or the newest of all. */
export type VersionSpec =
  | { kind: 'exact'; version: string }
  | { kind: 'minor'; branch: string }
  | { kind: 'latest' }

/** One entry of a release's source[] list in php.net's releases JSON. */
export interface ReleaseFile {
  filename: string
  name: string
  /** Missing on old releases (PHP 5.5.4 and earlier), which list only md5. */
  sha256?: string
  date?: string
}

/** A PHP release as php.net's releases JSON describes it. */
export interface PhpRelease {
  /** Full version, for example 8.4.24. */
  version: string
  /** major.minor, for example 8.4. */
  branch: string
  /** Release date as php.net writes it, for example "30 Jul 2026". */
  date: string
  /** Tags such as "security". Empty strings, which php.net lists for some releases, are removed. */
  tags: string[]
  source: ReleaseFile[]
  /** The php-X.Y.Z.tar.xz entry of source[], which the build uses. */
  tarball: { filename: string; sha256: string }
  /** Branches php.net lists as supported for this release's major version, oldest first. */
  supportedVersions: string[]
  /** Whether php.net lists this release's branch as supported. */
  supported: boolean
}

export interface ReleasesApiOptions {
  /** Base URL of php.net or a mirror. The API is at <baseUrl>/releases/index.php. */
  baseUrl?: string
  fetch?: FetchFunction
  timeoutMs?: number
}

/** Result of a check for a release newer than the one last built. */
export interface NewerReleaseCheck {
  spec: VersionSpec
  current: string
  latest: PhpRelease
  newer: boolean
}

const VERSION_PATTERN = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/
const BRANCH_PATTERN = /^(0|[1-9]\d*)\.(0|[1-9]\d*)$/
const SPEC_FORMS = 'a full version (8.3.14), a minor version (8.4, for its newest release) or "latest"'

/** Raised for a malformed spec or a version that php.net does not list. The message names the supported branches. */
export class VersionNotFoundError extends Error {
  constructor(
    message: string,
    readonly supportedBranches: string[]
  ) {
    super(message)
    this.name = 'VersionNotFoundError'
  }
}

/** Parses a php-version input, or returns undefined when it has none of the accepted forms. */
export function parseVersionSpec(input: string): VersionSpec | undefined {
  const spec = input.trim().toLowerCase()

  if (spec === 'latest') {
    return { kind: 'latest' }
  }
  if (VERSION_PATTERN.test(spec)) {
    return { kind: 'exact', version: spec }
  }
  if (BRANCH_PATTERN.test(spec)) {
    return { kind: 'minor', branch: spec }
  }

  return undefined
}

export { compareVersions }

/** Builds the releases JSON API URL for a query such as { version: '8.4', max: '3' }. */
export function releasesApiUrl(baseUrl: string, query: Record<string, string> = {}): string {
  const url = new URL('releases/index.php', checkedBase(baseUrl))
  // php.net tests the json parameter with isset(), so it needs no value.
  const parameters = ['json', ...Object.entries(query).map(([key, value]) => `${key}=${encodeURIComponent(value)}`)]
  url.search = parameters.join('&')

  return url.toString()
}

/** Returns the URL of a file in php.net's /distributions/ folder. */
export function distributionUrl(baseUrl: string, filename: string): string {
  return new URL(`distributions/${encodeURIComponent(filename)}`, checkedBase(baseUrl)).toString()
}

/**
 * Resolves a version spec to one release through php.net's releases JSON API. Throws
 * VersionNotFoundError, listing the supported branches, for a malformed or unknown spec.
 */
export async function resolvePhpRelease(input: string, options: ReleasesApiOptions = {}): Promise<PhpRelease> {
  const spec = parseVersionSpec(input)
  if (spec === undefined) {
    throw await versionNotFound(`Invalid PHP version "${input}": use ${SPEC_FORMS}.`, options)
  }

  return resolveSpec(spec, input, options)
}

/**
 * Checks whether the release a spec resolves to is newer than currentVersion, the version
 * of the last build. Scheduled rebuilds build only when `newer` is true.
 */
export async function checkForNewerRelease(
  input: string,
  currentVersion: string,
  options: ReleasesApiOptions = {}
): Promise<NewerReleaseCheck> {
  const current = currentVersion.trim()
  if (!VERSION_PATTERN.test(current)) {
    throw new Error(`Invalid current PHP version "${currentVersion}": expected a full version such as 8.3.14.`)
  }

  const spec = parseVersionSpec(input)
  if (spec === undefined) {
    throw await versionNotFound(`Invalid PHP version "${input}": use ${SPEC_FORMS}.`, options)
  }

  const latest = await resolveSpec(spec, input, options)

  return { spec, current, latest, newer: compareVersions(latest.version, current) > 0 }
}

/** Lists the branches php.net marks as supported, across all major versions, oldest first. */
export async function listSupportedBranches(options: ReleasesApiOptions = {}): Promise<string[]> {
  const url = releasesApiUrl(baseUrlOf(options))
  const latestPerMajor = asObject(await requestJson(url, options), url)

  const branches = new Set<string>()
  for (const entry of Object.values(latestPerMajor)) {
    const supported = asObject(entry, url)['supported_versions']
    if (Array.isArray(supported)) {
      supported.filter((branch): branch is string => typeof branch === 'string').forEach((branch) => branches.add(branch))
    }
  }

  return [...branches].sort(compareVersions)
}

async function resolveSpec(spec: VersionSpec, input: string, options: ReleasesApiOptions): Promise<PhpRelease> {
  if (spec.kind === 'latest') {
    return resolveLatest(options)
  }

  // For a minor version php.net returns the first matching release it lists. That is the
  // newest, because the current release of a branch comes first and releases.inc lists newest first.
  const requested = spec.kind === 'exact' ? spec.version : spec.branch
  const url = releasesApiUrl(baseUrlOf(options), { version: requested })
  const body = asObject(await requestJson(url, options), url)

  if (body['error'] !== undefined) {
    throw await versionNotFound(
      `PHP version "${input.trim()}" not found: ${url} returned "${String(body['error'])}".`,
      options
    )
  }

  const release = parseRelease(body, url)
  const matches = spec.kind === 'exact' ? release.version === spec.version : release.branch === spec.branch
  if (!matches) {
    throw new Error(`${url} returned PHP ${release.version}, which does not match the requested ${requested}.`)
  }

  return release
}

async function resolveLatest(options: ReleasesApiOptions): Promise<PhpRelease> {
  const url = releasesApiUrl(baseUrlOf(options))
  const latestPerMajor = asObject(await requestJson(url, options), url)

  // The object is keyed by major version, and each entry is that major's newest release.
  // Majors whose newest release has no .tar.xz (PHP 3 and 4) cannot be built and are skipped.
  const candidates: PhpRelease[] = []
  for (const entry of Object.values(latestPerMajor)) {
    const body = asObject(entry, url)
    if (typeof body['version'] === 'string' && VERSION_PATTERN.test(body['version']) && hasTarXz(body)) {
      candidates.push(parseRelease(body, url))
    }
  }

  const newest = candidates.sort((a, b) => compareVersions(b.version, a.version))[0]
  if (newest === undefined) {
    throw new Error(`${url} lists no PHP release with a .tar.xz tarball.`)
  }

  return newest
}

async function versionNotFound(message: string, options: ReleasesApiOptions): Promise<VersionNotFoundError> {
  try {
    const branches = await listSupportedBranches(options)
    return new VersionNotFoundError(`${message} Supported branches: ${branches.join(', ')}.`, branches)
  } catch (error) {
    return new VersionNotFoundError(`${message} The supported branches could not be listed: ${errorMessage(error)}`, [])
  }
}

async function requestJson(url: string, options: ReleasesApiOptions): Promise<unknown> {
  let text: string
  try {
    text = await fetchText(url, { fetch: options.fetch, timeoutMs: options.timeoutMs })
  } catch (error) {
    throw new Error(
      `php.net releases API could not be reached: ${errorMessage(error)}. ` +
        'Check the network, set the base URL to a reachable php.net mirror, or build from a local tarball.'
    )
  }

  try {
    return JSON.parse(text)
  } catch {
    throw new Error(`${url} did not return JSON (first bytes: ${JSON.stringify(text.slice(0, 80))}).`)
  }
}

function parseRelease(body: Record<string, unknown>, url: string): PhpRelease {
  const releaseVersion = body['version']
  if (typeof releaseVersion !== 'string' || !VERSION_PATTERN.test(releaseVersion)) {
    throw new Error(`${url} returned a release without a valid "version": ${JSON.stringify(releaseVersion)}.`)
  }

  const source = parseSourceFiles(body['source'], url)
  const tarballName = `php-${releaseVersion}.tar.xz`
  const tarball = source.find((file) => file.filename === tarballName)
  const listed = source.map((file) => file.filename).join(', ') || 'none'
  if (tarball === undefined) {
    throw new Error(`${url} lists no ${tarballName}, which the build needs (source files: ${listed}).`)
  }
  if (tarball.sha256 === undefined) {
    throw new Error(`${url} lists no sha256 for ${tarballName}, so the download cannot be verified.`)
  }

  const branch = releaseVersion.split('.').slice(0, 2).join('.')
  const supportedVersions = stringList(body['supported_versions'])

  return {
    version: releaseVersion,
    branch,
    date: typeof body['date'] === 'string' ? body['date'] : '',
    tags: stringList(body['tags']).filter((tag) => tag !== ''),
    source,
    tarball: { filename: tarball.filename, sha256: normalizeSha256(tarball.sha256, `${tarballName} in ${url}`) },
    supportedVersions,
    supported: supportedVersions.includes(branch)
  }
}

function parseSourceFiles(value: unknown, url: string): ReleaseFile[] {
  if (!Array.isArray(value)) {
    throw new Error(`${url} returned a release without a "source" list.`)
  }

  // Some old releases also list a Windows download entry with a "link" and no "filename", which is skipped.
  const files = value.map((entry) => asObject(entry, url))

  return files.flatMap((file) => {
    const filename = file['filename']
    if (typeof filename !== 'string') {
      return []
    }

    return [
      {
        filename,
        name: typeof file['name'] === 'string' ? file['name'] : filename,
        sha256: typeof file['sha256'] === 'string' ? file['sha256'] : undefined,
        date: typeof file['date'] === 'string' ? file['date'] : undefined
      }
    ]
  })
}

function hasTarXz(body: Record<string, unknown>): boolean {
  const source = body['source']
  return Array.isArray(source) && source.some((file) => /\.tar\.xz$/.test(String((file as { filename?: unknown })?.filename)))
}

function asObject(value: unknown, url: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${url} returned ${JSON.stringify(value)?.slice(0, 80)} where a JSON object was expected.`)
  }

  return value as Record<string, unknown>
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []
}

function baseUrlOf(options: ReleasesApiOptions): string {
  return options.baseUrl ?? DEFAULT_PHP_NET_URL
}

/** Checks that baseUrl is an http(s) URL and returns it with a trailing slash, for new URL(path, base). */
function checkedBase(baseUrl: string): string {
  if (!URL.canParse(baseUrl) || !/^https?:$/.test(new URL(baseUrl).protocol)) {
    throw new Error(`Invalid php.net base URL "${baseUrl}": expected an http or https URL such as ${DEFAULT_PHP_NET_URL}.`)
  }

  return baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`
}
