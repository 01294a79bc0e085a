import * as core from '@actions/core'

import {
  expandFilePattern,
  parseBoolean,
  parseChoice,
  parseExistingFile,
  parseHttpUrl,
  parseList,
  parsePositiveInteger,
  unique
} from './input-values.js'
import { defaultEnabledRegionCodes, findLambdaRegion, lambdaRegionCodes } from './regions.js'
import { parseVersionSpec } from './resolve.js'
import { checkLayerNameTemplate, checkS3BucketTemplate, findPlaceholders } from './templates.js'

/** The inputs declared in action.yml, in the order they appear there. */
export const INPUT_NAMES = [
  'mode',
  'php-version',
  'extensions',
  'architectures',
  'regions',
  'layer-name',
  'public',
  'organization-id',
  'compatible-runtimes',
  'description',
  'license-info',
  'builder',
  'base-image',
  'optimize',
  'compiler',
  'smoke-test',
  's3-bucket',
  'layer-zip',
  'dry-run',
  'release',
  'github-token',
  'tag',
  'max-parallel-regions',
  'retry-max-attempts',
  'php-net-url',
  'php-source',
  'php-keyring',
  'pecl-url',
  'lambda-endpoint-url',
  's3-endpoint-url'
] as const

export type InputName = (typeof INPUT_NAMES)[number]

/** Raw input values keyed by input name, trimmed; an empty string means the input is not set. */
export type Inputs = Record<InputName, string>

/**
 * The defaults declared in action.yml. `github-token` defaults to `${{ github.token }}` there,
 * which only the runner can expand, so here it is empty. `public` has no fixed default: it is
 * true unless `organization-id` is set.
 */
export const DEFAULT_INPUTS: Inputs = {
  mode: 'build-and-publish',
  'php-version': 'latest',
  extensions: 'default',
  architectures: 'x86_64',
  regions: 'all',
  'layer-name': 'php-{php}-{arch}',
  public: '',
  'organization-id': '',
  'compatible-runtimes': 'provided.al2023',
  description: '',
  'license-info': '',
  builder: 'docker',
  'base-image': 'public.ecr.aws/lambda/provided:al2023',
  optimize: 'size',
  compiler: 'gcc',
  'smoke-test': 'true',
  's3-bucket': '',
  'layer-zip': '',
  'dry-run': 'false',
  release: 'false',
  'github-token': '',
  tag: '',
  'max-parallel-regions': '4',
  'retry-max-attempts': '5',
  'php-net-url': 'https://www.php.net',
  'php-source': '',
  'php-keyring': '',
  'pecl-url': 'https://pecl.php.net/get',
  'lambda-endpoint-url': '',
  's3-endpoint-url': ''
}

export const MODES = ['build-and-publish', 'build', 'publish', 'check'] as const
export const ARCHITECTURES = ['x86_64', 'arm64'] as const
export const COMPATIBLE_RUNTIMES = ['provided.al2023', 'provided.al2'] as const
export const BUILDERS = ['docker', 'native'] as const
export const OPTIMIZATIONS = ['size', 'speed'] as const
export const COMPILERS = ['gcc', 'clang'] as const

export type Mode = (typeof MODES)[number]
export type Architecture = (typeof ARCHITECTURES)[number]
export type CompatibleRuntime = (typeof COMPATIBLE_RUNTIMES)[number]
export type Builder = (typeof BUILDERS)[number]
export type Optimization = (typeof OPTIMIZATIONS)[number]
export type Compiler = (typeof COMPILERS)[number]

/** Access to the published layer versions, granted with AddLayerVersionPermission. */
export type LayerPermission =
  | { kind: 'public' }
  | { kind: 'organization'; organizationId: string }
  | { kind: 'private' }

/** The extensions to build: the catalog's default set when `includeDefaults`, plus `names`. */
export interface ExtensionSelection {
  includeDefaults: boolean
  names: string[]
}

export interface ReleaseConfig {
  token: string
  tag: string
}

