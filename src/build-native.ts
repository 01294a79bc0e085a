import { execFile } from 'node:child_process'
import { access, mkdir, readFile } from 'node:fs/promises'
import { constants } from 'node:fs'
import { basename, delimiter, dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'

import * as exec from '@actions/exec'

import { peclBuildArgument, type ExtensionPlan } from './extensions.js'
import { compareVersions, PROVIDED_AL2023_GLIBC } from './glibc.js'
import { actionRoot, runtimePath } from './paths.js'

const execFileAsync = promisify(execFile)

export type Optimization = 'size' | 'speed'
export type Compiler = 'gcc' | 'clang'
export type Sandbox = 'bwrap' | 'chroot'

/** Runs a command and returns its exit code (@actions/exec's exec by default). */
export type ExecFunction = (command: string, args: string[], options?: exec.ExecOptions) => Promise<number>

/** Facts about the build host, injectable so tests can describe another host. */
export interface HostFacts {
  glibcVersion: () => Promise<string>
  isRoot: () => boolean
  findExecutable: (name: string) => Promise<string | undefined>
  architecture: () => string
}

/** The JSON summary build.sh writes with --info-file. */
export interface BuildInfo {
  phpVersion: string
  configureLine: string
  cflags: string
  durations: Record<string, number>
  modules: string[]
  bundle: Array<{ name: string; bytes: number }>
  phpBytes: number
}

export interface NativeBuildOptions {
  /** PHP release tarball (php-X.Y.Z.tar.xz) and its expected sha256. */
  sourceTarball: string
  sha256: string
  plan: ExtensionPlan
  /** Folder holding the plan's PECL tarballs (see downloadPeclTarballs). */
  peclDir?: string
  /** Layer tree to write. build.sh only replaces an empty folder or one it wrote before. */
  outputDir: string
  /** Holds the build root, the ccache and the work folder between runs. */
  cacheDir: string
  optimize?: Optimization
  compiler?: Compiler
  jobs?: number
  /** glibc of the Lambda base image the layer must run on (default 2.34, provided.al2023). */
  targetGlibc?: string
  /**
   * 'auto' (default): compile on the host when its glibc is not newer than the target's, else
   * in a Debian 11 root under cacheDir, created on first use. 'host': always on the host.
   * Any other value: the path of an existing root made by scripts/make-build-root.sh.
   */
  buildRoot?: 'auto' | 'host' | string
  /** How to enter the build root (default: bwrap when installed, else chroot). */
  sandbox?: Sandbox
  /** Folder with build.sh, bootstrap, src/ and php.ini (default: the action's runtime/). */
  runtimeDir?: string
  /** Development only: build without bootstrap, src/ or php.ini (build.sh --dev-allow-missing-runtime). */
  allowMissingRuntime?: boolean
  exec?: ExecFunction
  host?: HostFacts
}

export interface NativeBuildResult {
  layerDir: string
  info: BuildInfo
  /** The root the build ran in, or undefined for a build on the host. */
  buildRoot?: string
  /** build.sh's argument list, as run. */
  buildArguments: string[]
}

/** Debian 11 "bullseye": glibc 2.31, below provided.al2023's 2.34. */
export const BUILD_ROOT_SUITE = 'bullseye'

const ROOT_PATH = '/usr/sbin:/usr/bin:/sbin:/bin'

/** Mount points of the build inputs and outputs inside a build root. */
const ROOT_MOUNTS = {
  runtime: '/build/runtime',
  source: '/build/source',
  pecl: '/build/pecl',
  layer: '/build/layer',
  work: '/build/work',
  ccache: '/build/ccache'
} as const

/** Facts read from this machine. */
export const localHost: HostFacts = {
  glibcVersion: readHostGlibcVersion,
  isRoot: () => process.getuid?.() === 0,
  findExecutable,
  architecture: () => (process.arch === 'x64' ? 'amd64' : process.arch)
}

/** Reads the host's glibc version with `getconf GNU_LIBC_VERSION` ("glibc 2.36" -> "2.36"). */
export async function readHostGlibcVersion(): Promise<string> {
  const { stdout } = await execFileAsync('getconf', ['GNU_LIBC_VERSION'])
  const match = /glibc\s+([0-9.]+)/.exec(stdout)
  if (match === null) {
    throw new Error(`unexpected getconf GNU_LIBC_VERSION output ${JSON.stringify(stdout.trim())}; is this a glibc system?`)
  }
  return match[1] as string
}

/** Returns the full path of an executable on PATH, or undefined. */
export async function findExecutable(name: string): Promise<string | undefined> {
  for (const folder of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(folder, name)
    try {
      await access(candidate, constants.X_OK)
      return candidate
    } catch {
      // not in this PATH folder
    }
  }
  return undefined
}

/** Paths passed to build.sh. Inside a build root they are the root's mount points. */
export interface BuildScriptPaths {
  sourceTarball: string
  peclDir?: string
  outputDir: string
  workDir: string
  infoFile: string
}

/** Builds the argument list of runtime/build.sh for a plan. */
export function buildScriptArguments(
  options: Pick<NativeBuildOptions, 'sha256' | 'plan' | 'optimize' | 'compiler' | 'jobs' | 'allowMissingRuntime'>,
  paths: BuildScriptPaths
): string[] {
  const args = ['--source', paths.sourceTarball, '--sha256', options.sha256, '--output', paths.outputDir]
  args.push('--work-dir', paths.workDir, '--info-file', paths.infoFile)
  args.push('--optimize', options.optimize ?? 'size', '--compiler', options.compiler ?? 'gcc')

  if (options.jobs !== undefined) {
    args.push('--jobs', String(options.jobs))
  }
  for (const flag of options.plan.configureFlags) {
    args.push('--configure-flag', flag)
  }
  if (options.plan.pecl.length > 0) {
    if (paths.peclDir === undefined) {
      throw new Error(`PECL extensions ${options.plan.pecl.map((tarball) => tarball.name).join(', ')} need peclDir`)
    }
    args.push('--pecl-dir', paths.peclDir)
    for (const tarball of options.plan.pecl) {
      args.push('--pecl', peclBuildArgument(tarball))
    }
  }
  args.push('--dev-packages-apt', options.plan.aptPackages.join(' '))
  args.push('--dev-packages-dnf', options.plan.dnfPackages.join(' '))
  if (options.allowMissingRuntime === true) {
    args.push('--dev-allow-missing-runtime')
  }

  return args
}

/** Folder mounts for a build in a root: host path -> path inside the root. */
export interface RootMount {
  hostPath: string
  rootPath: string
  writable: boolean
}

/** Builds the command that runs `/bin/bash SCRIPT ARGS` inside `root` with the given mounts. */
export function sandboxCommand(
  sandbox: Sandbox,
  root: string,
  mounts: readonly RootMount[],
  environment: Record<string, string>,
  scriptArgs: readonly string[]
): { command: string; args: string[] } {
  const envPairs = Object.entries({ PATH: ROOT_PATH, HOME: '/tmp', ...environment })

  if (sandbox === 'bwrap') {
    const args = ['--ro-bind', root, '/']
    for (const mount of mounts) {
      args.push(mount.writable ? '--bind' : '--ro-bind', mount.hostPath, mount.rootPath)
    }
    args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp')
    // The build needs no network: every input is mounted.
    args.push('--unshare-net', '--unshare-pid', '--die-with-parent', '--clearenv')
    for (const [name, value] of envPairs) {
      args.push('--setenv', name, value)
    }
    args.push('/bin/bash', ...scriptArgs)
    return { command: 'bwrap', args }
  }

  // chroot: bind mounts in a private mount namespace vanish when the build exits.
  const lines = ['set -e']
  for (const mount of mounts) {
    const target = shellQuote(join(root, mount.rootPath))
    lines.push(`mount --bind ${shellQuote(mount.hostPath)} ${target}`)
    if (!mount.writable) {
      lines.push(`mount -o remount,bind,ro ${target}`)
    }
  }
  lines.push(`mount -t proc proc ${shellQuote(join(root, 'proc'))}`)
  lines.push(`mount -t tmpfs tmpfs ${shellQuote(join(root, 'tmp'))}`)
  const envArgs = envPairs.map(([name, value]) => shellQuote(`${name}=${value}`))
  lines.push(
    `exec chroot ${shellQuote(root)} /usr/bin/env -i ${envArgs.join(' ')} /bin/bash ${scriptArgs.map(shellQuote).join(' ')}`
  )

  return {
    command: 'unshare',
    args: ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', lines.join('\n')]
  }
}

/** Quotes a word for POSIX sh. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) {
    return word
  }
  return `'${word.replace(/'/g, `'\\''`)}'`
}

/** Returns the default build root folder for this host's architecture. */
export function defaultBuildRoot(cacheDir: string, host: HostFacts = localHost): string {
  return join(cacheDir, 'build-root', `${BUILD_ROOT_SUITE}-${host.architecture()}`)
}

/**
 * Decides where to compile: on the host, or in a build root (returned path) because the host's
 * glibc is newer than the target's. Throws with the fix when a root is needed but cannot be made.
 */
export async function chooseBuildRoot(options: NativeBuildOptions): Promise<string | undefined> {
  const host = options.host ?? localHost
  const target = options.targetGlibc ?? PROVIDED_AL2023_GLIBC
  const setting = options.buildRoot ?? 'auto'

  if (setting === 'host') {
    return undefined
  }
  if (setting !== 'auto') {
    return resolve(setting)
  }

  const hostGlibc = await host.glibcVersion()
  if (compareVersions(hostGlibc, target) <= 0) {
    return undefined
  }

  const root = defaultBuildRoot(options.cacheDir, host)
  const problems: string[] = []
  if (!host.isRoot()) {
    problems.push('the build is not running as root (debootstrap and chroot need it)')
  }
  if ((await host.findExecutable('debootstrap')) === undefined) {
    problems.push('debootstrap is not installed')
  }

  if (problems.length > 0) {
    throw new Error(
      `this host has glibc ${hostGlibc}, newer than the target's ${target}, so a PHP compiled here would ` +
        `fail on Lambda with "GLIBC_x.yy not found". The native builder then compiles in a Debian ` +
        `${BUILD_ROOT_SUITE} root (glibc 2.31) in ${root}, but ${problems.join(' and ')}. ` +
        'Fix: run as root with debootstrap and bubblewrap installed (apt-get install -y debootstrap bubblewrap), ' +
        'pass the path of a root made by scripts/make-build-root.sh as the build root, ' +
        'or use the docker builder'
    )
  }

  return root
}

/** Creates the build root, or reuses it when it already has the packages (make-build-root.sh). */
export async function ensureBuildRoot(root: string, aptPackages: readonly string[], run: ExecFunction): Promise<void> {
  const script = join(actionRoot(), 'scripts', 'make-build-root.sh')
  const exitCode = await run('bash', [script, root, ...aptPackages], { ignoreReturnCode: true })
  if (exitCode !== 0) {
    throw new Error(`${script} ${root} failed with exit code ${exitCode}; its output above names the step`)
  }
}

async function chooseSandbox(options: NativeBuildOptions): Promise<Sandbox> {
  if (options.sandbox !== undefined) {
    return options.sandbox
  }
  const host = options.host ?? localHost
  return (await host.findExecutable('bwrap')) !== undefined ? 'bwrap' : 'chroot'
}

/**
 * Compiles PHP with runtime/build.sh on this machine: directly on the host, or inside a build
 * root with an older glibc (see chooseBuildRoot). Returns the layer folder and build.sh's summary.
 */
export async function buildNative(options: NativeBuildOptions): Promise<NativeBuildResult> {
  const run = options.exec ?? exec.exec
  const runtimeDir = resolve(options.runtimeDir ?? runtimePath())
  const cacheDir = resolve(options.cacheDir)
  const outputDir = resolve(options.outputDir)
  const workDir = join(cacheDir, 'work')
  const ccacheDir = join(cacheDir, 'ccache')
  const sourceTarball = resolve(options.sourceTarball)
  const peclDir = options.peclDir === undefined ? undefined : resolve(options.peclDir)

  await mkdir(outputDir, { recursive: true })
  await mkdir(workDir, { recursive: true })
  await mkdir(ccacheDir, { recursive: true })

  const root = await chooseBuildRoot(options)
  let exitCode: number
  let buildArguments: string[]
  const infoFile = join(workDir, 'build-info.json')

  if (root === undefined) {
    buildArguments = buildScriptArguments(options, { sourceTarball, peclDir, outputDir, workDir, infoFile })
    exitCode = await run('bash', [join(runtimeDir, 'build.sh'), ...buildArguments], {
      ignoreReturnCode: true,
      env: { ...stringEnvironment(), CCACHE_DIR: ccacheDir }
    })
  } else {
    if (options.buildRoot === undefined || options.buildRoot === 'auto') {
      const compilerPackages = options.compiler === 'clang' ? ['clang'] : []
      await ensureBuildRoot(root, [...options.plan.aptPackages, ...compilerPackages], run)
    }

    const mounts: RootMount[] = [
      { hostPath: runtimeDir, rootPath: ROOT_MOUNTS.runtime, writable: false },
      { hostPath: dirname(sourceTarball), rootPath: ROOT_MOUNTS.source, writable: false },
      { hostPath: outputDir, rootPath: ROOT_MOUNTS.layer, writable: true },
      { hostPath: workDir, rootPath: ROOT_MOUNTS.work, writable: true },
      { hostPath: ccacheDir, rootPath: ROOT_MOUNTS.ccache, writable: true }
    ]
    if (peclDir !== undefined) {
      mounts.push({ hostPath: peclDir, rootPath: ROOT_MOUNTS.pecl, writable: false })
    }
    for (const mount of mounts) {
      await mkdir(join(root, mount.rootPath), { recursive: true })
    }

    buildArguments = buildScriptArguments(options, {
      sourceTarball: join(ROOT_MOUNTS.source, basename(sourceTarball)),
      peclDir: peclDir === undefined ? undefined : ROOT_MOUNTS.pecl,
      outputDir: ROOT_MOUNTS.layer,
      workDir: ROOT_MOUNTS.work,
      infoFile: join(ROOT_MOUNTS.work, 'build-info.json')
    })
    const sandbox = await chooseSandbox(options)
    const { command, args } = sandboxCommand(
      sandbox,
      root,
      mounts,
      { CCACHE_DIR: ROOT_MOUNTS.ccache },
      [join(ROOT_MOUNTS.runtime, 'build.sh'), ...buildArguments]
    )
    exitCode = await run(command, args, { ignoreReturnCode: true })
  }

  if (exitCode !== 0) {
    throw new Error(`runtime/build.sh failed with exit code ${exitCode}${root === undefined ? '' : ` in the build root ${root}`}; its output above names the failing step`)
  }

  const info = JSON.parse(await readFile(infoFile, 'utf8')) as BuildInfo
  return { layerDir: outputDir, info, buildRoot: root, buildArguments }
}

function stringEnvironment(): Record<string, string> {
  const environment: Record<string, string> = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined) {
      environment[name] = value
    }
  }
  return environment
}
