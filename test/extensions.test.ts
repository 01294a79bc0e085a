import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import {
  defaultExtensions,
  downloadPeclTarballs,
  knownExtensions,
  loadCatalog,
  missingModules,
  parseExtensionList,
  peclBuildArgument,
  planExtensions,
  validateCatalog,
  type ExtensionCatalog,
  type PeclTarball
} from '../src/extensions.js'

const DEFAULT_SET = [
  'bcmath',
  'ctype',
  'curl',
  'dom',
  'filter',
  'mbstring',
  'mysqli',
  'opcache',
  'openssl',
  'pdo_mysql',
  'pdo_sqlite',
  'simplexml',
  'sockets',
  'sodium',
  'tokenizer',
  'xml',
  'zlib'
]

describe('extension catalog', () => {
  test('catalog loads and validates', () => {
    const catalog = loadCatalog()
    expect(Object.keys(catalog.extensions).length).toBeGreaterThan(DEFAULT_SET.length)
    expect(catalog.required).toEqual(['curl'])
  })

  test('default set matches the documented list', () => {
    expect(defaultExtensions()).toEqual(DEFAULT_SET)
  })

  test('intl is known but not default', () => {
    expect(knownExtensions()).toContain('intl')
    expect(defaultExtensions()).not.toContain('intl')
  })

  test('PECL entries are pinned and shared', () => {
    const catalog = loadCatalog()
    for (const name of ['redis', 'apcu', 'igbinary']) {
      const entry = catalog.extensions[name]
      expect(entry?.pecl?.sha256).toMatch(/^[0-9a-f]{64}$/)
      expect(entry?.pecl?.version).toMatch(/^\d+\.\d+\.\d+$/)
      expect(entry?.linkage).toBe('shared')
    }
  })

  test('validation rejects a bad linkage', () => {
    const catalog = structuredClone(loadCatalog()) as unknown as { extensions: Record<string, { linkage: string }> }
    ;(catalog.extensions.bcmath as { linkage: string }).linkage = 'static'
    expect(() => validateCatalog(catalog)).toThrow(/"bcmath": linkage must be "builtin" or "shared", got "static"/)
  })

  test('validation rejects a malformed PECL digest', () => {
    const catalog = structuredClone(loadCatalog())
    ;(catalog.extensions.apcu as { pecl: { sha256: string } }).pecl.sha256 = 'abc'
    expect(() => validateCatalog(catalog)).toThrow(/"apcu": pecl.sha256 must be 64 lower-case hex digits/)
  })
})

describe('parseExtensionList', () => {
  test('splits on commas, spaces and new lines', () => {
    expect(parseExtensionList('default, intl\nRedis  apcu,')).toEqual(['default', 'intl', 'redis', 'apcu'])
  })

  test('empty input gives no names', () => {
    expect(parseExtensionList('  ')).toEqual([])
  })
})

describe('planExtensions', () => {
  test('default expands to the default set', () => {
    const plan = planExtensions(['default'])
    expect(plan.extensions).toEqual(DEFAULT_SET)
    expect(plan.shared).toEqual(['opcache'])
    expect(plan.pecl).toEqual([])
  })

  test('curl is always added', () => {
    const plan = planExtensions(['bcmath'])
    expect(plan.extensions).toEqual(['bcmath', 'curl'])
    expect(plan.configureFlags).toEqual(['--enable-bcmath', '--with-curl'])
  })

  test('unknown names are rejected with the known list', () => {
    expect(() => planExtensions(['curl', 'mongodb', 'xdebug'])).toThrow(
      /unknown PHP extension "mongodb", "xdebug"; known extensions: apcu, bcmath, .*zlib \(or "default" for the default set\)/
    )
  })

  test('configure flags are not repeated', () => {
    const plan = planExtensions(['dom', 'xml', 'simplexml', 'pdo_mysql', 'pdo_sqlite'])
    expect(plan.configureFlags.filter((flag) => flag === '--with-libxml')).toHaveLength(1)
    expect(plan.configureFlags.filter((flag) => flag === '--enable-pdo')).toHaveLength(1)
  })

  test('packages are collected for both distributions', () => {
    const plan = planExtensions(['default'])
    expect(plan.aptPackages).toEqual(['libcurl4-openssl-dev', 'libonig-dev', 'libsodium-dev', 'libsqlite3-dev', 'libssl-dev', 'libxml2-dev', 'zlib1g-dev'])
    expect(plan.dnfPackages).toEqual(['libcurl-devel', 'libsodium-devel', 'libxml2-devel', 'oniguruma-devel', 'openssl-devel', 'sqlite-devel', 'zlib-devel'])
  })

  test('redis brings session along', () => {
    const plan = planExtensions(['redis'])
    expect(plan.extensions).toEqual(['curl', 'redis', 'session'])
    expect(plan.configureFlags).toContain('--enable-session')
    expect(plan.configureFlags).not.toContain('--enable-redis')
  })

  test('PECL tarball URL uses the base URL', () => {
    const plan = planExtensions(['apcu'], { peclBaseUrl: 'http://127.0.0.1:9/mirror/' })
    expect(plan.pecl).toEqual([
      {
        name: 'apcu',
        version: '5.1.24',
        sha256: '5c28a55b27082c69657e25b7ecf553e2cf6b74ec3fa77d6b76f4fb982e001e43',
        fileName: 'apcu-5.1.24.tgz',
        url: 'http://127.0.0.1:9/mirror/apcu-5.1.24.tgz',
        configureFlags: ['--enable-apcu']
      }
    ])
  })

  test('PECL build argument joins flags with commas', () => {
    const [tarball] = planExtensions(['igbinary']).pecl
    expect(tarball).toBeDefined()
    expect(peclBuildArgument(tarball as PeclTarball)).toBe(
      'igbinary:3.2.16:8bf25d465abc7973d9e2c9a3039a5f8eea635b23bc1477017ff3999ff95836da:--enable-igbinary'
    )
  })
})