/** The validated action configuration. Optional fields are undefined when their input is empty. */
export interface Config {
  mode: Mode
  /** `latest`, `MAJOR.MINOR` or `MAJOR.MINOR.PATCH`, resolved against php.net later. */
  phpVersion: string
  extensions: ExtensionSelection
  architectures: Architecture[]
  /** Region codes in the order given, with `all` expanded. Empty in build mode when not set. */
  regions: string[]
  /** Template with `{php}` and `{arch}`, for renderLayerName(). */
  layerName: string
  permission: LayerPermission
  compatibleRuntimes: CompatibleRuntime[]
  /** Layer version description. When undefined, publishing generates one from the PHP version and extensions. */
  description?: string
  licenseInfo?: string
  builder: Builder
  baseImage: string
  optimize: Optimization
  compiler: Compiler
  smokeTest: boolean
  /** Template with `{region}`, for renderS3Bucket(). */
  s3Bucket?: string
  /** Absolute paths of the layer zips to publish, one per architecture (publish mode only; empty otherwise). */
  layerZips: string[]
  dryRun: boolean
  release?: ReleaseConfig
  maxParallelRegions: number
  retryMaxAttempts: number
  /** php.net base URL without a trailing slash. */
  phpNetUrl: string
  /** Absolute path of a local PHP source tarball, used in place of a download. */
  phpSource?: string
  /** Absolute path of a GnuPG keyring for checking the tarball's .asc signature. */
  phpKeyring?: string
  /** Base URL that serves PECL tarballs as NAME-VERSION.tgz, without a trailing slash. */
  peclUrl: string
  lambdaEndpointUrl?: string
  s3EndpointUrl?: string
}

export interface ParseOptions {
  /**
   * Checks extension names against the extension catalog and returns one message per unknown
   * name (empty when all are known).
   */
  validateExtensions: (names: string[]) => string[]
  /** Environment with GITHUB_REF (tag fallback) and GITHUB_WORKSPACE (base of relative paths). Default: process.env. */
  env?: NodeJS.ProcessEnv
  /** Architecture of this machine, the only one the native builder can build for. Default: from process.arch. */
  hostArchitecture?: Architecture
  /** Logger for advice that does not stop the run. Default: core.warning. */
  warn?: (message: string) => void
}

/** Every problem found in the inputs, one message per problem. */
export class InputError extends Error {
  readonly errors: string[]

  constructor(errors: string[]) {
    const count = errors.length === 1 ? '1 problem' : `${errors.length} problems`
    super(`Invalid inputs (${count}):\n${errors.map((error) => `- ${error}`).join('\n')}`)
    this.name = 'InputError'
    this.errors = errors
  }
}

// Names users may know from other tools, mapped to the architecture Lambda calls them.
const ARCHITECTURE_ALIASES: Record<string, Architecture> = {
  amd64: 'x86_64',
  x64: 'x86_64',
  'x86-64': 'x86_64',
  aarch64: 'arm64',
  arm: 'arm64'
}

// OrganizationId in the Lambda API reference (AddLayerVersionPermission).
const ORGANIZATION_ID_PATTERN = /^o-[a-z0-9]{10,32}$/

// PublishLayerVersion limits from the Lambda API reference.
const DESCRIPTION_MAX_LENGTH = 256
const LICENSE_INFO_MAX_LENGTH = 512

const EXTENSION_NAME_PATTERN = /^[a-z][a-z0-9_]*$/
const DEFAULT_EXTENSIONS_KEYWORD = 'default'
const ALL_REGIONS_KEYWORD = 'all'

/** Reads every input declared in action.yml through @actions/core. */
export function getInputs(): Inputs {
  const inputs = {} as Inputs
  for (const name of INPUT_NAMES) {
    inputs[name] = core.getInput(name)
  }

  return inputs
}

/**
 * Validates the inputs and returns the typed configuration. Throws an InputError listing every
 * problem at once, each naming the bad value and what is allowed, before any build starts.
 */
