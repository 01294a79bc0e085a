import { createHash } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

import catalogData from '../runtime/extensions.json' with { type: 'json' }

export type Linkage = 'builtin' | 'shared'

/** A pinned PECL release: the tarball is rejected unless its sha256 matches. */
export interface PeclRelease {
  version: string
  sha256: string
}

/** One extension of runtime/extensions.json. */
export interface CatalogEntry {
  summary: string
  /** Name `php -m` prints when it differs from the extension name (opcache: "Zend OPcache"). */
  module?: string
  default: boolean
  linkage: Linkage
  configure: string[]
  dnf: string[]
  apt: string[]
  requires?: string[]
  pecl?: PeclRelease
}

/** The whole extension catalog. */
export interface ExtensionCatalog {
  description: string
  required: string[]
  pecl: { baseUrl: string; fileName: string }
  extensions: Record<string, CatalogEntry>
}

/** A PECL tarball to download, verify and build with phpize. */
export interface PeclTarball {
  name: string
  version: string
  sha256: string
  fileName: string
  url: string
  configureFlags: string[]
}

/** Build inputs for a set of extensions. */
export interface ExtensionPlan {
  /** Every extension in the build, sorted: the requested ones, the required ones, dependencies. */
  extensions: string[]
  /** Extensions compiled into bin/php. */
  builtin: string[]
  /** Extensions built as .so files and loaded through php/conf.d. */
  shared: string[]
  /** Flags for PHP's configure (PECL extensions excluded), without duplicates. */
  configureFlags: string[]
  pecl: PeclTarball[]
  dnfPackages: string[]
  aptPackages: string[]
}

export interface PlanOptions {
  /** Base URL of the PECL downloads (default: the catalog's, https://pecl.php.net/get). */
  peclBaseUrl?: string
  catalog?: ExtensionCatalog
}

const SHA256_PATTERN = /^[0-9a-f]{64}$/
const DEFAULT_KEYWORD = 'default'

/** Returns the extension catalog bundled with the action, after checking its shape. */
export function loadCatalog(): ExtensionCatalog {
  return validateCatalog(catalogData)
}

/** Checks the catalog's shape and returns it typed. Throws on the first invalid entry, naming it. */
export function validateCatalog(data: unknown): ExtensionCatalog {
  const catalog = data as ExtensionCatalog
  if (typeof catalog !== 'object' || catalog === null || typeof catalog.extensions !== 'object') {
    throw new Error('invalid extension catalog: expected an object with "extensions"')
  }
  if (!isStringList(catalog.required) || typeof catalog.pecl?.baseUrl !== 'string') {
    throw new Error('invalid extension catalog: expected "required" (a list of names) and "pecl.baseUrl"')
  }

  for (const [name, entry] of Object.entries(catalog.extensions)) {
    validateEntry(name, entry)
  }

  for (const name of catalog.required) {
    if (!(name in catalog.extensions)) {
      throw new Error(`invalid extension catalog: required extension "${name}" has no entry`)
    }
  }

  return catalog
}

function validateEntry(name: string, entry: CatalogEntry): void {
  const where = `invalid extension catalog entry "${name}"`

  if (!/^[a-z][a-z0-9_]*$/.test(name)) {
    throw new Error(`${where}: names are lower-case letters, digits and underscores`)
  }
  if (entry.linkage !== 'builtin' && entry.linkage !== 'shared') {
    throw new Error(`${where}: linkage must be "builtin" or "shared", got ${JSON.stringify(entry.linkage)}`)
  }
  if (!isStringList(entry.configure) || entry.configure.length === 0) {
    throw new Error(`${where}: "configure" must list at least one configure flag`)
  }
  if (!isStringList(entry.dnf) || !isStringList(entry.apt)) {
    throw new Error(`${where}: "dnf" and "apt" must be lists of package names`)
  }
  if (entry.pecl !== undefined) {
    if (entry.linkage !== 'shared') {
      throw new Error(`${where}: PECL extensions are built with phpize, so linkage must be "shared"`)
    }
    if (!SHA256_PATTERN.test(entry.pecl.sha256)) {
      throw new Error(`${where}: pecl.sha256 must be 64 lower-case hex digits, got ${JSON.stringify(entry.pecl.sha256)}`)
    }
  }
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string')
}

/** Returns the names of all extensions in the catalog, sorted. */
export function knownExtensions(catalog: ExtensionCatalog = loadCatalog()): string[] {
  return Object.keys(catalog.extensions).sort()
}

/** Returns the default extension set, sorted. */
export function defaultExtensions(catalog: ExtensionCatalog = loadCatalog()): string[] {
  return knownExtensions(catalog).filter((name) => catalog.extensions[name]?.default === true)
}

/**
 * Splits an extension list as users write it ("default, intl redis") into lower-case names.
 * Commas, spaces and new lines separate names.
 */
export function parseExtensionList(value: string): string[] {
  return value
    .split(/[\s,]+/)
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '')
}

