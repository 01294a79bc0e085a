import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { lstat, mkdir, readdir, readlink, rename, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'

import { ZipFile } from 'yazl'

import { LAMBDA_UNZIPPED_LIMIT_BYTES } from './lambda-limits.js'

export { LAMBDA_UNZIPPED_LIMIT_BYTES }

// The DOS epoch, built from local date parts: with forceDosTimestamp yazl writes only the DOS
// date and time fields, which it derives from local time, so every entry gets 1980-01-01 00:00
// in every time zone.
const ENTRY_TIMESTAMP = new Date(1980, 0, 1, 0, 0, 0)

// zlib's default level. Level 9 made the files of /usr/bin (1 GB of binaries) 0.3 % smaller for
// three times the CPU time, measured with zlib.deflateRawSync on a 2-core Debian 12 machine.
// NOTE: the bytes are stable for one Node.js release. Another bundled zlib may deflate the same
// input differently, which changes CodeSha256 but not the unzipped files.
const COMPRESSION_LEVEL = 6

// Lambda needs every file readable by all users, and directories and executables at 755 (AWS
// Knowledge Center, "lambda-deployment-package-errors"), so only the run bits are kept from disk.
const DIRECTORY_MODE = 0o040755
const EXECUTABLE_FILE_MODE = 0o100755
const REGULAR_FILE_MODE = 0o100644
const SYMLINK_MODE = 0o120777

const BOOTSTRAP = 'bootstrap'

/** A zipped layer and the digests Lambda reports for it. */
export interface LayerZip {
  zipPath: string
  /** sha256 of the zip file, lowercase hex. */
  sha256: string
  /** sha256 of the zip file, base64: the `CodeSha256` Lambda returns for a layer version. */
  codeSha256: string
  zipBytes: number
  /** Sum of the file sizes and symlink target lengths in the zip. */
  unzippedBytes: number
  /** Number of zip entries: files, symlinks and directories. */
  entries: number
}

export interface ZipLayerOptions {
  /** The layer tree: what Lambda mounts at /opt. */
  layerDir: string
  /** Path of the zip to write. Its parent folder is created. */
  zipPath: string
  /** Defaults to LAMBDA_UNZIPPED_LIMIT_BYTES. */
  maxUnzippedBytes?: number
}

interface TreeEntry {
  /** Path inside the zip, `/`-separated, with a trailing `/` for a directory. */
  zipName: string
  diskPath: string
  kind: 'file' | 'directory' | 'symlink'
  mode: number
  size: number
  linkTarget?: string
}

/**
 * Zips a layer tree deterministically: `bootstrap` first, then every other entry sorted by path,
 * fixed timestamps, normalized modes and symlinks stored as links. The same tree gives the same
 * bytes, so the CodeSha256 Lambda reports stays the same across builds.
 */
export async function zipLayer(options: ZipLayerOptions): Promise<LayerZip> {
  const maxUnzippedBytes = options.maxUnzippedBytes ?? LAMBDA_UNZIPPED_LIMIT_BYTES

  await checkBootstrap(options.layerDir)
  const entries = orderEntries(await listTree(options.layerDir))

  const unzippedBytes = entries.reduce((total, entry) => total + entry.size, 0)
  if (unzippedBytes > maxUnzippedBytes) {
    throw new Error(
      `layer ${options.layerDir} is ${unzippedBytes} bytes unzipped (${mebibytes(unzippedBytes)}), ` +
        `over the limit of ${maxUnzippedBytes} bytes (${mebibytes(maxUnzippedBytes)}) that Lambda allows for a ` +
        'function and all its layers together: drop extensions or bundled libraries to shrink it'
    )
  }

  const { sha256, zipBytes } = await writeZip(entries, options.zipPath)

  return {
    zipPath: options.zipPath,
    sha256,
    codeSha256: hexToBase64(sha256),
    zipBytes,
    unzippedBytes,
    entries: entries.length
  }
}

/** Hashes an existing zip, such as one built by an earlier job, into the digests zipLayer returns. */
export async function hashZip(zipPath: string): Promise<Pick<LayerZip, 'zipPath' | 'sha256' | 'codeSha256' | 'zipBytes'>> {
  const hash = createHash('sha256')
  let zipBytes = 0

  for await (const chunk of createReadStream(zipPath)) {
    const buffer = chunk as Buffer
    hash.update(buffer)
    zipBytes += buffer.length
  }

  const sha256 = hash.digest('hex')
  return { zipPath, sha256, codeSha256: hexToBase64(sha256), zipBytes }
}

/** Converts a hex sha256 into the base64 form Lambda uses for CodeSha256. */
export function hexToBase64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64')
}