export function parseConfig(inputs: Inputs, options: ParseOptions): Config {
  const env = options.env ?? process.env
  const warn = options.warn ?? ((message: string) => core.warning(message))
  const workspace = env.GITHUB_WORKSPACE ?? process.cwd()
  const errors: string[] = []

  const value = (name: InputName): string => {
    const trimmed = inputs[name].trim()
    return trimmed === '' ? DEFAULT_INPUTS[name] : trimmed
  }

  const mode = parseChoice('mode', value('mode'), MODES, errors)
  const publishes = mode === 'build-and-publish' || mode === 'publish' || mode === 'check'

  const phpVersion = parsePhpVersion(value('php-version'), errors)
  const extensions = parseExtensions(value('extensions'), options.validateExtensions, errors)
  const architectures = parseArchitectures(value('architectures'), errors)
  const regions = parseRegions(inputs.regions.trim(), publishes, errors)

  const layerName = value('layer-name')
  errors.push(...checkLayerNameTemplate(layerName, architectures ?? []))

  const permission = parsePermission(value('public'), value('organization-id'), errors)
  const compatibleRuntimes = parseCompatibleRuntimes(value('compatible-runtimes'), errors)
  const description = parseLimitedText('description', value('description'), DESCRIPTION_MAX_LENGTH, errors)
  const licenseInfo = parseLimitedText('license-info', value('license-info'), LICENSE_INFO_MAX_LENGTH, errors)

  const builder = parseChoice('builder', value('builder'), BUILDERS, errors)
  const baseImage = parseImageReference(value('base-image'), errors)
  const optimize = parseChoice('optimize', value('optimize'), OPTIMIZATIONS, errors)
  const compiler = parseChoice('compiler', value('compiler'), COMPILERS, errors)
  const smokeTest = parseBoolean('smoke-test', value('smoke-test'), errors)

  const builds = mode === 'build-and-publish' || mode === 'build'
  if (builds && builder === 'native' && architectures !== undefined) {
    errors.push(...checkNativeArchitectures(architectures, options.hostArchitecture ?? hostArchitecture()))
  }

  const s3Bucket = value('s3-bucket')
  errors.push(...checkS3BucketTemplate(s3Bucket, regions ?? []))
  warnAboutSharedBucket(s3Bucket, regions ?? [], warn)

  const layerZips = parseLayerZips(inputs['layer-zip'].trim(), mode, workspace, errors)
  const dryRun = parseBoolean('dry-run', value('dry-run'), errors)
  const release = parseRelease(value('release'), value('github-token'), value('tag'), mode, env, errors)
  const maxParallelRegions = parsePositiveInteger('max-parallel-regions', value('max-parallel-regions'), errors)
  const retryMaxAttempts = parsePositiveInteger('retry-max-attempts', value('retry-max-attempts'), errors)

  const phpNetUrl = parseHttpUrl('php-net-url', value('php-net-url'), errors)
  const phpSource = optionalFile('php-source', value('php-source'), workspace, errors)
  const phpKeyring = optionalFile('php-keyring', value('php-keyring'), workspace, errors)
  const peclUrl = parseHttpUrl('pecl-url', value('pecl-url'), errors)
  if (value('php-source') !== '' && phpVersion !== undefined && parseVersionSpec(phpVersion)?.kind !== 'exact') {
    errors.push(`php-version "${phpVersion}" cannot be resolved offline: with php-source, give the tarball's exact version, e.g. 8.3.14`)
  }

  const lambdaEndpointUrl = optionalUrl('lambda-endpoint-url', value('lambda-endpoint-url'), errors)
  const s3EndpointUrl = optionalUrl('s3-endpoint-url', value('s3-endpoint-url'), errors)

  if (errors.length > 0) {
    throw new InputError(errors)
  }

  // Every parser above returned a value, because each undefined came with an error.
  return {
    mode: mode!,
    phpVersion: phpVersion!,
    extensions: extensions!,
    architectures: architectures!,
    regions: regions!,
    layerName,
    permission: permission!,
    compatibleRuntimes: compatibleRuntimes!,
    description,
    licenseInfo,
    builder: builder!,
    baseImage: baseImage!,
    optimize: optimize!,
    compiler: compiler!,
    smokeTest: smokeTest!,
    s3Bucket: s3Bucket === '' ? undefined : s3Bucket,
    layerZips,
    dryRun: dryRun!,
    release,
    maxParallelRegions: maxParallelRegions!,
    retryMaxAttempts: retryMaxAttempts!,
    phpNetUrl: phpNetUrl!,
    phpSource,
    phpKeyring,
    peclUrl: peclUrl!,
    lambdaEndpointUrl,
    s3EndpointUrl
  }
}

function parsePhpVersion(value: string, errors: string[]): string | undefined {
  if (parseVersionSpec(value) !== undefined) {
    return value
  }

  errors.push(`php-version "${value}" is invalid: use MAJOR.MINOR (8.4), MAJOR.MINOR.PATCH (8.3.14) or latest`)
  return undefined
}

