import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { DEFAULT_INPUTS, InputError, parseConfig, type Config, type Inputs, type ParseOptions } from '../src/inputs.js'
import { defaultEnabledRegionCodes } from '../src/regions.js'

// Stands in for the catalog check of src/extensions.ts, which parseConfig receives injected.
const CATALOG = ['curl', 'intl', 'mbstring', 'opcache', 'pdo_mysql', 'redis']
function validateExtensions(names: string[]): string[] {
  return names.filter((name) => !CATALOG.includes(name)).map((name) => `"${name}" is not in the extension catalog`)
}

let workspace: string
let warnings: string[]

beforeEach(() => {
  workspace = mkdtempSync(join(tmpdir(), 'inputs-test-'))
  mkdirSync(join(workspace, 'dist'))
  writeFileSync(join(workspace, 'dist', 'layer.zip'), 'zip')
  writeFileSync(join(workspace, 'php-8.3.14.tar.xz'), 'tarball')
  writeFileSync(join(workspace, 'php-keyring.gpg'), 'keyring')
  warnings = []
})

afterEach(() => {
  rmSync(workspace, { recursive: true, force: true })
})

function parse(overrides: Partial<Inputs>, options: Partial<ParseOptions> = {}): Config {
  return parseConfig(
    { ...DEFAULT_INPUTS, ...overrides },
    {
      validateExtensions,
      env: { GITHUB_WORKSPACE: workspace },
      hostArchitecture: 'x86_64',
      warn: (message) => warnings.push(message),
      ...options
    }
  )
}

/** Returns the messages of the InputError that parsing throws, or fails the test. */
function errorsOf(overrides: Partial<Inputs>, options: Partial<ParseOptions> = {}): string[] {
  try {
    parse(overrides, options)
  } catch (error) {
    if (error instanceof InputError) {
      return error.errors
    }
    throw error
  }

  throw new Error(`expected an InputError for ${JSON.stringify(overrides)}`)
}

describe('parseConfig defaults', () => {
  it('returns the documented defaults', () => {
    expect(parse({})).toEqual({
      mode: 'build-and-publish',
      phpVersion: 'latest',
      extensions: { includeDefaults: true, names: [] },
      architectures: ['x86_64'],
      regions: defaultEnabledRegionCodes(),
      layerName: 'php-{php}-{arch}',
      permission: { kind: 'public' },
      compatibleRuntimes: ['provided.al2023'],
      description: undefined,
      licenseInfo: undefined,
      builder: 'docker',
      baseImage: 'public.ecr.aws/lambda/provided:al2023',
      optimize: 'size',
      compiler: 'gcc',
      smokeTest: true,
      s3Bucket: undefined,
      layerZips: [],
      dryRun: false,
      release: undefined,
      maxParallelRegions: 4,
      retryMaxAttempts: 5,
      phpNetUrl: 'https://www.php.net',
      phpSource: undefined,
      phpKeyring: undefined,
      peclUrl: 'https://pecl.php.net/get',
      lambdaEndpointUrl: undefined,
      s3EndpointUrl: undefined
    })
  })

  it('treats empty inputs as defaults', () => {
    expect(parse({ mode: '', 'php-version': ' ', builder: '', 'max-parallel-regions': '' })).toEqual(parse({}))
  })

  it('logs no warnings', () => {
    parse({})
    expect(warnings).toEqual([])
  })
})

