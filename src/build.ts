import { join, resolve } from 'node:path'

import * as core from '@actions/core'

import { buildDocker, type Architecture } from './build-docker.js'
import {
  buildNative,
  localHost,
  type BuildInfo,
  type Compiler,
  type ExecFunction,
  type HostFacts,
  type Optimization,
  type Sandbox
} from './build-native.js'
import { downloadPeclTarballs, missingModules, planExtensions, type ExtensionPlan } from './extensions.js'
import { checkGlibcCeiling, PROVIDED_AL2023_GLIBC, type GlibcReport } from './glibc.js'

export type Builder = 'docker' | 'native'

export interface BuildOptions {
  builder: Builder
  /** PHP release tarball (php-X.Y.Z.tar.xz), already downloaded, and its expected sha256. */
  sourceTarball: string
  sha256: string
  /** Extension names from the catalog; "default" stands for the default set. */
  extensions: readonly string[]
  /** Native: the layer folder. Docker: the export folder, with the layer in OUTPUT/layer. */
  outputDir: string
  /** Keeps PECL downloads, the build root, ccache and the work folder between builds. */
  cacheDir: string
  /** Lambda architecture (default: this machine's). The native builder only builds for its own. */
  architecture?: Architecture
  optimize?: Optimization
  compiler?: Compiler
  /** glibc of the target Lambda image (default 2.34, provided.al2023). */
  targetGlibc?: string
  /** Base URL of PECL downloads (default https://pecl.php.net/get). */
  peclBaseUrl?: string
  /** Native only: 'auto', 'host' or the path of a build root (see NativeBuildOptions). */
  buildRoot?: string
  /** Native only: how to enter the build root. */
  sandbox?: Sandbox
  /** Docker only: the image that compiles PHP. */
  buildImage?: string
  /** Docker only: the Lambda image the layer is checked in. */
  runtimeImage?: string
  jobs?: number
  runtimeDir?: string
  /** Development only: build without the runtime files (bootstrap, src/, php.ini). */
  allowMissingRuntime?: boolean
  exec?: ExecFunction
  fetch?: typeof fetch
  host?: HostFacts
}

export interface BuildResult {
  layerDir: string
  phpVersion: string
  /** The extensions built into the layer, every one confirmed loaded by `php -m`. */
  extensions: string[]
  /** Seconds per step: build.sh's (verify, unpack, configure, make, install, pecl, assemble, bundle) and ours. */
  durations: Record<string, number>
  plan: ExtensionPlan
  info: BuildInfo
  glibc: GlibcReport
}

/** Maps Node's process.arch to a Lambda architecture. */
export function hostArchitecture(host: HostFacts = localHost): Architecture {
  const architecture = host.architecture()
  if (architecture === 'amd64') {
    return 'x86_64'
  }
  if (architecture === 'arm64') {
    return 'arm64'
  }
  throw new Error(`unsupported build machine architecture ${architecture}; Lambda runs x86_64 and arm64`)
}

/**
 * Builds the PHP layer with the chosen builder, then checks it: every file within the target's
 * glibc, every requested extension loaded. Logs one group with the configure line and durations.
 */
export async function buildLayer(options: BuildOptions): Promise<BuildResult> {
  const started = Date.now()
  const host = options.host ?? localHost
  const architecture = options.architecture ?? hostArchitecture(host)
  const targetGlibc = options.targetGlibc ?? PROVIDED_AL2023_GLIBC
  const cacheDir = resolve(options.cacheDir)
  const plan = planExtensions(options.extensions, { peclBaseUrl: options.peclBaseUrl })

  if (options.builder === 'native' && architecture !== hostArchitecture(host)) {
    throw new Error(
      `the native builder builds for this machine (${hostArchitecture(host)}), not ${architecture}; ` +
        'use the docker builder for another architecture'
    )
  }

  return core.group(`Build PHP layer (${options.builder}, ${architecture})`, async () => {
    core.info(`extensions: ${plan.extensions.join(', ')}`)
    const durations: Record<string, number> = {}

    const peclDir = join(cacheDir, 'pecl')
    if (plan.pecl.length > 0) {
      const downloadStarted = Date.now()
      await downloadPeclTarballs(plan.pecl, peclDir, { fetch: options.fetch })
      durations.peclDownload = seconds(Date.now() - downloadStarted)
    }

    const common = {
      sourceTarball: options.sourceTarball,
      sha256: options.sha256,
      plan,
      peclDir: plan.pecl.length > 0 ? peclDir : undefined,
      optimize: options.optimize,
      compiler: options.compiler,
      runtimeDir: options.runtimeDir,
      allowMissingRuntime: options.allowMissingRuntime,
      exec: options.exec
    }

    const built =
      options.builder === 'native'
        ? await buildNative({
            ...common,
            outputDir: options.outputDir,
            cacheDir,
            jobs: options.jobs,
            targetGlibc,
            buildRoot: options.buildRoot,
            sandbox: options.sandbox,
            host
          })
        : await buildDocker({
            ...common,
            outputDir: options.outputDir,
            architecture,
            buildImage: options.buildImage,
            runtimeImage: options.runtimeImage
          })

    Object.assign(durations, built.info.durations)
    core.info(`configure line: ${built.info.configureLine}`)
    core.info(`CFLAGS: ${built.info.cflags}`)

    const checkStarted = Date.now()
    const glibc = await checkGlibcCeiling(built.layerDir, targetGlibc)
    core.info(`highest glibc symbol version needed: ${glibc.maxVersion ?? 'none'} (target ${targetGlibc})`)

    const missing = missingModules(plan, built.info.modules)
    if (missing.length > 0) {
      throw new Error(
        `the built PHP does not load ${missing.join(', ')}; php -m listed: ${built.info.modules.join(', ')}`
      )
    }
    durations.check = seconds(Date.now() - checkStarted)
    durations.total = seconds(Date.now() - started)

    core.info(`bin/php: ${built.info.phpBytes} bytes; bundled libraries: ${formatBundle(built.info.bundle)}`)
    core.info(`durations (s): ${Object.entries(durations).map(([step, value]) => `${step}=${value}`).join(' ')}`)

    return {
      layerDir: built.layerDir,
      phpVersion: built.info.phpVersion,
      extensions: plan.extensions,
      durations,
      plan,
      info: built.info,
      glibc
    }
  })
}

function seconds(milliseconds: number): number {
  return Math.round(milliseconds / 100) / 10
}

function formatBundle(bundle: BuildInfo['bundle']): string {
  if (bundle.length === 0) {
    return 'none'
  }
  return bundle.map((library) => `${library.name} (${library.bytes})`).join(', ')
}
