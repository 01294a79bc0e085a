import { execFile } from 'node:child_process'
import { copyFile, lstat, mkdir, open, readdir, readlink, symlink, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { promisify } from 'node:util'

import { findExecutable } from './build-native.js'
import { errorMessage } from './errors.js'

const execFileAsync = promisify(execFile)

/** Path of Amazon Linux's CA bundle, where the layer's php.ini and curl look for it. */
export const AMAZON_LINUX_CA_BUNDLE = '/etc/pki/tls/certs/ca-bundle.crt'

/** Folders a bare root provides as mount points: the layer, the function code, and the kernel file systems. */
const MOUNT_POINTS = ['opt', 'var/task', 'tmp', 'proc', 'dev']

/** Top-level folders that merged-/usr systems (Debian 12, Amazon Linux 2023) make links into /usr. */
const MERGED_USR_LINKS = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']

/** ELF e_machine values of the architectures Lambda runs: EM_X86_64 and EM_AARCH64. */
const ELF_MACHINES: Record<number, string> = { 62: 'x86_64', 183: 'aarch64' }

/** Node's process.arch names of the same architectures. */
const NODE_ARCHITECTURES: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64' }

export interface BareRootOptions {
  /**
   * Root folder whose glibc is copied, default `/` (this machine). A distribution tree such as
   * a debootstrapped Debian 11 root gives an older glibc, closer to Lambda's.
   */
  glibcRoot?: string
  /** Statically linked busybox for /bin/sh and the basic commands, default `busybox` on PATH. */
  busybox?: string
  /** CA bundle to install at /etc/pki/tls/certs/ca-bundle.crt, as on Amazon Linux. */
  caBundle?: string
}

/** A folder that contains only glibc, a static busybox and the mount points Lambda uses. */
export interface BareRoot {
  dir: string
  /** glibc version of the copied files, such as `2.36`. */
  glibcVersion: string
  /** Paths of the copied glibc files inside the root. */
  glibcFiles: string[]
  /** Paths of glibc's dynamic loader as its package lists them, such as /lib64/ld-linux-x86-64.so.2. */
  dynamicLoaders: string[]
}

/** The files of an installed glibc package, as its package manager lists them. */
export interface GlibcPackage {
  /** Upstream version, such as `2.36` from Debian's `2.36-9+deb12u10`. */
  version: string
  /** Every path the package installs, folders included. */
  files: string[]
}

/** Machine and dynamic loader of an ELF file, read from its header and program headers. */
export interface ElfInfo {
  /** `x86_64`, `aarch64` or `machine N` for other values of e_machine. */
  machine: string
  /** Dynamic loader from PT_INTERP, undefined for a static executable or a shared library. */
  interpreter?: string
}

/**
 * Creates a bare root in `dir`, which must be missing or empty. It contains glibc's shared
 * objects and dynamic loader, copied from `glibcRoot` to their usual paths, and a static busybox
 * as /bin/sh, /usr/bin/env and the other basic commands. It also gets minimal /etc files,
 * /etc/pki/tls/certs/ and the mount points /opt, /var/task, /tmp, /proc and /dev. Nothing else
 * is there, so a layer that runs in it brings every other library it needs.
 */
export async function createBareRoot(dir: string, options: BareRootOptions = {}): Promise<BareRoot> {
  await ensureEmptyFolder(dir)
  const busybox = await findStaticBusybox(options.busybox)

  const glibcRoot = options.glibcRoot ?? '/'
  const glibc = await listGlibcPackage(glibcRoot)
  await copyMergedUsrLinks(glibcRoot, dir)
  const glibcFiles = await copyGlibc(glibcRoot, glibcRuntimeFiles(glibc.files), dir)
  const dynamicLoaders = glibcFiles.filter((file) => isDynamicLoader(file))
  if (dynamicLoaders.length === 0) {
    throw new Error(`glibc in ${glibcRoot} lists no dynamic loader (ld-linux*.so*); is ${glibcRoot} a glibc system?`)
  }

  await installBusybox(dir, busybox)
  await writeEtcFiles(dir)

  for (const mountPoint of MOUNT_POINTS) {
    await mkdir(join(dir, mountPoint), { recursive: true })
  }

  const certificates = join(dir, dirname(AMAZON_LINUX_CA_BUNDLE))
  await mkdir(certificates, { recursive: true })
  if (options.caBundle !== undefined) {
    await copyFile(options.caBundle, join(dir, AMAZON_LINUX_CA_BUNDLE))
  }

  return { dir, glibcVersion: glibc.version, glibcFiles, dynamicLoaders }
}

/**
 * Lists the files of the glibc package installed in `root`: `libc6` through dpkg-query
 * (Debian, Ubuntu) or `glibc` through rpm (Amazon Linux, Fedora).
 */
export async function listGlibcPackage(root = '/'): Promise<GlibcPackage> {
  const failures: string[] = []

  const dpkgQuery = await findExecutable('dpkg-query')
  if (dpkgQuery !== undefined) {
    const admindir = ['--admindir', join(root, 'var/lib/dpkg')]
    try {
      const version = await execFileAsync(dpkgQuery, [...admindir, '--show', '--showformat', '${Version}', 'libc6'])
      const files = await execFileAsync(dpkgQuery, [...admindir, '--listfiles', 'libc6'], { maxBuffer: 16 * 1024 * 1024 })
      return { version: upstreamVersion(version.stdout), files: nonEmptyLines(files.stdout) }
    } catch (error) {
      failures.push(`dpkg-query: ${errorMessage(error).trim()}`)
    }
  }

  const rpm = await findExecutable('rpm')
  if (rpm !== undefined) {
    try {
      const version = await execFileAsync(rpm, ['--root', root, '--query', '--queryformat', '%{VERSION}', 'glibc'])
      const files = await execFileAsync(rpm, ['--root', root, '--query', '--list', 'glibc'], { maxBuffer: 16 * 1024 * 1024 })
      return { version: upstreamVersion(version.stdout), files: nonEmptyLines(files.stdout) }
    } catch (error) {
      failures.push(`rpm: ${errorMessage(error).trim()}`)
    }
  }

  const tried = failures.length > 0 ? ` (${failures.join('; ')})` : ' (neither dpkg-query nor rpm is installed)'
  throw new Error(
    `Cannot list glibc's files in ${root}${tried}. The bare root copies glibc from the package ` +
      'database: package libc6 on Debian/Ubuntu, glibc on Amazon Linux/Fedora.'
  )
}

/**
 * Selects from a glibc package's file list what a program may load at run time: the shared
 * objects and the dynamic loader under lib folders, and the gconv modules with their
 * configuration, which iconv() loads for most character sets.
 */
export function glibcRuntimeFiles(packageFiles: readonly string[]): string[] {
  return packageFiles.filter((file) => {
    if (!/^\/(usr\/)?lib(32|64|x32)?\//.test(file) || file.startsWith('/usr/lib/debug/')) {
      return false
    }

    return /\.so(\.[0-9]+)*$/.test(basename(file)) || file.includes('/gconv/')
  })
}

/** Returns true for glibc's dynamic loader, such as ld-linux-x86-64.so.2 or ld-linux-aarch64.so.1. */
export function isDynamicLoader(file: string): boolean {
  return /^ld-linux[-.a-z0-9_]*\.so\.[0-9]+$/.test(basename(file))
}

/**
 * Reads the machine and the PT_INTERP loader of a 64-bit little-endian ELF file (x86_64 and
 * arm64 Lambda binaries). Field offsets follow the ELF-64 specification.
 */
export async function readElf(path: string): Promise<ElfInfo> {
  const file = await open(path, 'r')
  try {
    const header = Buffer.alloc(64)
    await file.read(header, 0, 64, 0)
    if (header.readUInt32BE(0) !== 0x7f454c46) {
      throw new Error(`${path} is not an ELF file`)
    }
    if (header[4] !== 2 || header[5] !== 1) {
      throw new Error(`${path} is not a 64-bit little-endian ELF file; Lambda runs x86_64 and arm64`)
    }

    const machineNumber = header.readUInt16LE(18)
    const machine = ELF_MACHINES[machineNumber] ?? `machine ${machineNumber}`
    const programHeaderOffset = Number(header.readBigUInt64LE(32))
    const programHeaderSize = header.readUInt16LE(54)
    const programHeaderCount = header.readUInt16LE(56)

    for (let index = 0; index < programHeaderCount; index++) {
      const entry = Buffer.alloc(programHeaderSize)
      await file.read(entry, 0, programHeaderSize, programHeaderOffset + index * programHeaderSize)

      const PT_INTERP = 3
      if (entry.readUInt32LE(0) === PT_INTERP) {
        const offset = Number(entry.readBigUInt64LE(8))
        const size = Number(entry.readBigUInt64LE(32))
        const interpreter = Buffer.alloc(size)
        await file.read(interpreter, 0, size, offset)
        return { machine, interpreter: interpreter.toString('latin1').replace(/\0+$/, '') }
      }
    }

    return { machine }
  } finally {
    await file.close()
  }
}

/** Returns the ELF machine name of this Node process's architecture. */
export function hostMachine(): string {
  return NODE_ARCHITECTURES[process.arch] ?? process.arch
}

async function ensureEmptyFolder(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true })
  const entries = await readdir(dir)
  if (entries.length > 0) {
    throw new Error(`Bare root folder ${dir} is not empty (${entries.slice(0, 5).join(', ')}); pass a missing or empty folder`)
  }
}