/**
 * Resolves requested extension names (the word "default" stands for the default set) into what
 * a build needs. Unknown names are rejected with the list of known ones. The catalog's required
 * extensions (curl, which the runtime's event loop uses) and each extension's dependencies are
 * always added.
 */
export function planExtensions(requested: readonly string[], options: PlanOptions = {}): ExtensionPlan {
  const catalog = options.catalog ?? loadCatalog()
  const peclBaseUrl = (options.peclBaseUrl ?? catalog.pecl.baseUrl).replace(/\/+$/, '')

  const unknown = requested.filter((name) => name !== DEFAULT_KEYWORD && !(name in catalog.extensions))
  if (unknown.length > 0) {
    const names = unknown.map((name) => `"${name}"`).join(', ')
    throw new Error(
      `unknown PHP extension ${names}; known extensions: ${knownExtensions(catalog).join(', ')} ` +
        `(or "${DEFAULT_KEYWORD}" for the default set)`
    )
  }

  const selected = new Set<string>()
  const add = (name: string): void => {
    if (selected.has(name)) {
      return
    }
    selected.add(name)
    for (const dependency of catalog.extensions[name]?.requires ?? []) {
      add(dependency)
    }
  }

  for (const name of requested) {
    if (name === DEFAULT_KEYWORD) {
      defaultExtensions(catalog).forEach(add)
    } else {
      add(name)
    }
  }
  catalog.required.forEach(add)

  const extensions = [...selected].sort()
  const entries = extensions.map((name) => ({ name, entry: catalog.extensions[name] as CatalogEntry }))

  const pecl = entries
    .filter(({ entry }) => entry.pecl !== undefined)
    .map(({ name, entry }) => peclTarball(name, entry, catalog, peclBaseUrl))

  return {
    extensions,
    builtin: entries.filter(({ entry }) => entry.linkage === 'builtin').map(({ name }) => name),
    shared: entries.filter(({ entry }) => entry.linkage === 'shared').map(({ name }) => name),
    configureFlags: unique(entries.filter(({ entry }) => entry.pecl === undefined).flatMap(({ entry }) => entry.configure)),
    pecl,
    dnfPackages: unique(entries.flatMap(({ entry }) => entry.dnf)).sort(),
    aptPackages: unique(entries.flatMap(({ entry }) => entry.apt)).sort()
  }
}

function peclTarball(name: string, entry: CatalogEntry, catalog: ExtensionCatalog, baseUrl: string): PeclTarball {
  const release = entry.pecl as PeclRelease
  const fileName = catalog.pecl.fileName.replace('{name}', name).replace('{version}', release.version)

  return {
    name,
    version: release.version,
    sha256: release.sha256,
    fileName,
    url: `${baseUrl}/${fileName}`,
    configureFlags: entry.configure
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)]
}

/**
 * Returns the plan's extensions that `php -m` output does not list. Module names compare
 * case-insensitively (php -m prints SimpleXML for simplexml).
 */
export function missingModules(
  plan: Pick<ExtensionPlan, 'extensions'>,
  modules: readonly string[],
  catalog: ExtensionCatalog = loadCatalog()
): string[] {
  const loaded = new Set(modules.map((module) => module.toLowerCase()))
  return plan.extensions.filter((name) => {
    const module = catalog.extensions[name]?.module ?? name
    return !loaded.has(module.toLowerCase())
  })
}

/** Formats a PECL tarball as build.sh's --pecl NAME:VERSION:SHA256:FLAG,FLAG argument. */
export function peclBuildArgument(tarball: PeclTarball): string {
  return [tarball.name, tarball.version, tarball.sha256, tarball.configureFlags.join(',')].join(':')
}

export interface DownloadOptions {
  fetch?: typeof fetch
}

/**
 * Downloads each PECL tarball into `directory` under its PECL file name and checks its sha256
 * before keeping it. A file already there with the right digest is reused.
 */
export async function downloadPeclTarballs(
  tarballs: readonly PeclTarball[],
  directory: string,
  options: DownloadOptions = {}
): Promise<string[]> {
  const fetchImpl = options.fetch ?? fetch
  await mkdir(directory, { recursive: true })

  const paths: string[] = []
  for (const tarball of tarballs) {
    const path = join(directory, tarball.fileName)
    paths.push(path)

    if ((await fileSha256(path)) === tarball.sha256) {
      continue
    }

    const response = await fetchImpl(tarball.url)
    if (!response.ok) {
      throw new Error(`download of ${tarball.url} failed: HTTP ${response.status}`)
    }

    const body = Buffer.from(await response.arrayBuffer())
    const actual = createHash('sha256').update(body).digest('hex')
    if (actual !== tarball.sha256) {
      throw new Error(
        `sha256 mismatch for ${tarball.url}: expected ${tarball.sha256}, got ${actual}; ` +
          'the file was not kept. Check the PECL base URL or the catalog pin'
      )
    }

    await writeFile(`${path}.part`, body)
    await rename(`${path}.part`, path)
  }

  return paths
}

async function fileSha256(path: string): Promise<string | undefined> {
  try {
    return createHash('sha256')
      .update(await readFile(path))
      .digest('hex')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined
    }
    throw error
  }
}
