import { execFile, spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { copyFile, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'

import { defaultBuildRoot, sandboxCommand } from '../src/build-native.js'
import { loadCatalog, missingModules, planExtensions } from '../src/extensions.js'
import { checkGlibcCeiling, compareVersions, type GlibcReport } from '../src/glibc.js'
import { LocalLambdaEndpoint, type EndpointCredentials } from '../src/lambda-endpoint/index.js'
import { readLayerInfo } from '../src/layer-info.js'
import { actionRoot, runtimePath } from '../src/paths.js'
import { smokeTest } from '../src/smoke-test.js'
import { PhpNetStandIn } from './support/php-net.js'

// The action's main job on real input: the real PHP 8.2.32 release, which Debian ships unmodified
// as php8.2_8.2.32.orig.tar.xz, served with its real sha256 by a local php.net stand-in. The
// action runs from its entry point (src/index.ts) in build-and-publish mode with the native
// builder. It resolves "8.2", downloads and verifies the tarball, and compiles the default
// extension set plus the PECL extensions in the Debian 11 build root. Then it smoke-tests the
// layer in a bare root, zips it and publishes it to three Regions of the local Lambda endpoint.
// php.net, PECL and AWS cannot be reached from here, so local stand-ins serve them; everything
// else is real. The built layer is then checked in a bare root holding only glibc 2.31 and a
// static busybox.
// Needs root, debootstrap, bubblewrap, busybox-static, openssl and the Debian archive.

const execFileAsync = promisify(execFile)

// RUNTIME_LAYER_ACTION_CACHE_DIR lets CI keep the build root and ccache outside a fresh clone.
const CACHE = process.env.RUNTIME_LAYER_ACTION_CACHE_DIR || join(actionRoot(), '.cache')
const PHP_VERSION = '8.2.32'
const PHP_SHA256 = 'e02aa173c236c12791696254d607da680e6d5516f8f5c2339642de7c4f944bd2'
const TARGET_GLIBC = '2.34'
const PECL_EXTENSIONS = ['apcu', 'igbinary', 'redis']
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2']
const BARE_ROOT = join(CACHE, 'bare-root')
const GLIBC_LIBRARIES = ['libc.so.6', 'libm.so.6', 'libdl.so.2', 'libpthread.so.0', 'librt.so.1', 'libresolv.so.2', 'libutil.so.1']
const CREDENTIALS: EndpointCredentials = { accessKeyId: 'AKIAMAINJOBTEST00001', secretAccessKey: 'main-job-secret', accountId: '123456789012' }

// Covers a cold build root and ccache (about 7 minutes on 2 cores).
const BUILD_TIMEOUT_MS = 60 * 60 * 1000

// Set by beforeAll: the layer tree the action built, under its RUNNER_TEMP.
let LAYER_DIR = ''

function sha256File(contents: Buffer): string {
  return createHash('sha256').update(contents).digest('hex')
}

async function hasDigest(path: string, digest: string): Promise<boolean> {
  return existsSync(path) && sha256File(await readFile(path)) === digest
}

/** Returns the PHP tarball, fetched from Debian's source archive by scripts/fetch-php-source.sh. */
async function phpSourceTarball(): Promise<string> {
  const folder = join(CACHE, 'debian-source')
  const target = join(folder, `php-${PHP_VERSION}.tar.xz`)
  if (await hasDigest(target, PHP_SHA256)) {
    return target
  }

  const fetched = spawnSync('bash', [join(actionRoot(), 'scripts', 'fetch-php-source.sh'), folder], {
    stdio: ['ignore', 'ignore', 'inherit']
  })
  if (fetched.status !== 0 || !(await hasDigest(target, PHP_SHA256))) {
    throw new Error(`scripts/fetch-php-source.sh gave no ${target} with sha256 ${PHP_SHA256}; the test pins PHP ${PHP_VERSION}`)
  }
  return target
}

interface ActionRun {
  code: number | null
  log: string
  outputs: Record<string, string>
}

/** Runs the action's entry point as the runner does, with inputs as INPUT_* variables. */
async function runAction(inputs: Record<string, string>, env: Record<string, string>): Promise<ActionRun> {
  const outputFile = join(env.RUNNER_TEMP!, 'github-output')
  await writeFile(outputFile, '')
  const childEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...env,
    GITHUB_OUTPUT: outputFile,
    ...Object.fromEntries(Object.entries(inputs).map(([name, value]) => [`INPUT_${name.toUpperCase()}`, value]))
  }

  const child = spawn(process.execPath, ['--import', 'tsx', join(actionRoot(), 'src', 'index.ts')], { env: childEnv, cwd: actionRoot() })
  let log = ''
  child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()))
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))

  const outputs: Record<string, string> = {}
  for (const match of (await readFile(outputFile, 'utf8')).matchAll(/^([\w-]+)<<(\S+)\n([\s\S]*?)\n\2$/gm)) {
    outputs[match[1]!] = match[3]!
  }
  return { code, log, outputs }
}