/**
 * Recreates the links /lib -> usr/lib and the like that `sourceRoot` has, so that package paths
 * such as /lib64/ld-linux-x86-64.so.2 and /usr/lib64/ld-linux-x86-64.so.2 reach the same file,
 * as on the system the files come from.
 */
async function copyMergedUsrLinks(sourceRoot: string, targetRoot: string): Promise<void> {
  for (const name of MERGED_USR_LINKS) {
    const status = await lstat(join(sourceRoot, name)).catch(() => undefined)
    if (status?.isSymbolicLink() !== true) {
      continue
    }

    const target = await readlink(join(sourceRoot, name))
    await mkdir(join(targetRoot, target.startsWith('/') ? target : join('/', target)), { recursive: true })
    await symlink(target, join(targetRoot, name))
  }
}

/** Copies each listed file from `sourceRoot` to the same path under `targetRoot`, keeping symlinks as they are. */
async function copyGlibc(sourceRoot: string, files: readonly string[], targetRoot: string): Promise<string[]> {
  const copied: string[] = []

  for (const file of files) {
    const source = join(sourceRoot, file)
    const target = join(targetRoot, file)
    const status = await lstat(source).catch(() => undefined)
    if (status === undefined || status.isDirectory()) {
      continue
    }

    await mkdir(dirname(target), { recursive: true })
    if (status.isSymbolicLink()) {
      // Absolute targets such as /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 resolve inside the root at run time.
      await symlink(await readlink(source), target)
    } else {
      await copyFile(source, target)
    }
    copied.push(file)
  }

  return copied
}

