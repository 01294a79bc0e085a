import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmod, cp, lstat, mkdir, mkdtemp, readFile, readlink, rm, symlink, truncate, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import yauzl from 'yauzl'

import { LAMBDA_UNZIPPED_LIMIT_BYTES, hashZip, zipLayer } from '../src/package.js'

interface ZipEntryInfo {
  name: string
  mode: number
  data: Buffer
  modified: Date
  madeByUnix: boolean
}

// Reads every entry with yauzl, an independent zip reader, in the order the zip stores them.
function readZip(zipPath: string): Promise<ZipEntryInfo[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(zipPath, { lazyEntries: true }, (openError, zip) => {
      if (openError !== null || zip === undefined) {
        reject(openError ?? new Error(`cannot open ${zipPath}`))
        return
      }

      const entries: ZipEntryInfo[] = []
      zip.on('error', reject)
      zip.on('end', () => resolve(entries))
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError !== null || stream === undefined) {
            reject(streamError ?? new Error(`cannot read ${entry.fileName}`))
            return
          }

          const chunks: Buffer[] = []
          stream.on('data', (chunk: Buffer) => chunks.push(chunk))
          stream.on('error', reject)
          stream.on('end', () => {
            entries.push({
              name: entry.fileName,
              mode: entry.externalFileAttributes >>> 16,
              data: Buffer.concat(chunks),
              modified: entry.getLastModDate({ forceDosFormat: true }),
              madeByUnix: entry.versionMadeBy >> 8 === 3
            })
            zip.readEntry()
          })
        })
      })
      zip.readEntry()
    })
  })
}

const BOOTSTRAP_SCRIPT = '#!/bin/sh\necho bootstrap ran\n'

async function makeLayerTree(root: string): Promise<void> {
  await mkdir(join(root, 'bin'), { recursive: true })
  await mkdir(join(root, 'lib'), { recursive: true })
  await mkdir(join(root, 'php/conf.d'), { recursive: true })
  await mkdir(join(root, 'php/etc'), { recursive: true })
  await mkdir(join(root, 'php/runtime'), { recursive: true })

  await writeFile(join(root, 'bootstrap'), BOOTSTRAP_SCRIPT)
  await chmod(join(root, 'bootstrap'), 0o755)
  await writeFile(join(root, 'bin/php'), Buffer.alloc(64 * 1024, 'php binary stand-in '))
  await chmod(join(root, 'bin/php'), 0o700)
  await writeFile(join(root, 'lib/libonig.so.5.4.0'), 'shared library stand-in')
  await chmod(join(root, 'lib/libonig.so.5.4.0'), 0o600)
  await symlink('libonig.so.5.4.0', join(root, 'lib/libonig.so.5'))
  await writeFile(join(root, 'php/etc/php.ini'), 'memory_limit=256M\n')
  await writeFile(join(root, 'php/runtime/loop.php'), '<?php\n')
  await writeFile(join(root, 'Zeta.txt'), 'sorted before lowercase names\n')
}

