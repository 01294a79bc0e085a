import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'

import * as exec from '@actions/exec'

import type { BuildInfo, Compiler, ExecFunction, Optimization } from './build-native.js'
import { peclBuildArgument, type ExtensionPlan } from './extensions.js'
import { runtimePath } from './paths.js'

export type Architecture = 'x86_64' | 'arm64'

/** Image with dnf that compiles PHP. */
export const DEFAULT_BUILD_IMAGE = 'public.ecr.aws/amazonlinux/amazonlinux:2023'
/** Lambda base image the layer is checked in. Every library must resolve there. */
export const DEFAULT_RUNTIME_IMAGE = 'public.ecr.aws/lambda/provided:al2023'

export interface DockerBuildOptions {
  /** PHP release tarball (php-X.Y.Z.tar.xz) and its expected sha256. */
  sourceTarball: string
  sha256: string
  plan: ExtensionPlan
  /** Folder holding the plan's PECL tarballs (default: an empty temporary folder). */
  peclDir?: string
  /** Export folder: the layer lands in OUTPUT/layer, build.sh's summary in OUTPUT/build-info.json. */
  outputDir: string
  architecture: Architecture
  buildImage?: string
  runtimeImage?: string
  optimize?: Optimization
  compiler?: Compiler
  /** Folder with Dockerfile, build.sh, bootstrap, src/ and php.ini (default: the action's runtime/). */
  runtimeDir?: string
  /** Development only: build without bootstrap, src/ or php.ini (build.sh --dev-allow-missing-runtime). */
  allowMissingRuntime?: boolean
  /** Docker CLI (default docker). */
  docker?: string
  exec?: ExecFunction
}

export interface DockerBuildResult {
  layerDir: string
  info: BuildInfo
  command: { command: string; args: string[] }
}

/** Maps a Lambda architecture to the Docker platform. */
export function dockerPlatform(architecture: Architecture): string {
  switch (architecture) {
    case 'x86_64':
      return 'linux/amd64'
    case 'arm64':
      return 'linux/arm64'
    default:
      throw new Error(`unsupported architecture ${JSON.stringify(architecture)}; use x86_64 or arm64`)
  }
}

/**
 * Builds the `docker buildx build` command for runtime/Dockerfile: the Amazon Linux 2023 build
 * stage, the check in the clean Lambda image, and a local export of the layer stage.
 */
export function dockerBuildCommand(options: DockerBuildOptions & { peclDir: string }): { command: string; args: string[] } {
  const runtimeDir = resolve(options.runtimeDir ?? runtimePath())
  const sourceTarball = resolve(options.sourceTarball)
  const peclDir = resolve(options.peclDir)
  const buildOptions = options.allowMissingRuntime === true ? '--dev-allow-missing-runtime' : ''

  const buildArgs: Record<string, string> = {
    BUILD_IMAGE: options.buildImage ?? DEFAULT_BUILD_IMAGE,
    RUNTIME_IMAGE: options.runtimeImage ?? DEFAULT_RUNTIME_IMAGE,
    PHP_TARBALL: basename(sourceTarball),
    PHP_SHA256: options.sha256,
    CONFIGURE_FLAGS: options.plan.configureFlags.join(' '),
    PECL_SPECS: options.plan.pecl.map(peclBuildArgument).join(' '),
    DNF_PACKAGES: options.plan.dnfPackages.join(' '),
    OPTIMIZE: options.optimize ?? 'size',
    COMPILER: options.compiler ?? 'gcc',
    BUILD_OPTIONS: buildOptions
  }

  const args = ['buildx', 'build', '--platform', dockerPlatform(options.architecture)]
  args.push('--file', join(runtimeDir, 'Dockerfile'), '--target', 'layer')
  for (const [name, value] of Object.entries(buildArgs)) {
    args.push('--build-arg', `${name}=${value}`)
  }
  args.push('--build-context', `php-source=${dirname(sourceTarball)}`)
  args.push('--build-context', `pecl=${peclDir}`)
  args.push('--output', `type=local,dest=${resolve(options.outputDir)}`)
  args.push(runtimeDir)

  return { command: options.docker ?? 'docker', args }
}

/** Builds the layer with Docker and returns the exported layer folder and build.sh's summary. */
export async function buildDocker(options: DockerBuildOptions): Promise<DockerBuildResult> {
  // The pecl build context must exist even when no PECL extension is selected.
  const emptyPeclDir = options.peclDir === undefined ? await mkdtemp(join(tmpdir(), 'php-layer-pecl-')) : undefined
  try {
    return await runDockerBuild(options, emptyPeclDir ?? options.peclDir!)
  } finally {
    if (emptyPeclDir !== undefined) {
      await rm(emptyPeclDir, { recursive: true, force: true })
    }
  }
}

async function runDockerBuild(options: DockerBuildOptions, peclDir: string): Promise<DockerBuildResult> {
  const run = options.exec ?? exec.exec
  const outputDir = resolve(options.outputDir)
  const command = dockerBuildCommand({ ...options, peclDir })

  // The local exporter adds files to the folder, so clear what an earlier export left.
  await rm(join(outputDir, 'layer'), { recursive: true, force: true })
  await rm(join(outputDir, 'build-info.json'), { force: true })
  await mkdir(outputDir, { recursive: true })

  const exitCode = await run(command.command, command.args, { ignoreReturnCode: true })
  if (exitCode !== 0) {
    throw new Error(
      `docker buildx build failed with exit code ${exitCode}; its output above names the failing stage ` +
        '(build: compiling PHP, check: a library missing from the Lambda image)'
    )
  }

  const info = JSON.parse(await readFile(join(outputDir, 'build-info.json'), 'utf8')) as BuildInfo
  return { layerDir: join(outputDir, 'layer'), info, command }
}
