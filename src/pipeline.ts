import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'

import * as core from '@actions/core'
import type { LambdaClientConfig } from '@aws-sdk/client-lambda'

import { buildLayer } from './build.js'
import { describeLayer, findPublishedLayer } from './check.js'
import type { Config } from './inputs.js'
import { readLayerInfoFromZip, writeLayerInfo, type LayerInfo } from './layer-info.js'
import { hashZip, zipLayer } from './package.js'
import { workFolders, type WorkFolders } from './paths.js'
import { getPhpSource, type PhpSource } from './php-source.js'
import { publishLayer, type RegionResult } from './publish.js'
import { checkForNewerRelease, compareVersions, resolvePhpRelease } from './resolve.js'
import type { LayerResult, RunReport } from './report.js'
import { smokeTest } from './smoke-test.js'
import { smokeTestDocker } from './smoke-test-docker.js'
import { renderLayerName } from './templates.js'

/** A zip ready to publish, with the contents its manifest lists. */
export interface PackagedLayer {
  info: LayerInfo
  zipPath: string
  sha256: string
  codeSha256: string
  zipBytes: number
}

/** Settings besides the configuration, which tests and the local demo set. */
export interface PipelineOptions {
  folders?: WorkFolders
  /** AWS credentials for local endpoints; unset means the SDK's default credential chain. */
  credentials?: LambdaClientConfig['credentials']
}

// Highest glibc symbol version each Lambda OS-only runtime provides: Amazon Linux 2023 ships
// glibc 2.34 and Amazon Linux 2 ships 2.26 (the base images' glibc packages).
const RUNTIME_GLIBC: Record<string, string> = { 'provided.al2023': '2.34', 'provided.al2': '2.26' }

/** Runs the stages of the configured mode and returns the report for the report stage. */
export async function runPipeline(config: Config, options: PipelineOptions = {}): Promise<RunReport> {
  const folders = options.folders ?? workFolders()

  switch (config.mode) {
    case 'check':
      return checkForUpdate(config, options)
    case 'publish':
      return publishZips(config, await readZips(config.layerZips), options)
    case 'build':
      return summarizeBuild(await buildZips(config, folders))
    case 'build-and-publish':
      return publishZips(config, await buildZips(config, folders), options)
  }
}

/** Resolves the release, then builds, smoke-tests and zips the layer for each architecture. */
async function buildZips(config: Config, folders: WorkFolders): Promise<PackagedLayer[]> {
  const source = await core.group('Resolve PHP release', () => resolveSource(config, folders))
  const packaged: PackagedLayer[] = []

  for (const architecture of config.architectures) {
    const layerDir = join(folders.workDir, `layer-${architecture}`)
    await rm(layerDir, { recursive: true, force: true })
    await mkdir(layerDir, { recursive: true })

    const build = await buildLayer({
      builder: config.builder,
      sourceTarball: source.path,
      sha256: source.sha256,
      extensions: requestedExtensions(config),
      outputDir: layerDir,
      cacheDir: folders.cacheDir,
      architecture,
      optimize: config.optimize,
      compiler: config.compiler,
      targetGlibc: targetGlibc(config.compatibleRuntimes),
      runtimeImage: config.baseImage,
      peclBaseUrl: config.peclUrl
    })
    const info: LayerInfo = { phpVersion: build.phpVersion, architecture, extensions: build.extensions }

    if (config.smokeTest) {
      const expected = { layerDir: build.layerDir, phpVersion: source.version, extensions: build.extensions }
      if (config.builder === 'docker') {
        await smokeTestDocker({ ...expected, architecture, image: config.baseImage })
      } else {
        await smokeTest(expected)
      }
    } else {
      core.info('Smoke test skipped: smoke-test is false')
    }

    packaged.push(await core.group(`Package (${architecture})`, () => packageLayer(build.layerDir, info, folders.outputDir)))
  }

  return packaged
}

async function resolveSource(config: Config, folders: WorkFolders): Promise<PhpSource> {
  const cacheDir = join(folders.cacheDir, 'php-source')

  if (config.phpSource !== undefined) {
    core.info(`Using the local tarball ${config.phpSource} for PHP ${config.phpVersion}; php.net is not asked`)
    return getPhpSource({ version: config.phpVersion, localTarball: config.phpSource, keyring: config.phpKeyring, cacheDir })
  }

  const release = await resolvePhpRelease(config.phpVersion, { baseUrl: config.phpNetUrl })
  core.info(`php-version ${config.phpVersion} resolved to PHP ${release.version}, released ${release.date}${release.tags.length > 0 ? ` (${release.tags.join(', ')})` : ''}`)

  const source = await getPhpSource({
    version: release.version,
    expectedSha256: release.tarball.sha256,
    baseUrl: config.phpNetUrl,
    keyring: config.phpKeyring,
    cacheDir
  })
  const signature = source.signature.status === 'verified' ? `signed by ${source.signature.signer}` : `signature not checked: ${source.signature.reason}`
  core.info(`${source.filename}: sha256 ${source.sha256} verified (${source.origin}); ${signature}`)

  return source
}

async function packageLayer(layerDir: string, info: LayerInfo, outputDir: string): Promise<PackagedLayer> {
  await writeLayerInfo(layerDir, info)
  await mkdir(outputDir, { recursive: true })

  const zip = await zipLayer({ layerDir, zipPath: join(outputDir, `php-${info.phpVersion}-${info.architecture}.zip`) })
  core.info(`${zip.zipPath}: ${zip.entries} entries, ${zip.zipBytes} bytes zipped, ${zip.unzippedBytes} bytes unzipped`)
  core.info(`sha256 ${zip.sha256}, CodeSha256 ${zip.codeSha256}`)

  return { info, ...zip }
}