describe('parseConfig values', () => {
  it('accepts each PHP version form', () => {
    expect(parse({ 'php-version': '8.4' }).phpVersion).toBe('8.4')
    expect(parse({ 'php-version': '8.3.14' }).phpVersion).toBe('8.3.14')
    expect(parse({ 'php-version': 'latest' }).phpVersion).toBe('latest')
  })

  it('adds extensions to the default set', () => {
    expect(parse({ extensions: 'default, intl\nRedis' }).extensions).toEqual({ includeDefaults: true, names: ['intl', 'redis'] })
  })

  it('builds only listed extensions', () => {
    expect(parse({ extensions: 'curl,mbstring,curl' }).extensions).toEqual({ includeDefaults: false, names: ['curl', 'mbstring'] })
  })

  it('accepts both architectures', () => {
    expect(parse({ architectures: 'x86_64\narm64\nx86_64', builder: 'docker' }).architectures).toEqual(['x86_64', 'arm64'])
  })

  it('expands all without opt-in regions', () => {
    const regions = parse({ regions: 'all' }).regions
    expect(regions).toHaveLength(17)
    expect(regions).toContain('us-east-1')
    expect(regions).toContain('ap-northeast-3')
    expect(regions).not.toContain('af-south-1')
  })

  it('adds listed opt-in regions to all', () => {
    const regions = parse({ regions: 'all, af-south-1, us-east-1' }).regions
    expect(regions).toHaveLength(18)
    expect(regions[17]).toBe('af-south-1')
  })

  it('keeps listed regions in order', () => {
    expect(parse({ regions: 'eu-west-1,us-east-1\neu-west-1,me-south-1' }).regions).toEqual(['eu-west-1', 'us-east-1', 'me-south-1'])
  })

  it('allows empty regions in build mode', () => {
    expect(parse({ mode: 'build', regions: '' }).regions).toEqual([])
  })

  it('makes a private layer', () => {
    expect(parse({ public: 'false' }).permission).toEqual({ kind: 'private' })
  })

  it('shares with an organization', () => {
    expect(parse({ 'organization-id': 'o-abc123def4' }).permission).toEqual({ kind: 'organization', organizationId: 'o-abc123def4' })
    expect(parse({ 'organization-id': 'o-abc123def4', public: 'false' }).permission.kind).toBe('organization')
  })

  it('accepts both runtimes', () => {
    expect(parse({ 'compatible-runtimes': 'provided.al2023, provided.al2' }).compatibleRuntimes).toEqual(['provided.al2023', 'provided.al2'])
  })

  it('keeps description and license', () => {
    const config = parse({ description: 'PHP for Lambda', 'license-info': 'PHP-3.01' })
    expect(config.description).toBe('PHP for Lambda')
    expect(config.licenseInfo).toBe('PHP-3.01')
  })

  it('resolves layer-zip in publish mode', () => {
    expect(parse({ mode: 'publish', 'layer-zip': 'dist/layer.zip' }).layerZips).toEqual([join(workspace, 'dist', 'layer.zip')])
  })

  it('resolves a layer-zip list', () => {
    writeFileSync(join(workspace, 'dist', 'arm.zip'), 'zip')
    const config = parse({ mode: 'publish', 'layer-zip': 'dist/layer.zip\ndist/arm.zip' })
    expect(config.layerZips).toEqual([join(workspace, 'dist', 'layer.zip'), join(workspace, 'dist', 'arm.zip')])
  })

  it('expands a layer-zip file pattern', () => {
    writeFileSync(join(workspace, 'dist', 'php-8.4.1-arm64.zip'), 'zip')
    writeFileSync(join(workspace, 'dist', 'php-8.4.1-x86_64.zip'), 'zip')
    const config = parse({ mode: 'publish', 'layer-zip': 'dist/php-*.zip' })
    expect(config.layerZips).toEqual([join(workspace, 'dist', 'php-8.4.1-arm64.zip'), join(workspace, 'dist', 'php-8.4.1-x86_64.zip')])
  })

  it('resolves php-source and php-keyring', () => {
    const config = parse({ 'php-version': '8.3.14', 'php-source': 'php-8.3.14.tar.xz', 'php-keyring': join(workspace, 'php-keyring.gpg') })
    expect(config.phpSource).toBe(join(workspace, 'php-8.3.14.tar.xz'))
    expect(config.phpKeyring).toBe(join(workspace, 'php-keyring.gpg'))
  })

  it('takes the release tag input', () => {
    expect(parse({ release: 'true', 'github-token': 'ghs_x', tag: 'v2.1.0' }).release).toEqual({ token: 'ghs_x', tag: 'v2.1.0' })
  })

  it('takes the release tag from GITHUB_REF', () => {
    const config = parse({ release: 'true', 'github-token': 'ghs_x' }, { env: { GITHUB_WORKSPACE: workspace, GITHUB_REF: 'refs/tags/v3' } })
    expect(config.release).toEqual({ token: 'ghs_x', tag: 'v3' })
  })

  it('strips trailing slashes from URLs', () => {
    const config = parse({ 'php-net-url': 'http://127.0.0.1:8080/', 'lambda-endpoint-url': 'http://127.0.0.1:9000/', 's3-endpoint-url': 'https://s3.local' })
    expect(config.phpNetUrl).toBe('http://127.0.0.1:8080')
    expect(config.lambdaEndpointUrl).toBe('http://127.0.0.1:9000')
    expect(config.s3EndpointUrl).toBe('https://s3.local')
  })

  it('parses numbers and booleans', () => {
    const config = parse({ 'max-parallel-regions': '12', 'retry-max-attempts': '1', 'dry-run': 'TRUE', 'smoke-test': 'False' })
    expect(config.maxParallelRegions).toBe(12)
    expect(config.retryMaxAttempts).toBe(1)
    expect(config.dryRun).toBe(true)
    expect(config.smokeTest).toBe(false)
  })

  it('allows native builds for the host', () => {
    expect(parse({ builder: 'native', architectures: 'arm64' }, { hostArchitecture: 'arm64' }).builder).toBe('native')
  })

  it('allows native publish of a foreign zip', () => {
    expect(parse({ mode: 'publish', 'layer-zip': 'dist/layer.zip', builder: 'native', architectures: 'arm64' }).architectures).toEqual(['arm64'])
  })

  it('keeps the s3-bucket template', () => {
    expect(parse({ 's3-bucket': 'layers-{region}', regions: 'us-east-1,eu-west-1' }).s3Bucket).toBe('layers-{region}')
    expect(warnings).toEqual([])
  })

  it('warns about one bucket for many regions', () => {
    parse({ 's3-bucket': 'my-layers', regions: 'us-east-1,eu-west-1' })
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain('s3-bucket "my-layers" has no {region} placeholder')
  })

  it('accepts one bucket for one region', () => {
    expect(parse({ 's3-bucket': 'my-layers', regions: 'us-east-1' }).s3Bucket).toBe('my-layers')
    expect(warnings).toEqual([])
  })
})

