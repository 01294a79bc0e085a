// The bare root (glibc and a static busybox only) and the sandboxes that run commands in it,
// with real bwrap, unshare, chroot and this machine's glibc. The sandbox tests need root for
// unshare and a writable /tmp.

import { execFileSync } from 'node:child_process'
import { existsSync, lstatSync, readlinkSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'

import {
  AMAZON_LINUX_CA_BUNDLE,
  createBareRoot,
  glibcRuntimeFiles,
  hostMachine,
  isDynamicLoader,
  readElf,
  type BareRoot
} from '../src/bare-root.js'
import {
  bareRootCommand,
  findBareRootSandbox,
  findMissingLibraries,
  parseLoaderListing,
  runInBareRoot,
  type BareRootMounts,
  type BareRootSandboxKind
} from '../src/bare-root-sandbox.js'

const SYSTEM_PHP = execFileSync('sh', ['-c', 'readlink -f "$(command -v php)"'], { encoding: 'utf8' }).trim()
const BUSYBOX = execFileSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).trim()
const IS_ROOT = process.getuid?.() === 0

let folder: string
let root: BareRoot
let mounts: BareRootMounts

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'bare-root-test-'))
  const caBundle = join(folder, 'ca.pem')
  await writeFile(caBundle, '-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n')
  root = await createBareRoot(join(folder, 'root'), { caBundle })

  mounts = { root: root.dir, layerDir: join(folder, 'layer'), taskRoot: join(folder, 'task') }
  await mkdir(join(mounts.layerDir, 'bin'), { recursive: true })
  await writeFile(join(mounts.layerDir, 'marker'), 'layer\n')
  await mkdir(mounts.taskRoot)
  await writeFile(join(mounts.taskRoot, 'handler.php'), '<?php\n')
})

afterAll(async () => {
  await rm(folder, { recursive: true, force: true })
})

describe('glibcRuntimeFiles', () => {
  test('keeps shared objects, loader and gconv', () => {
    const files = glibcRuntimeFiles([
      '/.',
      '/etc/ld.so.conf.d/x86_64-linux-gnu.conf',
      '/lib/x86_64-linux-gnu',
      '/lib/x86_64-linux-gnu/libc.so.6',
      '/lib/x86_64-linux-gnu/libnss_dns.so.2',
      '/lib/x86_64-linux-gnu/libmemusage.so',
      '/lib64/ld-linux-x86-64.so.2',
      '/usr/lib64/libm.so.6',
      '/usr/lib/x86_64-linux-gnu/gconv/IBM037.so',
      '/usr/lib/x86_64-linux-gnu/gconv/gconv-modules',
      '/usr/lib/debug/.build-id/aa/bb.debug',
      '/usr/share/doc/libc6/copyright',
      '/usr/bin/ldd'
    ])

    expect(files).toEqual([
      '/lib/x86_64-linux-gnu/libc.so.6',
      '/lib/x86_64-linux-gnu/libnss_dns.so.2',
      '/lib/x86_64-linux-gnu/libmemusage.so',
      '/lib64/ld-linux-x86-64.so.2',
      '/usr/lib64/libm.so.6',
      '/usr/lib/x86_64-linux-gnu/gconv/IBM037.so',
      '/usr/lib/x86_64-linux-gnu/gconv/gconv-modules'
    ])
  })
})

describe('isDynamicLoader', () => {
  test.each([
    ['/lib64/ld-linux-x86-64.so.2', true],
    ['/lib/ld-linux-aarch64.so.1', true],
    ['/lib/x86_64-linux-gnu/libc.so.6', false],
    ['/lib/x86_64-linux-gnu/libdl.so.2', false]
  ])('%s', (file, expected) => {
    expect(isDynamicLoader(file)).toBe(expected)
  })
})

describe('readElf', () => {
  test('static busybox has no loader', async () => {
    const elf = await readElf(BUSYBOX)

    expect(elf.machine).toBe(hostMachine())
    expect(elf.interpreter).toBeUndefined()
  })

  test('system PHP names its loader', async () => {
    const elf = await readElf(SYSTEM_PHP)

    expect(elf.interpreter).toMatch(/\/ld-linux[-a-z0-9_]*\.so\.[0-9]$/)
  })

  test('text file is rejected', async () => {
    await expect(readElf(join(mounts.taskRoot, 'handler.php'))).rejects.toThrow('is not an ELF file')
  })
})

