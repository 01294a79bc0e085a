import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import type { ExecOptions } from '@actions/exec'

import { buildDocker, dockerBuildCommand, dockerPlatform } from '../src/build-docker.js'
import { planExtensions } from '../src/extensions.js'
import { runtimePath } from '../src/paths.js'

// No Docker engine runs on this machine, so these tests check the exact `docker buildx build`
// command and stand in for Docker's local export. The Dockerfile itself is not run here.

const SHA256 = 'e02aa173c236c12791696254d607da680e6d5516f8f5c2339642de7c4f944bd2'

describe('dockerPlatform', () => {
  test('maps Lambda architectures', () => {
    expect(dockerPlatform('x86_64')).toBe('linux/amd64')
    expect(dockerPlatform('arm64')).toBe('linux/arm64')
  })

  test('rejects others', () => {
    expect(() => dockerPlatform('ppc64le' as 'arm64')).toThrow('unsupported architecture "ppc64le"; use x86_64 or arm64')
  })
})

describe('dockerBuildCommand', () => {
  test('default set on arm64', () => {
    const plan = planExtensions(['default'])
    const { command, args } = dockerBuildCommand({
      sourceTarball: '/cache/php-source/php-8.2.32.tar.xz',
      sha256: SHA256,
      plan,
      peclDir: '/cache/pecl',
      outputDir: '/out',
      architecture: 'arm64'
    })

    expect(command).toBe('docker')
    expect(args).toEqual([
      'buildx',
      'build',
      '--platform',
      'linux/arm64',
      '--file',
      runtimePath('Dockerfile'),
      '--target',
      'layer',
      '--build-arg',
      'BUILD_IMAGE=public.ecr.aws/amazonlinux/amazonlinux:2023',
      '--build-arg',
      'RUNTIME_IMAGE=public.ecr.aws/lambda/provided:al2023',
      '--build-arg',
      'PHP_TARBALL=php-8.2.32.tar.xz',
      '--build-arg',
      `PHP_SHA256=${SHA256}`,
      '--build-arg',
      `CONFIGURE_FLAGS=${plan.configureFlags.join(' ')}`,
      '--build-arg',
      'PECL_SPECS=',
      '--build-arg',
      'DNF_PACKAGES=libcurl-devel libsodium-devel libxml2-devel oniguruma-devel openssl-devel sqlite-devel zlib-devel',
      '--build-arg',
      'OPTIMIZE=size',
      '--build-arg',
      'COMPILER=gcc',
      '--build-arg',
      'BUILD_OPTIONS=',
      '--build-context',
      'php-source=/cache/php-source',
      '--build-context',
      'pecl=/cache/pecl',
      '--output',
      'type=local,dest=/out',
      runtimePath()
    ])
  })

  test('PECL, images and options', () => {
    const { args } = dockerBuildCommand({
      sourceTarball: '/src/php-8.3.14.tar.xz',
      sha256: SHA256,
      plan: planExtensions(['redis', 'apcu']),
      peclDir: '/cache/pecl',
      outputDir: '/out',
      architecture: 'x86_64',
      buildImage: 'registry.example/al2023:build',
      runtimeImage: 'registry.example/provided:al2023',
      optimize: 'speed',
      compiler: 'clang',
      allowMissingRuntime: true
    })

    expect(args.slice(2, 4)).toEqual(['--platform', 'linux/amd64'])
    expect(args).toContain('BUILD_IMAGE=registry.example/al2023:build')
    expect(args).toContain('RUNTIME_IMAGE=registry.example/provided:al2023')
    expect(args).toContain(
      'PECL_SPECS=apcu:5.1.24:5c28a55b27082c69657e25b7ecf553e2cf6b74ec3fa77d6b76f4fb982e001e43:--enable-apcu ' +
        'redis:6.2.0:5069c13dd22bd9e494bb246891052cb6cc0fc9a1b45c6a572a8be61773101363:--enable-redis'
    )
    expect(args).toContain('CONFIGURE_FLAGS=--with-curl --enable-session')
    expect(args).toContain('OPTIMIZE=speed')
    expect(args).toContain('COMPILER=clang')
    expect(args).toContain('BUILD_OPTIONS=--dev-allow-missing-runtime')
  })
})

describe('buildDocker', () => {
  let folder: string

  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'build-docker-'))
  })

  afterEach(async () => {
    await rm(folder, { recursive: true, force: true })
  })

  test('reads the exported summary', async () => {
    const outputDir = join(folder, 'out')
    const calls: Array<{ command: string; args: string[] }> = []
    const info = { phpVersion: '8.2.32', configureLine: './configure', cflags: '-Os', durations: { make: 1 }, modules: ['curl'], bundle: [], phpBytes: 1 }

    const peclContextFiles: string[][] = []

    // Stands in for the docker CLI: writes what --output type=local would export.
    const exec = async (command: string, args: string[], _options?: ExecOptions): Promise<number> => {
      calls.push({ command, args })
      const peclArgument = args.find((arg) => arg.startsWith('pecl=')) ?? 'pecl='
      peclContextFiles.push(await readdir(peclArgument.slice('pecl='.length)))
      await mkdir(join(outputDir, 'layer', 'bin'), { recursive: true })
      await writeFile(join(outputDir, 'build-info.json'), JSON.stringify(info))
      return 0
    }

    const result = await buildDocker({
      sourceTarball: join(folder, 'php-8.2.32.tar.xz'),
      sha256: SHA256,
      plan: planExtensions(['default']),
      outputDir,
      architecture: 'x86_64',
      exec
    })

    expect(result.layerDir).toBe(join(outputDir, 'layer'))
    expect(result.info).toEqual(info)
    expect(calls).toHaveLength(1)
    expect(calls[0]?.command).toBe('docker')
    expect(peclContextFiles).toEqual([[]])
    const peclContext = calls[0]?.args.find((arg) => arg.startsWith('pecl=')) as string
    expect(existsSync(peclContext.slice('pecl='.length))).toBe(false)
  })

  test('clears an earlier export', async () => {
    const outputDir = join(folder, 'out')
    await mkdir(join(outputDir, 'layer', 'lib'), { recursive: true })
    await writeFile(join(outputDir, 'layer', 'lib', 'stale.so'), 'old')
    let seenBeforeExport: string[] = []

    const exec = async (): Promise<number> => {
      seenBeforeExport = await readdir(outputDir)
      return 1
    }

    await expect(
      buildDocker({ sourceTarball: '/src/php.tar.xz', sha256: SHA256, plan: planExtensions([]), outputDir, architecture: 'x86_64', exec })
    ).rejects.toThrow('docker buildx build failed with exit code 1')
    expect(seenBeforeExport).toEqual([])
  })
})