describe('zipLayer', () => {
  let workDir: string
  let layerDir: string

  beforeEach(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'package-test-'))
    layerDir = join(workDir, 'layer')
    await makeLayerTree(layerDir)
  })

  afterEach(async () => {
    await rm(workDir, { recursive: true, force: true })
  })

  it('zips the same tree to the same bytes twice', async () => {
    const first = await zipLayer({ layerDir, zipPath: join(workDir, 'first.zip') })
    const second = await zipLayer({ layerDir, zipPath: join(workDir, 'second.zip') })

    expect(second.sha256).toBe(first.sha256)
    expect(await readFile(second.zipPath)).toEqual(await readFile(first.zipPath))
  })

  it('ignores mtimes and umask bits', async () => {
    const original = await zipLayer({ layerDir, zipPath: join(workDir, 'original.zip') })

    const copyDir = join(workDir, 'copy')
    await cp(layerDir, copyDir, { recursive: true, verbatimSymlinks: true })
    await utimes(join(copyDir, 'php/etc/php.ini'), new Date('2031-05-06T07:08:09Z'), new Date('2031-05-06T07:08:09Z'))
    await utimes(join(copyDir, 'bin/php'), new Date('1999-12-31T23:59:59Z'), new Date('1999-12-31T23:59:59Z'))
    await chmod(join(copyDir, 'php/etc/php.ini'), 0o664)
    await chmod(join(copyDir, 'bin/php'), 0o775)
    await chmod(join(copyDir, 'lib'), 0o700)

    const copy = await zipLayer({ layerDir: copyDir, zipPath: join(workDir, 'copy.zip') })
    expect(copy.sha256).toBe(original.sha256)
  })

  it('ignores the time zone', async () => {
    const inProcess = await zipLayer({ layerDir, zipPath: join(workDir, 'here.zip') })

    // A separate Node.js process, because the time zone is fixed when a process starts.
    const packageModule = join(process.cwd(), 'src/package.ts')
    const script =
      `import(${JSON.stringify(packageModule)}).then(async (m) => {` +
      `const zip = await m.zipLayer({ layerDir: ${JSON.stringify(layerDir)}, zipPath: ${JSON.stringify(join(workDir, 'tokyo.zip'))} });` +
      'process.stdout.write(zip.sha256) })'
    const sha256 = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, TZ: 'Asia/Tokyo', NODE_OPTIONS: '' }
    })

    expect(sha256).toBe(inProcess.sha256)
  })

  it('changes the digest when a file changes', async () => {
    const before = await zipLayer({ layerDir, zipPath: join(workDir, 'before.zip') })
    await writeFile(join(layerDir, 'php/etc/php.ini'), 'memory_limit=512M\n')
    const after = await zipLayer({ layerDir, zipPath: join(workDir, 'after.zip') })

    expect(after.sha256).not.toBe(before.sha256)
  })

  it('returns digests and sizes of the written zip', async () => {
    const zip = await zipLayer({ layerDir, zipPath: join(workDir, 'out/nested/layer.zip') })
    const bytes = await readFile(zip.zipPath)
    const digest = createHash('sha256').update(bytes).digest()

    expect(zip.sha256).toBe(digest.toString('hex'))
    expect(zip.codeSha256).toBe(digest.toString('base64'))
    expect(zip.zipBytes).toBe(bytes.length)
    expect(zip.entries).toBe(13)

    const fileContents = [BOOTSTRAP_SCRIPT, 'shared library stand-in', 'memory_limit=256M\n', '<?php\n', 'sorted before lowercase names\n']
    const fileBytes = fileContents.reduce((total, text) => total + Buffer.byteLength(text), 64 * 1024)
    const linkBytes = 'libonig.so.5.4.0'.length
    expect(zip.unzippedBytes).toBe(fileBytes + linkBytes)

    expect(await hashZip(zip.zipPath)).toEqual({
      zipPath: zip.zipPath,
      sha256: zip.sha256,
      codeSha256: zip.codeSha256,
      zipBytes: zip.zipBytes
    })
  })

  it('puts bootstrap first and sorts the rest', async () => {
    const zip = await zipLayer({ layerDir, zipPath: join(workDir, 'layer.zip') })
    const names = (await readZip(zip.zipPath)).map((entry) => entry.name)

    expect(names).toEqual([
      'bootstrap',
      'Zeta.txt',
      'bin/',
      'bin/php',
      'lib/',
      'lib/libonig.so.5',
      'lib/libonig.so.5.4.0',
      'php/',
      'php/conf.d/',
      'php/etc/',
      'php/etc/php.ini',
      'php/runtime/',
      'php/runtime/loop.php'
    ])
  })

  it('stores modes, symlinks and fixed timestamps', async () => {
    const zip = await zipLayer({ layerDir, zipPath: join(workDir, 'layer.zip') })
    const entries = new Map((await readZip(zip.zipPath)).map((entry) => [entry.name, entry]))

    expect(entries.get('bootstrap')?.mode).toBe(0o100755)
    expect(entries.get('bin/php')?.mode).toBe(0o100755)
    expect(entries.get('lib/libonig.so.5.4.0')?.mode).toBe(0o100644)
    expect(entries.get('php/etc/php.ini')?.mode).toBe(0o100644)
    expect(entries.get('php/conf.d/')?.mode).toBe(0o040755)
    expect(entries.get('lib/libonig.so.5')?.mode).toBe(0o120777)
    expect(entries.get('lib/libonig.so.5')?.data.toString()).toBe('libonig.so.5.4.0')
    expect(entries.get('bin/php')?.data.length).toBe(64 * 1024)

    for (const entry of entries.values()) {
      expect(entry.madeByUnix).toBe(true)
      expect(entry.modified.getFullYear()).toBe(1980)
      expect(entry.modified.getMonth()).toBe(0)
      expect(entry.modified.getDate()).toBe(1)
      expect(entry.modified.getHours()).toBe(0)
    }
  })

  it('reads back with zipinfo and unzip', async () => {
    const zip = await zipLayer({ layerDir, zipPath: join(workDir, 'layer.zip') })

    const listing = execFileSync('zipinfo', [zip.zipPath], { encoding: 'utf8' })
    expect(listing).toMatch(/^-rwxr-xr-x .* unx .* bootstrap$/m)
    expect(listing).toMatch(/^-rwxr-xr-x .* unx .* bin\/php$/m)
    expect(listing).toMatch(/^-rw-r--r-- .* unx .* php\/etc\/php\.ini$/m)
    expect(listing).toMatch(/^lrwxrwxrwx .* unx .* lib\/libonig\.so\.5$/m)
    expect(listing).toMatch(/^drwxr-xr-x .* unx .* php\/conf\.d\/$/m)
    expect(listing).toMatch(/80-Jan-01 00:00 bootstrap$/m)

    const extractDir = join(workDir, 'extracted')
    execFileSync('unzip', ['-q', zip.zipPath, '-d', extractDir])

    expect((await lstat(join(extractDir, 'lib/libonig.so.5'))).isSymbolicLink()).toBe(true)
    expect(await readlink(join(extractDir, 'lib/libonig.so.5'))).toBe('libonig.so.5.4.0')
    expect((await lstat(join(extractDir, 'bootstrap'))).mode & 0o777).toBe(0o755)
    expect((await lstat(join(extractDir, 'bin/php'))).mode & 0o777).toBe(0o755)
    expect((await lstat(join(extractDir, 'php/conf.d'))).isDirectory()).toBe(true)
    expect(execFileSync(join(extractDir, 'bootstrap'), { encoding: 'utf8' })).toBe('bootstrap ran\n')
  })

  it('rejects a layer over the unzipped limit', async () => {
    await expect(zipLayer({ layerDir, zipPath: join(workDir, 'small-limit.zip'), maxUnzippedBytes: 1000 })).rejects.toThrow(
      /is 65\d+ bytes unzipped .* over the limit of 1000 bytes/
    )
  })

  it('rejects a sparse file over 250 MB before zipping', async () => {
    await truncate(join(layerDir, 'lib/libonig.so.5.4.0'), LAMBDA_UNZIPPED_LIMIT_BYTES)
    const zipPath = join(workDir, 'too-big.zip')

    await expect(zipLayer({ layerDir, zipPath })).rejects.toThrow(/over the limit of 262144000 bytes \(250\.0 MiB\)/)
    await expect(lstat(zipPath)).rejects.toThrow(/ENOENT/)
  })

  it('rejects a missing bootstrap', async () => {
    await rm(join(layerDir, 'bootstrap'))

    await expect(zipLayer({ layerDir, zipPath: join(workDir, 'layer.zip') })).rejects.toThrow(
      /has no bootstrap at its root: Lambda starts a custom runtime from \/opt\/bootstrap/
    )
  })

  it('rejects a bootstrap without run bits', async () => {
    await chmod(join(layerDir, 'bootstrap'), 0o644)

    await expect(zipLayer({ layerDir, zipPath: join(workDir, 'layer.zip') })).rejects.toThrow(
      /bootstrap is not executable \(mode 0644\): run chmod 755/
    )
  })

  it('rejects a bootstrap that is a directory', async () => {
    await rm(join(layerDir, 'bootstrap'))
    await mkdir(join(layerDir, 'bootstrap'))

    await expect(zipLayer({ layerDir, zipPath: join(workDir, 'layer.zip') })).rejects.toThrow(/bootstrap is not a regular file/)
  })

  it('rejects a missing layer folder', async () => {
    await expect(zipLayer({ layerDir: join(workDir, 'nowhere'), zipPath: join(workDir, 'layer.zip') })).rejects.toThrow(
      /nowhere does not exist or is not a directory/
    )
  })

  it('rejects a named pipe', async () => {
    execFileSync('mkfifo', [join(layerDir, 'lib/pipe')])

    await expect(zipLayer({ layerDir, zipPath: join(workDir, 'layer.zip') })).rejects.toThrow(
      /lib\/pipe is not a regular file, directory or symlink/
    )
  })
})