describe('createBareRoot', () => {
  test('contains glibc with its loader', () => {
    const names = root.glibcFiles.map((file) => file.split('/').pop())

    for (const library of ['libc.so.6', 'libm.so.6', 'libpthread.so.0', 'libdl.so.2', 'librt.so.1', 'libresolv.so.2', 'libutil.so.1', 'libnss_files.so.2']) {
      expect(names).toContain(library)
    }
    expect(root.glibcVersion).toMatch(/^2\.[0-9]+$/)
    expect(root.dynamicLoaders.length).toBeGreaterThan(0)
    for (const loader of root.dynamicLoaders) {
      expect(existsSync(join(root.dir, loader)) || lstatSync(join(root.dir, loader)).isSymbolicLink()).toBe(true)
    }
  })

  test('contains no other libraries', async () => {
    const libraries = await readdir(join(root.dir, root.glibcFiles.find((file) => file.endsWith('/libc.so.6'))!.replace(/\/libc\.so\.6$/, '')))

    expect(libraries).not.toContain('libcurl.so.4')
    expect(libraries).not.toContain('libssl.so.3')
    expect(libraries).not.toContain('libgcc_s.so.1')
    expect(libraries).not.toContain('libstdc++.so.6')
  })

  test('has busybox as sh and env', () => {
    expect(readlinkSync(join(root.dir, 'bin/sh'))).toBe('busybox')
    expect(readlinkSync(join(root.dir, 'bin/mkdir'))).toBe('busybox')
    // With a merged /usr, /usr/bin/env is the env link that /bin gets.
    expect(['busybox', '/bin/busybox']).toContain(readlinkSync(join(root.dir, 'usr/bin/env')))
  })

  test('installs the CA bundle where Amazon Linux has it', async () => {
    expect(await readFile(join(root.dir, AMAZON_LINUX_CA_BUNDLE), 'utf8')).toContain('BEGIN CERTIFICATE')
  })

  test('rejects a folder that is not empty', async () => {
    await expect(createBareRoot(mounts.taskRoot)).rejects.toThrow(`Bare root folder ${mounts.taskRoot} is not empty (handler.php)`)
  })

  test('rejects a dynamically linked busybox', async () => {
    await expect(createBareRoot(join(folder, 'dynamic-busybox'), { busybox: SYSTEM_PHP })).rejects.toThrow(
      /is dynamically linked \(loader .*ld-linux.*\); the bare root needs a static busybox: apt-get install busybox-static/
    )
  })
})

describe('bareRootCommand', () => {
  test('bwrap command line', () => {
    const command = bareRootCommand({ kind: 'bwrap', executable: '/usr/bin/bwrap' }, { root: '/r', layerDir: '/l', taskRoot: '/t' }, ['/opt/bootstrap'])

    expect(command).toEqual({
      command: '/usr/bin/bwrap',
      args: [
        '--unshare-all', '--share-net', '--die-with-parent',
        '--ro-bind', '/r', '/',
        '--ro-bind', '/l', '/opt',
        '--ro-bind', '/t', '/var/task',
        '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp',
        '--chdir', '/var/task',
        '--', '/opt/bootstrap'
      ]
    })
  })

  test('unshare command passes folders as arguments', () => {
    const command = bareRootCommand(
      { kind: 'unshare', executable: '/usr/bin/unshare', mount: '/usr/bin/mount' },
      { root: '/r', layerDir: '/my layer', taskRoot: '/t' },
      ['/opt/bootstrap']
    )

    expect(command.command).toBe('/usr/bin/unshare')
    expect(command.args.slice(0, 9)).toEqual(['--mount', '--propagation', 'private', '--pid', '--ipc', '--uts', '--fork', '--kill-child', '--'])
    expect(command.args.slice(-4)).toEqual(['bare-root', '/my layer', '/t', '/opt/bootstrap'])
    const script = command.args[11] as string
    expect(script).toContain('PWD=/var/task exec /usr/bin/unshare --root=/r --wd=/var/task -- "$@"')
    expect(script).toContain('/usr/bin/mount -o remount,bind,ro /r/opt')
  })
})

describe('findBareRootSandbox', () => {
  test('finds bwrap first', async () => {
    expect((await findBareRootSandbox()).kind).toBe('bwrap')
  })

  test('names the packages when nothing is found', async () => {
    const path = process.env.PATH
    process.env.PATH = join(folder, 'empty-path')
    try {
      await expect(findBareRootSandbox()).rejects.toThrow(
        'Cannot run commands in a bare root: bubblewrap (bwrap) is not installed, unshare, mount not found on PATH. ' +
          'Install bubblewrap (apt-get install bubblewrap on Debian/Ubuntu, dnf install bubblewrap on Amazon Linux/Fedora)'
      )
    } finally {
      process.env.PATH = path
    }
  })
})