async function checkBootstrap(layerDir: string): Promise<void> {
  const root = await lstat(layerDir).catch(() => undefined)
  if (root === undefined || !root.isDirectory()) {
    throw new Error(`layer folder ${layerDir} does not exist or is not a directory`)
  }

  const bootstrapPath = join(layerDir, BOOTSTRAP)
  const stats = await lstat(bootstrapPath).catch(() => undefined)
  if (stats === undefined) {
    throw new Error(
      `layer ${layerDir} has no ${BOOTSTRAP} at its root: Lambda starts a custom runtime from /opt/${BOOTSTRAP}, ` +
        `so copy runtime/bootstrap to ${bootstrapPath}`
    )
  }
  if (!stats.isFile()) {
    throw new Error(`${bootstrapPath} is not a regular file: Lambda needs an executable file at /opt/${BOOTSTRAP}`)
  }
  if ((stats.mode & 0o111) === 0) {
    throw new Error(
      `${bootstrapPath} is not executable (mode ${octal(stats.mode & 0o7777)}): run chmod 755 ${bootstrapPath}`
    )
  }
}

async function listTree(layerDir: string): Promise<TreeEntry[]> {
  const entries: TreeEntry[] = []
  const folders = ['']

  for (let folder = folders.pop(); folder !== undefined; folder = folders.pop()) {
    const children = await readdir(join(layerDir, folder))

    for (const name of children) {
      const relativePath = folder === '' ? name : `${folder}/${name}`
      const diskPath = join(layerDir, relativePath)
      const stats = await lstat(diskPath)

      if (stats.isDirectory()) {
        entries.push({ zipName: `${relativePath}/`, diskPath, kind: 'directory', mode: DIRECTORY_MODE, size: 0 })
        folders.push(relativePath)
      } else if (stats.isSymbolicLink()) {
        const linkTarget = await readlink(diskPath)
        const size = Buffer.byteLength(linkTarget)
        entries.push({ zipName: relativePath, diskPath, kind: 'symlink', mode: SYMLINK_MODE, size, linkTarget })
      } else if (stats.isFile()) {
        const mode = (stats.mode & 0o111) === 0 ? REGULAR_FILE_MODE : EXECUTABLE_FILE_MODE
        entries.push({ zipName: relativePath, diskPath, kind: 'file', mode, size: stats.size })
      } else {
        throw new Error(`${diskPath} is not a regular file, directory or symlink: remove it from the layer`)
      }
    }
  }

  return entries
}

function orderEntries(entries: TreeEntry[]): TreeEntry[] {
  const bootstrap = entries.filter((entry) => entry.zipName === BOOTSTRAP)
  const others = entries.filter((entry) => entry.zipName !== BOOTSTRAP)

  others.sort((a, b) => compareCodeUnits(a.zipName, b.zipName))

  return [...bootstrap, ...others]
}

async function writeZip(entries: TreeEntry[], zipPath: string): Promise<{ sha256: string; zipBytes: number }> {
  const zip = new ZipFile()
  const common = { mtime: ENTRY_TIMESTAMP, forceDosTimestamp: true }

  for (const entry of entries) {
    if (entry.kind === 'directory') {
      zip.addEmptyDirectory(entry.zipName, { ...common, mode: entry.mode })
    } else if (entry.kind === 'symlink') {
      // Info-ZIP's unzip restores an entry as a symlink when its Unix mode has S_IFLNK and its
      // data is the link target. NOTE: how Lambda itself extracts such entries is untested here.
      zip.addBuffer(Buffer.from(entry.linkTarget ?? ''), entry.zipName, { ...common, mode: entry.mode, compress: false })
    } else {
      zip.addFile(entry.diskPath, entry.zipName, { ...common, mode: entry.mode, compressionLevel: COMPRESSION_LEVEL })
    }
  }

  const hash = createHash('sha256')
  let zipBytes = 0
  const digest = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      hash.update(chunk)
      zipBytes += chunk.length
      callback(null, chunk)
    }
  })

  // yazl reports read errors (a file removed or unreadable) on the ZipFile, not on its stream.
  const output = zip.outputStream as NodeJS.ReadableStream & { destroy(error?: Error): void }
  zip.on('error', (error: Error) => output.destroy(error))

  await mkdir(dirname(zipPath), { recursive: true })
  const partialPath = `${zipPath}.partial`
  zip.end()

  try {
    await pipeline(output, digest, createWriteStream(partialPath))
    await rename(partialPath, zipPath)
  } catch (error) {
    await rm(partialPath, { force: true })
    throw error
  }

  return { sha256: hash.digest('hex'), zipBytes }
}

// Plain UTF-16 code unit order, independent of the locale, so every machine sorts alike.
function compareCodeUnits(a: string, b: string): number {
  if (a < b) {
    return -1
  }
  if (a > b) {
    return 1
  }
  return 0
}

function mebibytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}

function octal(mode: number): string {
  return `0${mode.toString(8)}`
}