async function readZips(paths: readonly string[]): Promise<PackagedLayer[]> {
  return core.group('Read layer zips', async () => {
    const zips: PackagedLayer[] = []

    for (const path of paths) {
      const info = await readLayerInfoFromZip(path)
      const zip = await hashZip(path)
      core.info(`${path}: PHP ${info.phpVersion} (${info.architecture}), ${zip.zipBytes} bytes, CodeSha256 ${zip.codeSha256}`)
      zips.push({ info, ...zip })
    }

    const architectures = zips.map((zip) => zip.info.architecture)
    const repeated = architectures.find((architecture, index) => architectures.indexOf(architecture) !== index)
    if (repeated !== undefined) {
      throw new Error(`layer-zip lists two zips for ${repeated}: give one zip per architecture`)
    }

    return zips
  })
}

/** Publishes each zip to every Region and returns the combined report. */
async function publishZips(config: Config, zips: readonly PackagedLayer[], options: PipelineOptions): Promise<RunReport> {
  const layers: LayerResult[] = []

  for (const zip of zips) {
    const layerName = renderLayerName(config.layerName, zip.info.phpVersion, zip.info.architecture)
    const results = await core.group(`Publish ${layerName} (${zip.info.architecture})`, () =>
      publishLayer({
        zip,
        layerName,
        architecture: zip.info.architecture,
        regions: config.regions,
        compatibleRuntimes: config.compatibleRuntimes,
        description: config.description ?? describeLayer(zip.info.phpVersion, zip.info.architecture, zip.info.extensions),
        licenseInfo: config.licenseInfo,
        permission: config.permission,
        s3Bucket: config.s3Bucket,
        maxParallelRegions: config.maxParallelRegions,
        maxAttempts: config.retryMaxAttempts,
        dryRun: config.dryRun,
        lambdaEndpoint: config.lambdaEndpointUrl,
        s3Endpoint: config.s3EndpointUrl,
        credentials: options.credentials
      })
    )
    layers.push(...results.map(toLayerResult))
  }

  return { ...summarizeBuild(zips), layers }
}

/**
 * Mode check: compares the newest release for php-version with the PHP version of the newest
 * published layer in the first Region, for the first architecture.
 */
async function checkForUpdate(config: Config, options: PipelineOptions): Promise<RunReport> {
  return core.group('Check for a newer PHP release', async () => {
    const release = await resolvePhpRelease(config.phpVersion, { baseUrl: config.phpNetUrl })
    const architecture = config.architectures[0]!
    const region = config.regions[0]!
    const layerName = renderLayerName(config.layerName, release.version, architecture)

    const published = await findPublishedLayer({
      region,
      layerName,
      architecture,
      lambdaEndpoint: config.lambdaEndpointUrl,
      maxAttempts: config.retryMaxAttempts,
      credentials: options.credentials
    })

    let updateAvailable: boolean
    if (published === undefined) {
      core.info(`No version of ${layerName} (${architecture}) is published in ${region}: PHP ${release.version} is an update`)
      updateAvailable = true
    } else if (published.phpVersion === undefined) {
      core.warning(`${published.layerVersionArn} has no "PHP X.Y.Z" in its description, so its PHP version is unknown: reporting an update`)
      updateAvailable = true
    } else {
      const check = await checkForNewerRelease(config.phpVersion, published.phpVersion, { baseUrl: config.phpNetUrl })
      updateAvailable = check.newer
      core.info(`${published.layerVersionArn} has PHP ${published.phpVersion}; php.net has ${check.latest.version}: update available ${updateAvailable}`)
    }

    return { phpVersion: release.version, extensions: [], layers: [], updateAvailable }
  })
}

function summarizeBuild(zips: readonly PackagedLayer[]): RunReport {
  const first = zips[0]
  if (first === undefined) {
    throw new Error('no layer was built or given')
  }

  const versions = new Set(zips.map((zip) => zip.info.phpVersion))
  if (versions.size > 1) {
    throw new Error(`the layer zips hold different PHP versions (${[...versions].join(', ')}): publish one PHP version per run`)
  }

  return {
    phpVersion: first.info.phpVersion,
    extensions: first.info.extensions,
    layers: [],
    zipPath: zips.map((zip) => zip.zipPath).join('\n'),
    zipSha256: zips.map((zip) => zip.sha256).join('\n')
  }
}

function toLayerResult(result: RegionResult): LayerResult {
  return {
    region: result.region,
    architecture: result.architecture,
    arn: result.layerVersionArn ?? null,
    version: result.version ?? null,
    status: result.status,
    ...(result.error === undefined ? {} : { error: result.error })
  }
}

function requestedExtensions(config: Config): string[] {
  return config.extensions.includeDefaults ? ['default', ...config.extensions.names] : config.extensions.names
}

/** The lowest glibc among the compatible runtimes, since the layer must load on each of them. */
function targetGlibc(runtimes: readonly string[]): string {
  const versions = runtimes.map((runtime) => RUNTIME_GLIBC[runtime] ?? RUNTIME_GLIBC['provided.al2023']!)
  return versions.sort(compareVersions)[0] ?? RUNTIME_GLIBC['provided.al2023']!
}
