import { spawn } from 'node:child_process'
import { basename, join } from 'node:path'

import { findExecutable, shellQuote } from './build-native.js'

/** Sandbox program that runs commands in a bare root: bubblewrap, or util-linux's unshare (namespaces and chroot) as root. */
export type BareRootSandboxKind = 'bwrap' | 'unshare'

/** A sandbox program found on this machine. */
export interface BareRootSandbox {
  kind: BareRootSandboxKind
  /** Full path of bwrap or unshare. */
  executable: string
  /** unshare only: full path of mount, which can be outside the command's PATH. */
  mount?: string
}

/** Host folders mounted into a bare root. */
export interface BareRootMounts {
  /** The bare root, mounted read-only as /. */
  root: string
  /** The layer, mounted read-only at /opt, where Lambda mounts layers. */
  layerDir: string
  /** The function code, mounted read-only at /var/task (LAMBDA_TASK_ROOT). */
  taskRoot: string
}

/** Output and status of a command that ran in a bare root. */
export interface BareRootRun {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Device nodes a bare root gets in the unshare sandbox, the ones bwrap's --dev provides. */
const DEVICE_NODES = ['null', 'zero', 'full', 'random', 'urandom', 'tty']

const INSTALL_HINT =
  'Install bubblewrap (apt-get install bubblewrap on Debian/Ubuntu, dnf install bubblewrap on Amazon Linux/Fedora), ' +
  'or run as root with util-linux (an unshare that has --root and --wd, as 2.38 does, and mount).'

/**
 * Finds a way to run commands in a bare root: bubblewrap when installed, else util-linux's
 * unshare with mount, which need root. `requested` picks one and fails when it is missing.
 */
export async function findBareRootSandbox(requested?: BareRootSandboxKind): Promise<BareRootSandbox> {
  if (requested !== 'unshare') {
    const bwrap = await findExecutable('bwrap')
    if (bwrap !== undefined) {
      return { kind: 'bwrap', executable: bwrap }
    }
    if (requested === 'bwrap') {
      throw new Error(`bwrap not found on PATH. ${INSTALL_HINT}`)
    }
  }

  const missing: string[] = []
  const tools: Record<string, string | undefined> = {}
  for (const tool of ['unshare', 'mount']) {
    tools[tool] = await findExecutable(tool)
    if (tools[tool] === undefined) {
      missing.push(tool)
    }
  }

  const isRoot = process.getuid?.() === 0
  if (missing.length === 0 && isRoot) {
    return { kind: 'unshare', executable: tools.unshare as string, mount: tools.mount }
  }

  const reasons = [
    requested === 'unshare' ? undefined : 'bubblewrap (bwrap) is not installed',
    missing.length > 0 ? `${missing.join(', ')} not found on PATH` : undefined,
    isRoot ? undefined : 'the unshare fallback needs root'
  ].filter((reason) => reason !== undefined)
  throw new Error(`Cannot run commands in a bare root: ${reasons.join(', ')}. ${INSTALL_HINT}`)
}

/**
 * Builds the command line that runs `command` in the bare root the way Lambda runs a runtime.
 * The layer is read-only at /opt, the function code read-only at /var/task (the working
 * folder), and /tmp is private and writable, with its own /proc and a minimal /dev. The command
 * shares this machine's network, so it reaches servers on 127.0.0.1. It inherits the
 * environment of the process that starts it.
 */
export function bareRootCommand(sandbox: BareRootSandbox, mounts: BareRootMounts, command: readonly string[]): { command: string; args: string[] } {
  if (sandbox.kind === 'bwrap') {
    return {
      command: sandbox.executable,
      args: [
        '--unshare-all',
        '--share-net',
        '--die-with-parent',
        '--ro-bind', mounts.root, '/',
        '--ro-bind', mounts.layerDir, '/opt',
        '--ro-bind', mounts.taskRoot, '/var/task',
        '--proc', '/proc',
        '--dev', '/dev',
        '--tmpfs', '/tmp',
        '--chdir', '/var/task',
        '--',
        ...command
      ]
    }
  }

  return {
    command: sandbox.executable,
    args: [
      '--mount',
      '--propagation', 'private',
      '--pid',
      '--ipc',
      '--uts',
      '--fork',
      '--kill-child',
      '--',
      '/bin/sh', '-c', unshareScript(mounts.root, sandbox.executable, sandbox.mount ?? 'mount'),
      'bare-root', mounts.layerDir, mounts.taskRoot,
      ...command
    ]
  }
}

/**
 * Returns the host shell script of the unshare sandbox. Its mounts live in the private mount namespace
 * that unshare created, so they disappear when the command ends. The last step is unshare
 * again, without new namespaces, for its --root (chroot) and --wd: the command starts in
 * /var/task with no shell in between. PWD is set as bwrap sets it. Arguments: layer folder,
 * task root, then the command.
 */
function unshareScript(root: string, unsharePath: string, mountPath: string): string {
  const at = (path: string): string => shellQuote(join(root, path))
  const mount = shellQuote(mountPath)
  const lines = [
    'set -e',
    'layer=$1 task=$2',
    'shift 2',
    // A bind of the root onto itself makes it a mount point that can be made read-only at the end.
    `${mount} --bind ${shellQuote(root)} ${shellQuote(root)}`,
    `${mount} --bind "$layer" ${at('opt')}`,
    `${mount} -o remount,bind,ro ${at('opt')}`,
    `${mount} --bind "$task" ${at('var/task')}`,
    `${mount} -o remount,bind,ro ${at('var/task')}`,
    `${mount} -t proc proc ${at('proc')}`,
    `${mount} -t tmpfs -o mode=1777 tmpfs ${at('tmp')}`,
    `${mount} -t tmpfs -o mode=755 tmpfs ${at('dev')}`
  ]
  for (const node of DEVICE_NODES) {
    lines.push(`: > ${at(`dev/${node}`)}`, `${mount} --bind /dev/${node} ${at(`dev/${node}`)}`)
  }
  lines.push(
    `${mount} -o remount,bind,ro ${shellQuote(root)}`,
    'unset OLDPWD',
    `PWD=/var/task exec ${shellQuote(unsharePath)} --root=${shellQuote(root)} --wd=/var/task -- "$@"`
  )

  return lines.join('\n')
}

/** Runs a command in the bare root with `env` as its whole environment and collects its output. */
export function runInBareRoot(
  sandbox: BareRootSandbox,
  mounts: BareRootMounts,
  command: readonly string[],
  env: Record<string, string> = { PATH: '/usr/bin:/bin' }
): Promise<BareRootRun> {
  const { command: executable, args } = bareRootCommand(sandbox, mounts, command)

  return new Promise((resolve, reject) => {
    const child = spawn(executable, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk))
    child.once('error', (error) => reject(new Error(`Cannot start ${executable}: ${error.message}`)))
    child.once('close', (code, signal) => {
      resolve({ code, signal, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') })
    })
  })
}

/** A shared library, or a symbol version of one, that a file of the layer needs and the dynamic loader cannot find. */
export interface MissingLibrary {
  /** Path inside the bare root, such as /opt/bin/php. */
  file: string
  /** File name of the library, such as libonig.so.5 or libc.so.6. */
  library: string
  /** Symbol version the library lacks, such as GLIBC_2.35, when the library itself was found. */
  version?: string
}

/** Result of the dynamic loader's listing of the layer's ELF files. */
export interface LibraryCheck {
  /** False when the loader itself is not in the bare root; nothing was listed then. */
  loaderFound: boolean
  /** Files the loader listed, as paths inside the bare root. */
  checked: string[]
  missing: MissingLibrary[]
}

/** Exit status of the library check script when the loader is missing. */
const LOADER_NOT_FOUND = 3

/**
 * Asks glibc's dynamic loader in the bare root which libraries bin/php, the libraries in lib/
 * and the extensions in php/extensions/ need, the way ldd does (LD_TRACE_LOADED_OBJECTS=1), and
 * returns those it cannot find, and the symbol versions (GLIBC_2.35) the root's glibc lacks.
 * The search path is `ldLibraryPath`, Lambda's LD_LIBRARY_PATH.
 */
export async function findMissingLibraries(
  sandbox: BareRootSandbox,
  mounts: BareRootMounts,
  loader: string,
  ldLibraryPath: string
): Promise<LibraryCheck> {
  // The loader fails on files that are not ELF (a linker script, a stray text file), so those are skipped.
  const script = [
    `[ -x "$0" ] || exit ${LOADER_NOT_FOUND}`,
    'for file in /opt/bin/php /opt/lib/*.so* /opt/php/extensions/*.so; do',
    '  [ -f "$file" ] || continue',
    '  output=$(LD_TRACE_LOADED_OBJECTS=1 "$0" "$file" 2>&1) || continue',
    '  echo "== $file"',
    '  echo "$output"',
    'done'
  ].join('\n')

  const run = await runInBareRoot(sandbox, mounts, ['/bin/sh', '-c', script, loader], {
    PATH: '/usr/bin:/bin',
    LD_LIBRARY_PATH: ldLibraryPath
  })
  if (run.code === LOADER_NOT_FOUND) {
    return { loaderFound: false, checked: [], missing: [] }
  }
  if (run.code !== 0) {
    throw new Error(`The library check in the bare root failed (${describeRun(run)}): ${run.stderr.trim()}`)
  }

  return parseLoaderListing(run.stdout)
}

/**
 * Parses the `== FILE` sections that findMissingLibraries prints: `libname => not found` lines,
 * and `LIBRARY: version \`GLIBC_2.35' not found (required by FILE)` lines.
 */
export function parseLoaderListing(output: string): LibraryCheck {
  const checked: string[] = []
  const missing: MissingLibrary[] = []
  const seen = new Set<string>()
  let file = ''

  const add = (entry: MissingLibrary): void => {
    const key = `${entry.file} ${entry.library} ${entry.version ?? ''}`
    if (!seen.has(key)) {
      seen.add(key)
      missing.push(entry)
    }
  }

  for (const line of output.split('\n')) {
    const header = /^== (.+)$/.exec(line)
    if (header !== null) {
      file = header[1] as string
      checked.push(file)
      continue
    }

    const notFound = /^\s*(\S+) => not found/.exec(line)
    if (notFound !== null) {
      add({ file, library: notFound[1] as string })
      continue
    }

    const version = /: (\S+): version `([^']+)' not found \(required by ([^)]+)\)/.exec(line)
    if (version !== null) {
      add({ file: version[3] as string, library: basename(version[1] as string), version: version[2] as string })
    }
  }

  return { loaderFound: true, checked, missing }
}

/** Describes how a run ended: "exit status 1" or "signal SIGKILL". */
export function describeRun(run: Pick<BareRootRun, 'code' | 'signal'>): string {
  return run.code !== null ? `exit status ${run.code}` : `signal ${run.signal ?? 'unknown'}`
}