describe('missingModules', () => {
  test('maps opcache to Zend OPcache', () => {
    const plan = planExtensions(['opcache', 'simplexml'])
    expect(missingModules(plan, ['Core', 'curl', 'SimpleXML', 'Zend OPcache'])).toEqual([])
  })

  test('lists what php -m lacks', () => {
    const plan = planExtensions(['default'])
    expect(missingModules(plan, ['curl', 'dom'])).toContain('opcache')
    expect(missingModules(plan, ['curl', 'dom'])).not.toContain('dom')
  })
})

describe('downloadPeclTarballs', () => {
  const tarballBytes = Buffer.from('a PECL tarball stand-in\n')
  const digest = createHash('sha256').update(tarballBytes).digest('hex')
  let server: Server
  let baseUrl: string
  let requests: string[]
  let folder: string

  const testCatalog = (sha256: string): ExtensionCatalog => {
    const catalog = structuredClone(loadCatalog())
    catalog.extensions.apcu = {
      ...(catalog.extensions.apcu as ExtensionCatalog['extensions'][string]),
      pecl: { version: '5.1.24', sha256 }
    }
    return catalog
  }

  beforeEach(async () => {
    requests = []
    folder = await mkdtemp(join(tmpdir(), 'pecl-download-'))
    server = createServer((request, response) => {
      requests.push(request.url ?? '')
      if (request.url === '/get/apcu-5.1.24.tgz') {
        response.end(tarballBytes)
      } else {
        response.statusCode = 404
        response.end()
      }
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/get`
  })

  afterEach(async () => {
    await new Promise((resolve) => server.close(resolve))
    await rm(folder, { recursive: true, force: true })
  })

  test('download keeps a verified tarball', async () => {
    const plan = planExtensions(['apcu'], { peclBaseUrl: baseUrl, catalog: testCatalog(digest) })
    const [path] = await downloadPeclTarballs(plan.pecl, folder)
    expect(path).toBe(join(folder, 'apcu-5.1.24.tgz'))
    expect(await readFile(path as string)).toEqual(tarballBytes)
  })

  test('download reuses a verified file', async () => {
    const plan = planExtensions(['apcu'], { peclBaseUrl: baseUrl, catalog: testCatalog(digest) })
    await writeFile(join(folder, 'apcu-5.1.24.tgz'), tarballBytes)
    await downloadPeclTarballs(plan.pecl, folder)
    expect(requests).toEqual([])
  })

  test('digest mismatch rejects the file', async () => {
    const wrong = '0'.repeat(64)
    const plan = planExtensions(['apcu'], { peclBaseUrl: baseUrl, catalog: testCatalog(wrong) })
    await expect(downloadPeclTarballs(plan.pecl, folder)).rejects.toThrow(
      `sha256 mismatch for ${baseUrl}/apcu-5.1.24.tgz: expected ${wrong}, got ${digest}`
    )
    await expect(readFile(join(folder, 'apcu-5.1.24.tgz'))).rejects.toThrow(/ENOENT/)
  })

  test('HTTP error names the URL', async () => {
    const plan = planExtensions(['apcu'], { peclBaseUrl: `${baseUrl}/missing`, catalog: testCatalog(digest) })
    await expect(downloadPeclTarballs(plan.pecl, folder)).rejects.toThrow(
      `download of ${baseUrl}/missing/apcu-5.1.24.tgz failed: HTTP 404`
    )
  })
})