function parseExtensions(
  value: string,
  validateExtensions: ParseOptions['validateExtensions'],
  errors: string[]
): ExtensionSelection | undefined {
  const items = unique(parseList(value).map((item) => item.toLowerCase()))
  if (items.length === 0) {
    errors.push(`extensions is empty: list extension names, or write ${DEFAULT_EXTENSIONS_KEYWORD} for the default set`)
    return undefined
  }

  const names = items.filter((item) => item !== DEFAULT_EXTENSIONS_KEYWORD)
  const malformed = names.filter((name) => !EXTENSION_NAME_PATTERN.test(name))
  for (const name of malformed) {
    errors.push(`extensions: "${name}" is not an extension name (lowercase letters, digits and "_", starting with a letter)`)
  }

  const catalogErrors = validateExtensions(names.filter((name) => !malformed.includes(name)))
  errors.push(...catalogErrors.map((error) => `extensions: ${error}`))

  return { includeDefaults: items.includes(DEFAULT_EXTENSIONS_KEYWORD), names }
}

function parseArchitectures(value: string, errors: string[]): Architecture[] | undefined {
  const items = unique(parseList(value))
  if (items.length === 0) {
    errors.push(`architectures is empty; allowed: ${ARCHITECTURES.join(', ')}`)
    return undefined
  }

  const architectures: Architecture[] = []
  for (const item of items) {
    if ((ARCHITECTURES as readonly string[]).includes(item)) {
      architectures.push(item as Architecture)
      continue
    }

    const alias = ARCHITECTURE_ALIASES[item.toLowerCase()]
    const hint = alias === undefined ? '' : ` (Lambda calls ${item} "${alias}")`
    errors.push(`architectures: "${item}" is not a Lambda architecture${hint}; allowed: ${ARCHITECTURES.join(', ')}`)
  }

  return architectures.length === items.length ? architectures : undefined
}

/**
 * `all` expands to the Regions enabled by default. Opt-in Regions are published to only when
 * listed by name, next to `all` or alone, because publishing to a Region the account has not
 * enabled fails.
 */
function parseRegions(value: string, required: boolean, errors: string[]): string[] | undefined {
  const items = unique(parseList(value))
  if (items.length === 0) {
    if (!required) {
      return []
    }

    errors.push(`regions is empty: list Region codes such as us-east-1, or write ${ALL_REGIONS_KEYWORD} for every Region enabled by default`)
    return undefined
  }

  const regions: string[] = []
  let valid = true
  for (const item of items) {
    if (item === ALL_REGIONS_KEYWORD) {
      regions.push(...defaultEnabledRegionCodes())
    } else if (findLambdaRegion(item) !== undefined) {
      regions.push(item)
    } else {
      errors.push(`regions: "${item}" is not a commercial AWS Region with Lambda; allowed: ${ALL_REGIONS_KEYWORD}, ${lambdaRegionCodes().join(', ')}`)
      valid = false
    }
  }

  return valid ? unique(regions) : undefined
}

function parsePermission(publicValue: string, organizationId: string, errors: string[]): LayerPermission | undefined {
  const isPublic = publicValue === '' ? undefined : parseBoolean('public', publicValue, errors)

  if (organizationId === '') {
    return isPublic === false ? { kind: 'private' } : { kind: 'public' }
  }

  if (!ORGANIZATION_ID_PATTERN.test(organizationId)) {
    errors.push(`organization-id "${organizationId}" is invalid: AWS Organizations ids look like o-a1b2c3d4e5 ("o-" and 10 to 32 lowercase letters or digits)`)
    return undefined
  }

  if (isPublic === true) {
    errors.push(`public "true" conflicts with organization-id "${organizationId}": a layer is shared either with everyone or with one organization, so remove one of them`)
    return undefined
  }

  return { kind: 'organization', organizationId }
}

function parseCompatibleRuntimes(value: string, errors: string[]): CompatibleRuntime[] | undefined {
  const items = unique(parseList(value))
  if (items.length === 0) {
    errors.push(`compatible-runtimes is empty; allowed: ${COMPATIBLE_RUNTIMES.join(', ')}`)
    return undefined
  }

  const runtimes = items.map((item) => parseChoice('compatible-runtimes', item, COMPATIBLE_RUNTIMES, errors))
  if (runtimes.includes(undefined)) {
    return undefined
  }

  return runtimes as CompatibleRuntime[]
}

