import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import type { ExecOptions } from '@actions/exec'

import {
  buildNative,
  buildScriptArguments,
  chooseBuildRoot,
  sandboxCommand,
  shellQuote,
  type HostFacts,
  type NativeBuildOptions
} from '../src/build-native.js'
import { planExtensions } from '../src/extensions.js'

// Unit tests of the native builder's decisions and command lines, with the host described by
// HostFacts stand-ins. test/build-native.test.ts runs the real build.

const SHA256 = 'e02aa173c236c12791696254d607da680e6d5516f8f5c2339642de7c4f944bd2'

function host(overrides: Partial<{ glibc: string; root: boolean; executables: string[] }> = {}): HostFacts {
  const executables = overrides.executables ?? ['debootstrap', 'bwrap']
  return {
    glibcVersion: async () => overrides.glibc ?? '2.36',
    isRoot: () => overrides.root ?? true,
    findExecutable: async (name) => (executables.includes(name) ? `/usr/bin/${name}` : undefined),
    architecture: () => 'amd64'
  }
}

function options(overrides: Partial<NativeBuildOptions> = {}): NativeBuildOptions {
  return {
    sourceTarball: '/cache/php-source/php-8.2.32.tar.xz',
    sha256: SHA256,
    plan: planExtensions(['default']),
    outputDir: '/out/layer',
    cacheDir: '/cache',
    host: host(),
    ...overrides
  }
}