/**
 * Downloads the pinned PECL tarballs from Debian's source packages (Debian 13 ships them
 * byte-identical as .orig.tar.gz) with a private apt configuration, so the host's is untouched.
 */
async function peclFixtures(): Promise<string> {
  const folder = join(CACHE, 'pecl-fixtures')
  const catalog = loadCatalog()
  const pinned = PECL_EXTENSIONS.map((name) => {
    const release = catalog.extensions[name]?.pecl as { version: string; sha256: string }
    return { name, ...release, file: join(folder, `${name}-${release.version}.tgz`) }
  })

  const ready = await Promise.all(pinned.map((tarball) => hasDigest(tarball.file, tarball.sha256)))
  if (ready.every(Boolean)) {
    return folder
  }

  const apt = join(folder, 'apt')
  for (const sub of ['parts', 'lists/partial', 'cache/archives/partial', 'download']) {
    await mkdir(join(apt, sub), { recursive: true })
  }
  await writeFile(join(apt, 'sources.list'), 'deb-src http://deb.debian.org/debian trixie main\n')
  const options = [
    '-o', `Dir::Etc::SourceList=${join(apt, 'sources.list')}`,
    '-o', `Dir::Etc::SourceParts=${join(apt, 'parts')}`,
    '-o', `Dir::State::Lists=${join(apt, 'lists')}`,
    '-o', `Dir::Cache=${join(apt, 'cache')}`
  ]
  spawnSync('apt-get', [...options, 'update', '-q'], { stdio: 'inherit' })
  // apt may report a missing .dsc from the mirror; only the orig tarballs matter and are checked.
  spawnSync('apt-get', [...options, 'source', '--download-only', '-q', ...PECL_EXTENSIONS.map((name) => `php-${name}`)], {
    cwd: join(apt, 'download'),
    stdio: 'inherit'
  })

  for (const tarball of pinned) {
    const orig = join(apt, 'download', `php-${tarball.name}_${tarball.version}.orig.tar.gz`)
    if (!(await hasDigest(orig, tarball.sha256))) {
      throw new Error(`no ${orig} with the pinned sha256 ${tarball.sha256}; has Debian moved to another ${tarball.name} release?`)
    }
    await copyFile(orig, tarball.file)
  }
  return folder
}