describe('parseConfig rejects', () => {
  it('unknown mode', () => {
    expect(errorsOf({ mode: 'deploy' })).toEqual(['mode "deploy" is invalid; allowed: build-and-publish, build, publish, check'])
  })

  it.each(['8', '8.4.x', 'v8.4', '8.4.3.1', '08.4', 'newest'])('php-version %s', (version) => {
    expect(errorsOf({ 'php-version': version })).toEqual([
      `php-version "${version}" is invalid: use MAJOR.MINOR (8.4), MAJOR.MINOR.PATCH (8.3.14) or latest`
    ])
  })

  it('empty extensions list', () => {
    expect(errorsOf({ extensions: ', ,' })).toEqual(['extensions is empty: list extension names, or write default for the default set'])
  })

  it('malformed extension name', () => {
    expect(errorsOf({ extensions: 'default, pdo-mysql' })).toEqual([
      'extensions: "pdo-mysql" is not an extension name (lowercase letters, digits and "_", starting with a letter)'
    ])
  })

  it('extension missing from the catalog', () => {
    expect(errorsOf({ extensions: 'default, imagick' })).toEqual(['extensions: "imagick" is not in the extension catalog'])
  })

  it('unknown architecture', () => {
    expect(errorsOf({ architectures: 'x86_64, riscv64' })).toEqual(['architectures: "riscv64" is not a Lambda architecture; allowed: x86_64, arm64'])
  })

  it('architecture alias with a hint', () => {
    expect(errorsOf({ architectures: 'aarch64' })).toEqual([
      'architectures: "aarch64" is not a Lambda architecture (Lambda calls aarch64 "arm64"); allowed: x86_64, arm64'
    ])
  })

  it('empty architectures', () => {
    expect(errorsOf({ architectures: ',' })).toEqual(['architectures is empty; allowed: x86_64, arm64'])
  })

  it('unknown region', () => {
    const errors = errorsOf({ regions: 'us-east-1, us-east-3' })
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/^regions: "us-east-3" is not a commercial AWS Region with Lambda; allowed: all, af-south-1, .*us-west-2$/)
  })

  it('region outside the commercial partition', () => {
    expect(errorsOf({ regions: 'cn-north-1' })[0]).toContain('"cn-north-1" is not a commercial AWS Region with Lambda')
  })

  it('empty regions when publishing', () => {
    expect(errorsOf({ regions: '' })).toEqual(['regions is empty: list Region codes such as us-east-1, or write all for every Region enabled by default'])
  })

  it('unknown layer-name placeholder', () => {
    expect(errorsOf({ 'layer-name': 'php-{version}-{arch}' })).toEqual([
      'layer-name "php-{version}-{arch}" has an unknown placeholder {version}; allowed: {php}, {arch}'
    ])
  })

  it('unmatched brace in layer-name', () => {
    expect(errorsOf({ 'layer-name': 'php-{php-{arch}' })).toEqual(['layer-name "php-{php-{arch}" has an unmatched brace; placeholders are written {php}, {arch}'])
  })

  it('layer-name with a dot', () => {
    expect(errorsOf({ 'layer-name': 'php.{php}-{arch}' })).toEqual([
      'layer-name "php.{php}-{arch}" is invalid: with the longest values it renders to "php.99_99-x86_64", which contains characters other than letters, digits, "-" and "_"'
    ])
  })

  it('layer-name over 140 characters', () => {
    const template = `${'a'.repeat(129)}-{php}-{arch}`
    expect(errorsOf({ 'layer-name': template })[0]).toContain('is 142 characters long; Lambda allows at most 140')
  })

  it('layer-name without {arch} for two architectures', () => {
    expect(errorsOf({ 'layer-name': 'php-{php}', architectures: 'x86_64,arm64' })).toEqual([
      'layer-name "php-{php}" has no {arch} placeholder, but architectures lists x86_64 and arm64: each architecture needs its own layer, so add {arch}, e.g. php-{php}-{arch}'
    ])
  })

  it('invalid public', () => {
    expect(errorsOf({ public: 'yes' })).toEqual(['public "yes" is invalid: use true or false'])
  })

  it('malformed organization-id', () => {
    expect(errorsOf({ 'organization-id': 'o-short' })).toEqual([
      'organization-id "o-short" is invalid: AWS Organizations ids look like o-a1b2c3d4e5 ("o-" and 10 to 32 lowercase letters or digits)'
    ])
  })

  it('public true with organization-id', () => {
    expect(errorsOf({ public: 'true', 'organization-id': 'o-abc123def4' })).toEqual([
      'public "true" conflicts with organization-id "o-abc123def4": a layer is shared either with everyone or with one organization, so remove one of them'
    ])
  })

  it('unknown compatible runtime', () => {
    expect(errorsOf({ 'compatible-runtimes': 'provided.al2023, provided' })).toEqual([
      'compatible-runtimes "provided" is invalid; allowed: provided.al2023, provided.al2'
    ])
  })

  it('description over 256 characters', () => {
    expect(errorsOf({ description: 'd'.repeat(257) })).toEqual(['description is 257 characters long; Lambda allows at most 256'])
  })

  it('license-info over 512 characters', () => {
    expect(errorsOf({ 'license-info': 'l'.repeat(513) })).toEqual(['license-info is 513 characters long; Lambda allows at most 512'])
  })

  it('unknown builder', () => {
    expect(errorsOf({ builder: 'podman' })).toEqual(['builder "podman" is invalid; allowed: docker, native'])
  })

  it('base-image with whitespace', () => {
    expect(errorsOf({ 'base-image': 'amazonlinux 2023' })).toEqual(['base-image "amazonlinux 2023" is not an image reference: it contains whitespace'])
  })

  it('unknown optimize', () => {
    expect(errorsOf({ optimize: 'fast' })).toEqual(['optimize "fast" is invalid; allowed: size, speed'])
  })

  it('unknown compiler', () => {
    expect(errorsOf({ compiler: 'icc' })).toEqual(['compiler "icc" is invalid; allowed: gcc, clang'])
  })

  it('invalid smoke-test', () => {
    expect(errorsOf({ 'smoke-test': 'on' })).toEqual(['smoke-test "on" is invalid: use true or false'])
  })

  it('native build for another architecture', () => {
    expect(errorsOf({ builder: 'native', architectures: 'x86_64,arm64' })).toEqual([
      'builder "native" builds only for this machine\'s architecture (x86_64), but architectures lists arm64: use builder docker, or run a separate job on a runner of that architecture'
    ])
  })

  it('unknown s3-bucket placeholder', () => {
    expect(errorsOf({ 's3-bucket': 'layers-{account}' })).toEqual(['s3-bucket "layers-{account}" has an unknown placeholder {account}; allowed: {region}'])
  })

  it('s3-bucket with a space', () => {
    expect(errorsOf({ 's3-bucket': 'my layers', regions: 'us-east-1' })).toEqual([
      's3-bucket "my layers" is invalid: it renders to "my layers", which contains characters other than letters, digits, ".", "-" and "_", or ends with "."'
    ])
  })

  it('s3-bucket too long for a region', () => {
    const template = `${'b'.repeat(50)}-{region}`
    expect(errorsOf({ 's3-bucket': template, regions: 'us-east-1' })[0]).toContain('which is 65 characters long; bucket names have 3 to 63')
  })

  it('publish mode without layer-zip', () => {
    expect(errorsOf({ mode: 'publish' })).toEqual(['mode "publish" needs layer-zip: the path of the zip built by an earlier job with mode build'])
  })

  it('layer-zip outside publish mode', () => {
    expect(errorsOf({ 'layer-zip': 'dist/layer.zip' })).toEqual([
      'layer-zip "dist/layer.zip" is read only in mode publish, but mode is "build-and-publish": remove layer-zip or set mode: publish'
    ])
  })

  it('missing layer-zip file', () => {
    expect(errorsOf({ mode: 'publish', 'layer-zip': 'dist/missing.zip' })).toEqual([
      `layer-zip "dist/missing.zip" not found (looked at ${join(workspace, 'dist', 'missing.zip')})`
    ])
  })

  it('layer-zip pattern matching nothing', () => {
    expect(errorsOf({ mode: 'publish', 'layer-zip': 'dist/*-arm64.zip' })).toEqual([`layer-zip "dist/*-arm64.zip" matches no file in ${join(workspace, 'dist')}`])
  })

  it('layer-zip that is a folder', () => {
    expect(errorsOf({ mode: 'publish', 'layer-zip': 'dist' })).toEqual([`layer-zip "dist" is not a regular file (${join(workspace, 'dist')})`])
  })

  it('invalid dry-run', () => {
    expect(errorsOf({ 'dry-run': '1' })).toEqual(['dry-run "1" is invalid: use true or false'])
  })

  it('invalid release', () => {
    expect(errorsOf({ release: 'always' })).toEqual(['release "always" is invalid: use true or false'])
  })

  it('release without token', () => {
    expect(errorsOf({ release: 'true', tag: 'v1' })).toEqual(['release "true" needs github-token: pass ${{ github.token }} or a token with contents: write'])
  })

  it('release without tag', () => {
    expect(errorsOf({ release: 'true', 'github-token': 'ghs_x' }, { env: { GITHUB_REF: 'refs/heads/main' } })).toEqual([
      'release "true" needs tag: set tag, or run the workflow on a tag push'
    ])
  })

  it('release with an invalid tag', () => {
    expect(errorsOf({ release: 'true', 'github-token': 'ghs_x', tag: 'v1 final' })[0]).toMatch(/^tag "v1 final" is not a valid Git tag name/)
  })

  it('release in check mode', () => {
    expect(errorsOf({ mode: 'check', release: 'true', 'github-token': 'ghs_x', tag: 'v1' })).toEqual([
      'release "true" cannot be used with mode "check", which builds and publishes nothing'
    ])
  })

  it.each(['0', '-1', '2.5', 'four'])('max-parallel-regions %s', (value) => {
    expect(errorsOf({ 'max-parallel-regions': value })).toEqual([`max-parallel-regions "${value}" is invalid: use a whole number of 1 or more`])
  })

  it('retry-max-attempts of zero', () => {
    expect(errorsOf({ 'retry-max-attempts': '0' })).toEqual(['retry-max-attempts "0" is invalid: use a whole number of 1 or more'])
  })

  it('php-net-url that is not a URL', () => {
    expect(errorsOf({ 'php-net-url': 'www.php.net' })).toEqual(['php-net-url "www.php.net" is not a valid URL: use an http:// or https:// URL'])
  })

  it('php-net-url with another scheme', () => {
    expect(errorsOf({ 'php-net-url': 'ftp://ftp.php.net' })).toEqual(['php-net-url "ftp://ftp.php.net" uses ftp: use an http:// or https:// URL'])
  })

  it('missing php-source', () => {
    expect(errorsOf({ 'php-version': '8.3.14', 'php-source': 'php-8.3.15.tar.xz' })).toEqual([
      `php-source "php-8.3.15.tar.xz" not found (looked at ${join(workspace, 'php-8.3.15.tar.xz')})`
    ])
  })

  it('php-source without an exact version', () => {
    expect(errorsOf({ 'php-version': '8.3', 'php-source': 'php-8.3.14.tar.xz' })).toEqual([
      'php-version "8.3" cannot be resolved offline: with php-source, give the tarball\'s exact version, e.g. 8.3.14'
    ])
  })

  it('missing php-keyring', () => {
    expect(errorsOf({ 'php-keyring': '/nonexistent/keyring.gpg' })).toEqual(['php-keyring "/nonexistent/keyring.gpg" not found (looked at /nonexistent/keyring.gpg)'])
  })

  it('invalid lambda-endpoint-url', () => {
    expect(errorsOf({ 'lambda-endpoint-url': 'localhost:9000' })).toEqual(['lambda-endpoint-url "localhost:9000" uses localhost: use an http:// or https:// URL'])
  })

  it('invalid s3-endpoint-url', () => {
    expect(errorsOf({ 's3-endpoint-url': 'not a url' })).toEqual(['s3-endpoint-url "not a url" is not a valid URL: use an http:// or https:// URL'])
  })
})

describe('InputError', () => {
  it('collects every problem', () => {
    const errors = errorsOf({ mode: 'deploy', architectures: 'sparc', regions: 'mars-1', compiler: 'icc', 'organization-id': 'bad' })
    expect(errors).toHaveLength(5)
  })

  it('lists the problems in its message', () => {
    expect(() => parse({ compiler: 'icc', optimize: 'fast' })).toThrow(
      'Invalid inputs (2 problems):\n- optimize "fast" is invalid; allowed: size, speed\n- compiler "icc" is invalid; allowed: gcc, clang'
    )
  })
})