describe('chooseBuildRoot', () => {
  test('host glibc at the target builds on the host', async () => {
    expect(await chooseBuildRoot(options({ host: host({ glibc: '2.34' }) }))).toBeUndefined()
  })

  test('older host glibc builds on the host', async () => {
    expect(await chooseBuildRoot(options({ host: host({ glibc: '2.26' }) }))).toBeUndefined()
  })

  test('newer host glibc uses the cached root', async () => {
    expect(await chooseBuildRoot(options())).toBe('/cache/build-root/bullseye-amd64')
  })

  test('explicit root path is used as given', async () => {
    expect(await chooseBuildRoot(options({ buildRoot: '/roots/bullseye' }))).toBe('/roots/bullseye')
  })

  test('host setting skips the root', async () => {
    expect(await chooseBuildRoot(options({ buildRoot: 'host' }))).toBeUndefined()
  })

  test('non-root without debootstrap explains the fix', async () => {
    const promise = chooseBuildRoot(options({ host: host({ root: false, executables: [] }) }))
    await expect(promise).rejects.toThrow(/glibc 2\.36, newer than the target's 2\.34/)
    await expect(promise).rejects.toThrow(/not running as root .* and debootstrap is not installed/)
    await expect(promise).rejects.toThrow(/apt-get install -y debootstrap bubblewrap/)
  })
})

describe('buildScriptArguments', () => {
  test('flags, PECL and packages', () => {
    const args = buildScriptArguments(
      { sha256: SHA256, plan: planExtensions(['bcmath', 'apcu']), optimize: 'speed', compiler: 'clang', jobs: 4 },
      { sourceTarball: '/s/php.tar.xz', peclDir: '/p', outputDir: '/o', workDir: '/w', infoFile: '/w/info.json' }
    )

    expect(args).toEqual([
      '--source', '/s/php.tar.xz', '--sha256', SHA256, '--output', '/o',
      '--work-dir', '/w', '--info-file', '/w/info.json',
      '--optimize', 'speed', '--compiler', 'clang', '--jobs', '4',
      '--configure-flag', '--enable-bcmath', '--configure-flag', '--with-curl',
      '--pecl-dir', '/p',
      '--pecl', 'apcu:5.1.24:5c28a55b27082c69657e25b7ecf553e2cf6b74ec3fa77d6b76f4fb982e001e43:--enable-apcu',
      '--dev-packages-apt', 'autoconf libcurl4-openssl-dev',
      '--dev-packages-dnf', 'autoconf libcurl-devel'
    ])
  })

  test('PECL without a folder is an error', () => {
    expect(() =>
      buildScriptArguments(
        { sha256: SHA256, plan: planExtensions(['redis']) },
        { sourceTarball: '/s', outputDir: '/o', workDir: '/w', infoFile: '/w/i' }
      )
    ).toThrow('PECL extensions redis need peclDir')
  })
})

describe('sandboxCommand', () => {
  const mounts = [
    { hostPath: '/repo/runtime', rootPath: '/build/runtime', writable: false },
    { hostPath: '/out/my layer', rootPath: '/build/layer', writable: true }
  ]

  test('bwrap binds, isolates and clears the environment', () => {
    const { command, args } = sandboxCommand('bwrap', '/root-dir', mounts, { CCACHE_DIR: '/build/ccache' }, ['/build/runtime/build.sh', '--check-tools'])
    expect(command).toBe('bwrap')
    expect(args).toEqual([
      '--ro-bind', '/root-dir', '/',
      '--ro-bind', '/repo/runtime', '/build/runtime',
      '--bind', '/out/my layer', '/build/layer',
      '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp',
      '--unshare-net', '--unshare-pid', '--die-with-parent', '--clearenv',
      '--setenv', 'PATH', '/usr/sbin:/usr/bin:/sbin:/bin',
      '--setenv', 'HOME', '/tmp',
      '--setenv', 'CCACHE_DIR', '/build/ccache',
      '/bin/bash', '/build/runtime/build.sh', '--check-tools'
    ])
  })

  test('chroot mounts in a private namespace', () => {
    const { command, args } = sandboxCommand('chroot', '/root-dir', mounts, {}, ['/build/runtime/build.sh', "it's"])
    expect(command).toBe('unshare')
    expect(args.slice(0, 6)).toEqual(['--mount', '--propagation', 'private', '--', '/bin/sh', '-c'])
    expect((args[6] as string).split('\n')).toEqual([
      'set -e',
      'mount --bind /repo/runtime /root-dir/build/runtime',
      'mount -o remount,bind,ro /root-dir/build/runtime',
      "mount --bind '/out/my layer' /root-dir/build/layer",
      'mount -t proc proc /root-dir/proc',
      'mount -t tmpfs tmpfs /root-dir/tmp',
      "exec chroot /root-dir /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp /bin/bash /build/runtime/build.sh 'it'\\''s'"
    ])
  })

  test('shellQuote leaves plain words', () => {
    expect(shellQuote('--with-curl')).toBe('--with-curl')
    expect(shellQuote('a b')).toBe("'a b'")
  })
})

describe('buildNative on the host', () => {
  let folder: string

  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'build-native-'))
  })

  afterEach(async () => {
    await rm(folder, { recursive: true, force: true })
  })

  test('runs build.sh directly and reads its summary', async () => {
    const calls: Array<{ command: string; args: string[]; options?: ExecOptions }> = []
    const info = { phpVersion: '8.2.32', configureLine: './configure', cflags: '-Os', durations: {}, modules: [], bundle: [], phpBytes: 1 }

    // Stands in for build.sh: writes the summary where --info-file points.
    const exec = async (command: string, args: string[], execOptions?: ExecOptions): Promise<number> => {
      calls.push({ command, args, options: execOptions })
      await writeFile(args[args.indexOf('--info-file') + 1] as string, JSON.stringify(info))
      return 0
    }

    const result = await buildNative(
      options({ cacheDir: folder, outputDir: join(folder, 'layer'), host: host({ glibc: '2.34' }), exec, runtimeDir: '/repo/runtime' })
    )

    expect(result.buildRoot).toBeUndefined()
    expect(result.info).toEqual(info)
    expect(calls).toHaveLength(1)
    expect(calls[0]?.command).toBe('bash')
    expect(calls[0]?.args[0]).toBe('/repo/runtime/build.sh')
    expect(calls[0]?.options?.env?.CCACHE_DIR).toBe(join(folder, 'ccache'))
  })

  test('root build installs clang when asked', async () => {
    const calls: Array<{ command: string; args: string[] }> = []
    const info = { phpVersion: '8.2.32', configureLine: './configure', cflags: '-Oz', durations: {}, modules: [], bundle: [], phpBytes: 1 }

    // Stands in for make-build-root.sh and the sandboxed build.sh.
    const exec = async (command: string, args: string[]): Promise<number> => {
      calls.push({ command, args })
      if (command === 'bwrap') {
        await writeFile(join(folder, 'work', 'build-info.json'), JSON.stringify(info))
      }
      return 0
    }

    const result = await buildNative(
      options({ cacheDir: folder, outputDir: join(folder, 'layer'), compiler: 'clang', exec, runtimeDir: '/repo/runtime' })
    )

    expect(result.buildRoot).toBe(join(folder, 'build-root', 'bullseye-amd64'))
    expect(calls.map((call) => call.command)).toEqual(['bash', 'bwrap'])
    expect(calls[0]?.args.at(-1)).toBe('clang')
    expect(calls[1]?.args).toContain('/build/runtime/build.sh')
    expect(calls[1]?.args).toContain('clang')
  })

  test('failed build names the exit code', async () => {
    const exec = async (): Promise<number> => 3
    await expect(
      buildNative(options({ cacheDir: folder, outputDir: join(folder, 'layer'), host: host({ glibc: '2.34' }), exec }))
    ).rejects.toThrow('runtime/build.sh failed with exit code 3')
  })
})