/** Serves a folder's files on 127.0.0.1, standing in for the PECL download site. */
async function serveFolder(folder: string): Promise<{ server: Server; baseUrl: string }> {
  const server = createServer((request, response) => {
    const name = (request.url ?? '').replace(/^\/get\//, '')
    readFile(join(folder, name))
      .then((body) => response.end(body))
      .catch(() => {
        response.statusCode = 404
        response.end()
      })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/get` }
}

/** Follows symbolic links inside a root folder, where absolute targets are relative to the root. */
async function resolveInRoot(root: string, path: string): Promise<string> {
  let current = path
  for (let depth = 0; depth < 10; depth++) {
    const hostPath = join(root, current)
    if (!(await lstat(hostPath)).isSymbolicLink()) {
      return hostPath
    }
    const target = await readlink(hostPath)
    current = target.startsWith('/') ? target : join(dirname(current), target)
  }
  throw new Error(`too many symbolic links resolving ${path} in ${root}`)
}

/** Makes a root with only glibc (2.31, from the build root), a static busybox and mount points. */
async function makeBareRoot(buildRoot: string): Promise<void> {
  await rm(BARE_ROOT, { recursive: true, force: true })
  const libraryDir = join(BARE_ROOT, 'lib', 'x86_64-linux-gnu')
  for (const folder of [libraryDir, 'lib64', 'bin', 'opt', 'proc', 'dev', 'tmp', 'etc/pki/tls/certs']) {
    await mkdir(folder.startsWith('/') ? folder : join(BARE_ROOT, folder), { recursive: true })
  }

  for (const library of GLIBC_LIBRARIES) {
    await copyFile(await resolveInRoot(buildRoot, `/lib/x86_64-linux-gnu/${library}`), join(libraryDir, library))
  }
  const loader = await resolveInRoot(buildRoot, '/lib64/ld-linux-x86-64.so.2')
  await copyFile(loader, join(BARE_ROOT, 'lib64', 'ld-linux-x86-64.so.2'))
  await copyFile('/bin/busybox', join(BARE_ROOT, 'bin', 'busybox'))
  await symlink('busybox', join(BARE_ROOT, 'bin', 'sh'))
}

/** Runs a command in the bare root with the layer at /opt, as Lambda mounts it. */
async function runInBareRoot(command: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = ['--ro-bind', BARE_ROOT, '/', '--ro-bind', LAYER_DIR, '/opt', '--proc', '/proc', '--dev', '/dev']
  args.push('--tmpfs', '/tmp', '--unshare-pid', '--die-with-parent', '--clearenv', '--setenv', 'PATH', '/opt/bin:/bin')
  try {
    const { stdout, stderr } = await execFileAsync('bwrap', [...args, ...command])
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string }
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr }
  }
}

/** Makes a test CA and a server certificate for 127.0.0.1 with the openssl CLI. */
async function makeCertificates(folder: string, name: string): Promise<{ ca: string; key: string; cert: string }> {
  const file = (suffix: string): string => join(folder, `${name}-${suffix}`)
  const openssl = (args: string[]): void => {
    const result = spawnSync('openssl', args, { encoding: 'utf8' })
    if (result.status !== 0) {
      throw new Error(`openssl ${args.join(' ')} failed: ${result.stderr}`)
    }
  }

  await mkdir(folder, { recursive: true })
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name} test CA`, '-keyout', file('ca.key'), '-out', file('ca.crt')])
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', file('server.key'), '-out', file('server.csr')])
  await writeFile(file('ext.cnf'), 'subjectAltName=IP:127.0.0.1\n')
  openssl(['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', file('ext.cnf'), '-out', file('server.crt')])

  return {
    ca: await readFile(file('ca.crt'), 'utf8'),
    key: await readFile(file('server.key'), 'utf8'),
    cert: await readFile(file('server.crt'), 'utf8')
  }
}

async function startTlsServer(key: string, cert: string): Promise<{ server: HttpsServer; url: string }> {
  const server = createHttpsServer({ key, cert }, (_request, response) => response.end('hello over TLS'))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/` }
}

describe('main job on the real PHP 8.2 release', () => {
  let run: ActionRun
  let glibc: GlibcReport
  let runnerTemp: string
  const plan = planExtensions(['default', ...PECL_EXTENSIONS])
  const lambda = new LocalLambdaEndpoint({ credentials: [CREDENTIALS] })
  let phpNet: PhpNetStandIn
  let peclServer: Server
  let peclBaseUrl: string

  const inputs = (): Record<string, string> => ({
    mode: 'build-and-publish',
    builder: 'native',
    'php-version': '8.2',
    extensions: `default, ${PECL_EXTENSIONS.join(', ')}`,
    regions: REGIONS.join(', '),
    'php-net-url': phpNet.baseUrl,
    'pecl-url': peclBaseUrl,
    'lambda-endpoint-url': lambda.url
  })
  const environment = (): Record<string, string> => ({
    RUNNER_TEMP: runnerTemp,
    GITHUB_WORKSPACE: runnerTemp,
    RUNTIME_LAYER_ACTION_CACHE_DIR: CACHE,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey
  })

  beforeAll(async () => {
    const sourceTarball = await phpSourceTarball()
    const pecl = await serveFolder(await peclFixtures())
    peclServer = pecl.server
    peclBaseUrl = pecl.baseUrl
    phpNet = new PhpNetStandIn({
      releases: [
        { version: PHP_VERSION, date: '02 Jul 2026', tags: ['security'], sha256: { 'tar.xz': PHP_SHA256 } },
        { version: '8.2.31', date: '04 Jun 2026', tags: ['security'], sha256: { 'tar.xz': '1'.repeat(64) } }
      ],
      supportedBranches: ['8.2'],
      distributions: { [`php-${PHP_VERSION}.tar.xz`]: sourceTarball }
    })
    await phpNet.start()
    await lambda.start()

    // The action keeps verified downloads in its cache; remove this one so the download runs.
    await rm(join(CACHE, 'php-source', `php-${PHP_VERSION}.tar.xz`), { force: true })

    runnerTemp = await mkdtemp(join(tmpdir(), 'main-job-'))
    run = await runAction(inputs(), environment())
    if (run.code !== 0) {
      console.log(run.log)
    }

    LAYER_DIR = join(runnerTemp, 'runtime-layer-action', 'work', 'layer-x86_64')
    glibc = await checkGlibcCeiling(LAYER_DIR, TARGET_GLIBC)
    await makeBareRoot(defaultBuildRoot(CACHE))
  }, BUILD_TIMEOUT_MS)

  afterAll(async () => {
    await new Promise((resolve) => peclServer?.close(resolve))
    await phpNet?.stop()
    await lambda.stop()
    await rm(runnerTemp, { recursive: true, force: true })
  })

  test('action succeeds with its outputs', () => {
    expect(run.code).toBe(0)
    expect(run.log).not.toContain('::error::')
    expect(run.outputs['php-version']).toBe(PHP_VERSION)

    const layers = JSON.parse(run.outputs.layers ?? '[]') as { region: string; status: string; arn: string }[]
    expect(layers.map((layer) => layer.region).sort()).toEqual([...REGIONS].sort())
    for (const layer of layers) {
      expect(layer.status).toBe('new')
      expect(layer.arn).toBe(`arn:aws:lambda:${layer.region}:123456789012:layer:php-8_2-x86_64:1`)
    }
  })

  test('resolved and verified the release', () => {
    expect(run.log).toContain(`php-version 8.2 resolved to PHP ${PHP_VERSION}`)
    expect(run.log).toContain(`sha256 ${PHP_SHA256} verified`)
    expect(phpNet.requests.some((request) => request.url === `/distributions/php-${PHP_VERSION}.tar.xz` && request.status === 200)).toBe(true)
  })

  test('smoke test passed before publishing', () => {
    const smoke = run.log.indexOf('::group::Smoke test')
    const publish = run.log.indexOf('::group::Publish')
    expect(smoke).toBeGreaterThan(-1)
    expect(publish).toBeGreaterThan(smoke)
    expect(run.log).not.toMatch(/smoke test failed/i)
  })

  test('published zip matches the output', async () => {
    const zipPath = run.outputs['zip-path']!
    const sha256 = sha256File(await readFile(zipPath))
    expect(run.outputs['zip-sha256']).toBe(sha256)

    for (const region of REGIONS) {
      const versions = lambda.layerVersions(region, 'php-8_2-x86_64')
      expect(versions).toHaveLength(1)
      expect(versions[0]!.codeSha256).toBe(Buffer.from(sha256, 'hex').toString('base64'))
    }
  })

  test('layer manifest', async () => {
    const info = await readLayerInfo(LAYER_DIR)
    expect(info).toEqual({ phpVersion: PHP_VERSION, architecture: 'x86_64', extensions: plan.extensions })
  })

  test('glibc ceiling', () => {
    expect(glibc.maxVersion).toBeDefined()
    expect(compareVersions(glibc.maxVersion as string, TARGET_GLIBC)).toBeLessThanOrEqual(0)
    expect(glibc.files.map((needs) => needs.file)).toContain('bin/php')
  })

  test('layer has the documented layout', async () => {
    const ini = (await readdir(join(LAYER_DIR, 'php', 'conf.d'))).sort()
    expect(ini).toEqual(['10-opcache.ini', '20-apcu.ini', '20-igbinary.ini', '20-redis.ini', 'ca-certificates.ini'])
    expect(await readFile(join(LAYER_DIR, 'php', 'conf.d', '10-opcache.ini'), 'utf8')).toBe('zend_extension=opcache\n')
    expect(await readFile(join(LAYER_DIR, 'php', 'conf.d', '20-redis.ini'), 'utf8')).toBe('extension=redis\n')
    expect((await readdir(join(LAYER_DIR, 'php', 'extensions'))).sort()).toEqual(['apcu.so', 'igbinary.so', 'opcache.so', 'redis.so'])
    expect((await stat(join(LAYER_DIR, 'bootstrap'))).mode & 0o777).toBe(0o755)
    expect(existsSync(join(LAYER_DIR, 'php', 'etc', 'php.ini'))).toBe(true)
    expect(existsSync(join(LAYER_DIR, 'php', 'runtime', 'runtime.php'))).toBe(true)
  })

  test('bundle holds no glibc and no ICU', async () => {
    const bundle = await readdir(join(LAYER_DIR, 'lib'))
    for (const library of [...GLIBC_LIBRARIES, 'ld-linux-x86-64.so.2']) {
      expect(bundle).not.toContain(library)
    }
    expect(bundle.filter((library) => library.startsWith('libicu'))).toEqual([])
    expect(bundle).toContain('libcurl.so.4')
  })

  test('php -m in a bare root loads every extension', async () => {
    const { code, stdout, stderr } = await runInBareRoot(['/opt/bin/php', '-m'])
    expect(stderr).toBe('')
    expect(code).toBe(0)

    const modules = stdout.split('\n').map((line) => line.trim())
    expect(missingModules(plan, modules)).toEqual([])
  })

  test('php -v in a bare root', async () => {
    const { code, stdout } = await runInBareRoot(['/opt/bin/php', '-v'])
    expect(code).toBe(0)
    expect(stdout).toContain(`PHP ${PHP_VERSION} (cli)`)
    expect(stdout).toContain('with Zend OPcache')
  })

  test('HTTPS with the CA where Amazon Linux keeps it', async () => {
    const trusted = await makeCertificates(join(CACHE, 'test-tls'), 'trusted')
    const untrusted = await makeCertificates(join(CACHE, 'test-tls'), 'untrusted')
    await writeFile(join(BARE_ROOT, 'etc', 'pki', 'tls', 'certs', 'ca-bundle.crt'), trusted.ca)

    const good = await startTlsServer(trusted.key, trusted.cert)
    const bad = await startTlsServer(untrusted.key, untrusted.cert)
    const fetchWithCurl = (url: string): string =>
      `$c = curl_init('${url}'); curl_setopt($c, CURLOPT_RETURNTRANSFER, true); ` +
      `$body = curl_exec($c); echo $body === false ? 'curl error: ' . curl_error($c) : $body;`
    // The stream wrapper reports the certificate failure in an earlier warning than the last one.
    const fetchWithStreams = (url: string): string =>
      `$errors = []; set_error_handler(function ($type, $message) use (&$errors) { $errors[] = $message; return true; }); ` +
      `$body = file_get_contents('${url}'); echo $body === false ? 'stream error: ' . implode(' | ', $errors) : $body;`

    try {
      const curlGood = await runInBareRoot(['/opt/bin/php', '-r', fetchWithCurl(good.url)])
      expect(curlGood.stdout).toBe('hello over TLS')

      const streamGood = await runInBareRoot(['/opt/bin/php', '-r', fetchWithStreams(good.url)])
      expect(streamGood.stdout).toBe('hello over TLS')

      const curlBad = await runInBareRoot(['/opt/bin/php', '-r', fetchWithCurl(bad.url)])
      expect(curlBad.stdout).toMatch(/^curl error: SSL certificate problem/)

      const streamBad = await runInBareRoot(['/opt/bin/php', '-r', fetchWithStreams(bad.url)])
      expect(streamBad.stdout).toMatch(/^stream error: [\s\S]*certificate verify failed/)
    } finally {
      await new Promise((resolve) => good.server.close(resolve))
      await new Promise((resolve) => bad.server.close(resolve))
    }
  })

  test('chroot sandbox runs build.sh', async () => {
    const root = defaultBuildRoot(CACHE)
    const { command, args } = sandboxCommand(
      'chroot',
      root,
      [{ hostPath: runtimePath(), rootPath: '/build/runtime', writable: false }],
      {},
      ['/build/runtime/build.sh', '--check-tools']
    )
    const { stderr } = await execFileAsync(command, args)
    expect(stderr).toContain('all build tools found')
  })

  test('smoke test with glibc 2.31', async () => {
    const result = await smokeTest({
      layerDir: LAYER_DIR,
      phpVersion: PHP_VERSION,
      extensions: plan.extensions,
      bareRootOptions: { glibcRoot: defaultBuildRoot(CACHE) }
    })

    expect(result.checks.filter((check) => !check.ok)).toEqual([])
    expect(result.phpVersion).toBe(PHP_VERSION)
    expect(result.startupMessages).toEqual([])
  })

  // Runs last because it rebuilds the layer folder the tests above read.
  test('rerun rebuilds the same bytes and reuses every region', async () => {
    const again = await runAction(inputs(), environment())
    if (again.code !== 0) {
      console.log(again.log)
    }

    expect(again.code).toBe(0)
    expect(again.outputs['zip-sha256']).toBe(run.outputs['zip-sha256'])
    const layers = JSON.parse(again.outputs.layers ?? '[]') as { status: string }[]
    expect(layers.map((layer) => layer.status)).toEqual(['reused', 'reused', 'reused'])
    for (const region of REGIONS) {
      expect(lambda.layerVersions(region, 'php-8_2-x86_64')).toHaveLength(1)
    }
  }, BUILD_TIMEOUT_MS)
})