/** Returns the path of a statically linked busybox: `busyboxPath`, else busybox on PATH. */
async function findStaticBusybox(busyboxPath?: string): Promise<string> {
  const busybox = busyboxPath ?? (await findExecutable('busybox'))
  if (busybox === undefined) {
    throw new Error(
      'busybox not found on PATH. The bare root needs a static busybox for /bin/sh: ' +
        'apt-get install busybox-static (Debian/Ubuntu), or pass the path of a static busybox.'
    )
  }

  const elf = await readElf(busybox)
  if (elf.interpreter !== undefined) {
    throw new Error(
      `${busybox} is dynamically linked (loader ${elf.interpreter}); the bare root needs a static busybox: ` +
        'apt-get install busybox-static (Debian/Ubuntu), or pass the path of a static busybox.'
    )
  }

  return busybox
}

/**
 * Installs busybox as /bin/busybox with a link for each of its commands in /bin, plus
 * /usr/bin/env. bootstrap is POSIX sh and runs mkdir, and Lambda's provided.al2023 has a shell
 * and coreutils.
 */
async function installBusybox(root: string, busybox: string): Promise<void> {
  await mkdir(join(root, 'bin'), { recursive: true })
  await mkdir(join(root, 'usr/bin'), { recursive: true })
  await copyFile(busybox, join(root, 'bin/busybox'))

  const { stdout } = await execFileAsync(busybox, ['--list'])
  const commands = new Set(['sh', ...nonEmptyLines(stdout)])
  commands.delete('busybox')
  for (const command of commands) {
    await symlink('busybox', join(root, 'bin', command))
  }

  // With a merged /usr, /bin is /usr/bin and the env link exists already.
  const env = join(root, 'usr/bin/env')
  if ((await lstat(env).catch(() => undefined)) === undefined) {
    await symlink('/bin/busybox', env)
  }
}

/** Writes the few /etc files that glibc's name lookups read: localhost only, no DNS servers. */
async function writeEtcFiles(root: string): Promise<void> {
  await mkdir(join(root, 'etc'), { recursive: true })
  await writeFile(join(root, 'etc/hosts'), '127.0.0.1 localhost\n::1 localhost\n')
  await writeFile(join(root, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n')
  await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n')
  await writeFile(join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n')
}

function upstreamVersion(packageVersion: string): string {
  const match = /^(?:[0-9]+:)?([0-9]+\.[0-9]+)/.exec(packageVersion.trim())
  return match?.[1] ?? packageVersion.trim()
}

function nonEmptyLines(text: string): string[] {
  return text.split('\n').map((line) => line.trim()).filter((line) => line !== '')
}