function parseLimitedText(name: string, value: string, maxLength: number, errors: string[]): string | undefined {
  if (value.length > maxLength) {
    errors.push(`${name} is ${value.length} characters long; Lambda allows at most ${maxLength}`)
    return undefined
  }

  return value === '' ? undefined : value
}

function parseImageReference(value: string, errors: string[]): string | undefined {
  if (/\s/.test(value)) {
    errors.push(`base-image "${value}" is not an image reference: it contains whitespace`)
    return undefined
  }

  return value
}

function checkNativeArchitectures(architectures: Architecture[], host: Architecture | undefined): string[] {
  const foreign = architectures.filter((architecture) => host !== undefined && architecture !== host)
  if (foreign.length === 0) {
    return []
  }

  return [
    `builder "native" builds only for this machine's architecture (${host}), but architectures lists ${foreign.join(', ')}: ` +
      'use builder docker, or run a separate job on a runner of that architecture'
  ]
}

function warnAboutSharedBucket(s3Bucket: string, regions: string[], warn: (message: string) => void): void {
  if (s3Bucket === '' || regions.length < 2 || findPlaceholders(s3Bucket).includes('region')) {
    return
  }

  // NOTE: Lambda's API reference requires a function's S3 bucket to be in the function's Region.
  // It states no such rule for layer archives, so a shared bucket gets a warning, not an error.
  warn(`s3-bucket "${s3Bucket}" has no {region} placeholder, so every Region reads the layer zip from the same bucket; Lambda may reject a bucket in another Region`)
}

function parseLayerZips(value: string, mode: Mode | undefined, workspace: string, errors: string[]): string[] {
  if (mode === 'publish' && value === '') {
    errors.push('mode "publish" needs layer-zip: the path of the zip built by an earlier job with mode build')
    return []
  }

  if (mode !== 'publish' && value !== '') {
    errors.push(`layer-zip "${value}" is read only in mode publish, but mode is "${mode ?? 'invalid'}": remove layer-zip or set mode: publish`)
    return []
  }

  const paths = parseList(value).flatMap((path) => expandFilePattern('layer-zip', path, workspace, errors))
  return unique(paths)
}

function parseRelease(
  releaseValue: string,
  token: string,
  tagValue: string,
  mode: Mode | undefined,
  env: NodeJS.ProcessEnv,
  errors: string[]
): ReleaseConfig | undefined {
  const release = parseBoolean('release', releaseValue, errors)
  if (release !== true) {
    return undefined
  }

  let valid = true
  if (mode === 'check') {
    errors.push('release "true" cannot be used with mode "check", which builds and publishes nothing')
    valid = false
  }

  if (token === '') {
    errors.push('release "true" needs github-token: pass ${{ github.token }} or a token with contents: write')
    valid = false
  }

  const pushedTag = env.GITHUB_REF?.startsWith('refs/tags/') ? env.GITHUB_REF.slice('refs/tags/'.length) : ''
  const tag = tagValue === '' ? pushedTag : tagValue
  if (tag === '') {
    errors.push('release "true" needs tag: set tag, or run the workflow on a tag push')
    valid = false
  } else if (!isValidTagName(tag)) {
    errors.push(`tag "${tag}" is not a valid Git tag name (no spaces, "..", "~", "^", ":", "?", "*", "[", "\\" or leading "-")`)
    valid = false
  }

  return valid ? { token, tag } : undefined
}

// A subset of `git check-ref-format` rules that catches typing mistakes.
function isValidTagName(tag: string): boolean {
  return (
    !/[\s~^:?*[\\\x00-\x1f\x7f]/.test(tag) &&
    !tag.includes('..') &&
    !tag.includes('@{') &&
    !tag.startsWith('-') &&
    !tag.startsWith('/') &&
    !tag.endsWith('/') &&
    !tag.endsWith('.') &&
    !tag.endsWith('.lock')
  )
}

function optionalFile(name: string, value: string, workspace: string, errors: string[]): string | undefined {
  return value === '' ? undefined : parseExistingFile(name, value, workspace, errors)
}

function optionalUrl(name: string, value: string, errors: string[]): string | undefined {
  return value === '' ? undefined : parseHttpUrl(name, value, errors)
}

function hostArchitecture(): Architecture | undefined {
  if (process.arch === 'x64') {
    return 'x86_64'
  }

  return process.arch === 'arm64' ? 'arm64' : undefined
}
