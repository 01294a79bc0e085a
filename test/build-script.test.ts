import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { runtimePath } from '../src/paths.js'

// runtime/build.sh's checks that stop a build before compiling, run for real with bash.

const BUILD_SCRIPT = runtimePath('build.sh')
const ZEROS = '0'.repeat(64)

function runBuildScript(args: string[], env: NodeJS.ProcessEnv = process.env): { status: number | null; stderr: string } {
  const result = spawnSync('/bin/bash', [BUILD_SCRIPT, ...args], { encoding: 'utf8', env })
  return { status: result.status, stderr: result.stderr }
}

describe('build.sh', () => {
  let folder: string
  let tarball: string

  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'build-script-'))
    tarball = join(folder, 'php-8.2.99.tar.xz')
    await writeFile(tarball, 'not really a tarball\n')
  })

  afterEach(async () => {
    await rm(folder, { recursive: true, force: true })
  })

  test('missing tools list apt and dnf packages', async () => {
    // A PATH with only what the message itself needs: every build tool is missing.
    const bin = join(folder, 'bin')
    await mkdir(bin)
    for (const tool of ['dirname', 'sort', 'tr']) {
      await symlink(`/usr/bin/${tool}`, join(bin, tool))
    }

    const { status, stderr } = runBuildScript(['--check-tools'], { PATH: bin })
    expect(status).toBe(3)
    expect(stderr).toContain('missing build tools: gcc make pkg-config tar xz gzip sha256sum strip readelf ldd find')
    expect(stderr).toContain('apt-get install -y binutils coreutils findutils gcc gzip libc-bin make pkg-config tar xz-utils')
    expect(stderr).toContain('dnf install -y binutils coreutils findutils gcc glibc-common gzip make pkgconf-pkg-config tar xz')
  })

  test('clang needs clang', async () => {
    const bin = join(folder, 'bin')
    await mkdir(bin)
    for (const tool of ['dirname', 'sort', 'tr', 'make', 'pkg-config', 'tar', 'xz', 'gzip', 'sha256sum', 'strip', 'readelf', 'ldd', 'find']) {
      await symlink(`/usr/bin/${tool}`, join(bin, tool))
    }

    const { status, stderr } = runBuildScript(['--check-tools', '--compiler', 'clang'], { PATH: bin })
    expect(status).toBe(3)
    expect(stderr).toContain('missing build tools: clang')
    expect(stderr).toContain('apt-get install -y clang')
  })

  test('tools present pass the check', () => {
    const { status, stderr } = runBuildScript(['--check-tools'])
    expect(stderr).toContain('all build tools found')
    expect(status).toBe(0)
  })

  test('sha256 mismatch stops before unpacking', async () => {
    const output = join(folder, 'layer')
    const work = join(folder, 'work')
    const { status, stderr } = runBuildScript([
      '--source', tarball, '--sha256', ZEROS, '--output', output, '--work-dir', work, '--dev-allow-missing-runtime'
    ])

    expect(status).toBe(1)
    expect(stderr).toMatch(new RegExp(`sha256 mismatch for ${tarball}: expected ${ZEROS}, got [0-9a-f]{64}; nothing was unpacked`))
    expect(existsSync(join(work, 'php-src'))).toBe(false)
  })

  test('runtime files are required without the flag', async () => {
    const runtime = join(folder, 'runtime')
    await mkdir(runtime)
    const { status, stderr } = runBuildScript([
      '--source', tarball, '--sha256', ZEROS, '--output', join(folder, 'layer'), '--runtime-dir', runtime
    ])

    expect(status).toBe(1)
    expect(stderr).toContain(`runtime files not found: ${runtime}/bootstrap ${runtime}/src/ ${runtime}/php.ini`)
    expect(stderr).toContain('--dev-allow-missing-runtime')
  })

  test('CRLF bootstrap is rejected', async () => {
    const runtime = join(folder, 'runtime')
    await mkdir(join(runtime, 'src'), { recursive: true })
    await writeFile(join(runtime, 'bootstrap'), '#!/bin/sh\r\nexec php\r\n')
    await writeFile(join(runtime, 'php.ini'), '')
    const { status, stderr } = runBuildScript([
      '--source', tarball, '--sha256', ZEROS, '--output', join(folder, 'layer'), '--runtime-dir', runtime
    ])

    expect(status).toBe(1)
    expect(stderr).toContain('bootstrap has CRLF line ends')
  })

  test('foreign output folder is left alone', async () => {
    const output = join(folder, 'somebody-else')
    await mkdir(output)
    await writeFile(join(output, 'keep.txt'), 'mine')
    const { status, stderr } = runBuildScript([
      '--source', tarball, '--sha256', ZEROS, '--output', output, '--dev-allow-missing-runtime'
    ])

    expect(status).toBe(1)
    expect(stderr).toContain(`--output ${output} is not empty and contains no earlier layer (bin/php)`)
    expect(await readdir(output)).toEqual(['keep.txt'])
  })

  test('invalid options are named', () => {
    expect(runBuildScript(['--optimize', 'fast']).stderr).toContain('invalid --optimize fast: use size or speed')
    expect(runBuildScript(['--compiler', 'icc']).stderr).toContain('invalid --compiler icc: use gcc or clang')
    expect(runBuildScript(['--frobnicate']).stderr).toContain('unknown option --frobnicate')
  })
})