describe('parseLoaderListing', () => {
  test('collects missing libraries and versions', () => {
    const listing = parseLoaderListing([
      '== /opt/bin/php',
      '\tlibxml2.so.2 => /opt/lib/libxml2.so.2 (0x00007f0000000000)',
      '\tlibonig.so.5 => not found',
      '== /opt/php/extensions/opcache.so',
      '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0000000000)',
      '== /opt/lib/libcurl.so.4',
      '\tlibnghttp2.so.14 => not found',
      '== /opt/lib/libxml2.so.2',
      "/opt/lib/libxml2.so.2: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found (required by /opt/lib/libxml2.so.2)",
      "/opt/lib/libxml2.so.2: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.33' not found (required by /opt/lib/libxml2.so.2)",
      "/opt/lib/libxml2.so.2: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found (required by /opt/lib/libxml2.so.2)",
      '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0000000000)',
      ''
    ].join('\n'))

    expect(listing.loaderFound).toBe(true)
    expect(listing.checked).toEqual(['/opt/bin/php', '/opt/php/extensions/opcache.so', '/opt/lib/libcurl.so.4', '/opt/lib/libxml2.so.2'])
    expect(listing.missing).toEqual([
      { file: '/opt/bin/php', library: 'libonig.so.5' },
      { file: '/opt/lib/libcurl.so.4', library: 'libnghttp2.so.14' },
      { file: '/opt/lib/libxml2.so.2', library: 'libc.so.6', version: 'GLIBC_2.34' },
      { file: '/opt/lib/libxml2.so.2', library: 'libc.so.6', version: 'GLIBC_2.33' }
    ])
  })
})

const sandboxes: BareRootSandboxKind[] = IS_ROOT ? ['bwrap', 'unshare'] : ['bwrap']

describe.each(sandboxes)('runInBareRoot with %s', (kind) => {
  let server: Server
  let port: number

  beforeAll(async () => {
    server = createServer((_request, response) => response.end('reached from the bare root'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
  })

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve))
  })

  async function run(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return runInBareRoot(await findBareRootSandbox(kind), mounts, ['/bin/sh', '-c', script])
  }

  test('sees only the bare root', async () => {
    const result = await run('ls /; ls /usr')

    expect(result.stderr).toBe('')
    const entries = result.stdout.split('\n').filter((line) => line !== '')
    expect(entries).toEqual(expect.arrayContaining(['bin', 'dev', 'etc', 'lib', 'opt', 'proc', 'tmp', 'usr', 'var']))
    expect(entries.filter((entry) => !['bin', 'dev', 'etc', 'opt', 'proc', 'tmp', 'usr', 'var', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'].includes(entry))).toEqual([])
  })

  test('has env and the loader', async () => {
    const result = await run(`ls -L /usr/bin/env ${root.dynamicLoaders.join(' ')}`)

    expect(result.stderr).toBe('')
    expect(result.stdout.split('\n').filter((line) => line !== '')).toEqual(['/usr/bin/env', ...root.dynamicLoaders].sort())
  })

  test('starts in /var/task with the code', async () => {
    const result = await run('pwd; ls')

    expect(result.stdout).toBe('/var/task\nhandler.php\n')
  })

  test('layer and code are read-only', async () => {
    const result = await run('cat /opt/marker; touch /opt/new /var/task/new / 2>&1; echo status $?')

    expect(result.stdout).toContain('layer\n')
    expect(result.stdout).toContain('touch: /opt/new: Read-only file system')
    expect(result.stdout).toContain('touch: /var/task/new: Read-only file system')
    expect(existsSync(join(mounts.layerDir, 'new'))).toBe(false)
  })

  test('tmp is writable and private', async () => {
    const result = await run('mkdir -p /tmp/opcache && echo written > /tmp/opcache/file && cat /tmp/opcache/file')

    expect(result.stdout).toBe('written\n')
    expect(existsSync('/tmp/opcache/file')).toBe(false)
  })

  test('reaches a server on 127.0.0.1', async () => {
    const result = await run(`wget -q -O - http://127.0.0.1:${port}/`)

    expect(result.stdout).toBe('reached from the bare root')
  })

  test('passes the environment', async () => {
    const sandbox = await findBareRootSandbox(kind)

    const result = await runInBareRoot(sandbox, mounts, ['/usr/bin/env'], { PATH: '/bin', LAMBDA_TASK_ROOT: '/var/task' })

    expect(result.stdout.split('\n').sort()).toEqual(['', 'LAMBDA_TASK_ROOT=/var/task', 'PATH=/bin', 'PWD=/var/task'])
  })

  test('missing loader is reported', async () => {
    const sandbox = await findBareRootSandbox(kind)

    const listing = await findMissingLibraries(sandbox, mounts, '/lib64/ld-missing.so.2', '/opt/lib')

    expect(listing).toEqual({ loaderFound: false, checked: [], missing: [] })
  })

  test('host programs are not there', async () => {
    const result = await run(`${SYSTEM_PHP} -v; echo status $?`)

    expect(result.stdout).toBe('status 127\n')
  })
})
