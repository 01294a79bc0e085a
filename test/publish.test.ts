import { randomBytes } from 'node:crypto'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { AddLayerVersionPermissionCommand, GetLayerVersionByArnCommand, LambdaClient } from '@aws-sdk/client-lambda'

import { LocalLambdaEndpoint, type EndpointCredentials } from '../src/lambda-endpoint/index.js'
import { zipLayer, type LayerZip } from '../src/package.js'
import { publishLayer, type PublishOptions, type RegionResult } from '../src/publish.js'

const OWNER: EndpointCredentials = {
  accessKeyId: 'AKIAPUBLISHER000001',
  secretAccessKey: 'publisher-secret-key',
  accountId: '111111111111',
  organizationId: 'o-abcdefghij'
}
const COLLEAGUE: EndpointCredentials = {
  accessKeyId: 'AKIACOLLEAGUE000002',
  secretAccessKey: 'colleague-secret-key',
  accountId: '222222222222',
  organizationId: 'o-abcdefghij'
}
const STRANGER: EndpointCredentials = { accessKeyId: 'AKIASTRANGER0000003', secretAccessKey: 'stranger-secret-key', accountId: '333333333333' }

const REGIONS = ['eu-west-1', 'us-east-1', 'ap-northeast-1']
const LAYER_NAME = 'php-8_4-x86_64'

// The 33 commercial Regions with Lambda, as of 2026.
const ALL_REGIONS = [
  'af-south-1', 'ap-east-1', 'ap-east-2', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-south-1', 'ap-south-2',
  'ap-southeast-1', 'ap-southeast-2', 'ap-southeast-3', 'ap-southeast-4', 'ap-southeast-5', 'ap-southeast-6', 'ap-southeast-7',
  'ca-central-1', 'ca-west-1', 'eu-central-1', 'eu-central-2', 'eu-north-1', 'eu-south-1', 'eu-south-2', 'eu-west-1', 'eu-west-2',
  'eu-west-3', 'il-central-1', 'me-central-1', 'me-south-1', 'mx-central-1', 'sa-east-1', 'us-east-1', 'us-east-2', 'us-west-1'
]

async function makeLayer(workDir: string, name: string, payload: Buffer | string): Promise<LayerZip> {
  const layerDir = join(workDir, name)
  await mkdir(join(layerDir, 'bin'), { recursive: true })
  await writeFile(join(layerDir, 'bootstrap'), '#!/bin/sh\nexec /opt/bin/php /opt/php/runtime/loop.php\n')
  await chmod(join(layerDir, 'bootstrap'), 0o755)
  await writeFile(join(layerDir, 'bin/php'), payload)
  await chmod(join(layerDir, 'bin/php'), 0o755)

  return zipLayer({ layerDir, zipPath: join(workDir, `${name}.zip`) })
}

function countRequests(endpoint: LocalLambdaEndpoint, operation: string, region?: string): number {
  return endpoint.requests.filter((request) => request.operation === operation && (region === undefined || request.region === region)).length
}

function byRegion(results: RegionResult[]): Record<string, RegionResult> {
  return Object.fromEntries(results.map((result) => [result.region, result]))
}

describe('publishLayer', () => {
  const savedEnvironment = { ...process.env }
  let workDir: string
  let zip: LayerZip
  let otherZip: LayerZip
  let endpoint: LocalLambdaEndpoint
  let sleeps: number[]
  let logs: string[]

  function options(overrides: Partial<PublishOptions> = {}): PublishOptions {
    return {
      zip,
      layerName: LAYER_NAME,
      architecture: 'x86_64',
      regions: REGIONS,
      compatibleRuntimes: ['provided.al2023'],
      description: 'PHP 8.4.3 (x86_64): bcmath, intl, opcache, pdo_mysql',
      licenseInfo: 'PHP-3.01',
      permission: { kind: 'public' },
      maxParallelRegions: 4,
      maxAttempts: 1,
      lambdaEndpoint: endpoint.url,
      s3Endpoint: endpoint.url,
      sleep: async (milliseconds) => {
        sleeps.push(milliseconds)
      },
      random: () => 0.5,
      logger: { info: (message) => logs.push(message), warning: (message) => logs.push(`warning: ${message}`) },
      ...overrides
    }
  }

  function lambdaAs(credentials: EndpointCredentials, region: string): LambdaClient {
    return new LambdaClient({ region, endpoint: endpoint.url, credentials, maxAttempts: 1 })
  }

  function statementIds(region: string): string[] {
    return endpoint.layerVersions(region, LAYER_NAME, OWNER.accountId)[0]?.statements.map((statement) => statement.Sid) ?? []
  }

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'publish-test-'))
    zip = await makeLayer(workDir, 'layer', 'php binary stand-in')
    otherZip = await makeLayer(workDir, 'other-layer', 'rebuilt php binary stand-in')

    // The SDK's default provider chain reads these first; IMDS stays off so nothing leaves 127.0.0.1.
    for (const name of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_ROLE_ARN', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI']) {
      delete process.env[name]
    }
    process.env.AWS_EC2_METADATA_DISABLED = 'true'
    process.env.AWS_CONFIG_FILE = join(workDir, 'no-config')
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(workDir, 'no-credentials')
  })

  afterAll(async () => {
    process.env = savedEnvironment
    await rm(workDir, { recursive: true, force: true })
  })

  beforeEach(async () => {
    process.env.AWS_ACCESS_KEY_ID = OWNER.accessKeyId
    process.env.AWS_SECRET_ACCESS_KEY = OWNER.secretAccessKey
    sleeps = []
    logs = []
    endpoint = new LocalLambdaEndpoint({ credentials: [OWNER, COLLEAGUE, STRANGER] })
    endpoint.createBuckets('layers-{region}', ALL_REGIONS)
    await endpoint.start()
  })

  afterEach(async () => {
    await endpoint.stop()
  })

  it('publishes a new version to each Region', async () => {
    const results = await publishLayer(options())

    expect(results.map((result) => result.region)).toEqual(REGIONS)
    for (const result of results) {
      expect(result.status).toBe('new')
      expect(result.version).toBe(1)
      expect(result.architecture).toBe('x86_64')
      expect(result.layerArn).toBe(`arn:aws:lambda:${result.region}:111111111111:layer:${LAYER_NAME}`)
      expect(result.layerVersionArn).toBe(`arn:aws:lambda:${result.region}:111111111111:layer:${LAYER_NAME}:1`)
      expect(result.error).toBeUndefined()

      const [published] = endpoint.layerVersions(result.region, LAYER_NAME, OWNER.accountId)
      expect(published?.codeSha256).toBe(zip.codeSha256)
      expect(published?.compatibleArchitectures).toEqual(['x86_64'])
      expect(published?.compatibleRuntimes).toEqual(['provided.al2023'])
      expect(published?.licenseInfo).toBe('PHP-3.01')
      expect(statementIds(result.region)).toEqual(['runtime-layer-action-public'])
    }
    expect(logs).toContain(`eu-west-1: published arn:aws:lambda:eu-west-1:111111111111:layer:${LAYER_NAME}:1`)
  })

  it('reuses an unchanged layer', async () => {
    await publishLayer(options())
    const rerun = await publishLayer(options())

    expect(rerun.map((result) => [result.status, result.version])).toEqual([
      ['reused', 1],
      ['reused', 1],
      ['reused', 1]
    ])
    expect(countRequests(endpoint, 'PublishLayerVersion')).toBe(3)
    expect(logs).toContain('eu-west-1: statement runtime-layer-action-public already grants version 1 to every AWS account')
  })

  it('publishes again when the zip changes', async () => {
    await publishLayer(options())
    const results = await publishLayer(options({ zip: otherZip }))

    expect(results.map((result) => [result.status, result.version])).toEqual([
      ['new', 2],
      ['new', 2],
      ['new', 2]
    ])
    expect(logs.some((line) => line.startsWith(`eu-west-1: publishing a new version because version 1 has CodeSha256 ${zip.codeSha256}`))).toBe(true)
  })

  it('publishes again when a setting changes', async () => {
    await publishLayer(options())
    const results = await publishLayer(options({ compatibleRuntimes: ['provided.al2023', 'provided.al2'] }))

    expect(results.every((result) => result.status === 'new' && result.version === 2)).toBe(true)
    expect(logs).toContain(
      'eu-west-1: publishing a new version because version 1 has CompatibleRuntimes ["provided.al2023"], not ["provided.al2023","provided.al2"]'
    )
  })

  it('compares only versions of its own architecture', async () => {
    await publishLayer(options())
    await publishLayer(options({ zip: otherZip, architecture: 'arm64' }))
    const rerun = await publishLayer(options())

    expect(rerun.map((result) => [result.status, result.version])).toEqual([
      ['reused', 1],
      ['reused', 1],
      ['reused', 1]
    ])
  })

  it('uploads a zip over 50 MB through S3', async () => {
    const largeZip = await makeLayer(workDir, 'large-layer', randomBytes(51 * 1024 * 1024))
    expect(largeZip.zipBytes).toBeGreaterThan(52_428_800)

    const results = await publishLayer(options({ zip: largeZip, regions: ['eu-west-1', 'us-east-1'], s3Bucket: 'layers-{region}' }))

    expect(results.map((result) => result.status)).toEqual(['new', 'new'])
    for (const region of ['eu-west-1', 'us-east-1']) {
      expect(countRequests(endpoint, 'PutObject', region)).toBe(1)
      expect(endpoint.getObject(`layers-${region}`, `${LAYER_NAME}/${largeZip.sha256}.zip`)?.length).toBe(largeZip.zipBytes)
      expect(endpoint.layerVersions(region, LAYER_NAME, OWNER.accountId)[0]?.codeSha256).toBe(largeZip.codeSha256)
    }
    expect(endpoint.requests.filter((request) => request.operation === 'PublishLayerVersion').map((request) => request.status)).toEqual([201, 201])
  }, 60_000)

  it('rejects a large zip without bucket', async () => {
    const tooLarge = { ...zip, zipBytes: 52_428_800 }

    await expect(publishLayer(options({ zip: tooLarge }))).rejects.toThrow(
      /is 52428800 bytes, too large for a direct upload to Lambda .* set s3-bucket to a bucket name template with \{region\}/
    )
    expect(endpoint.requests).toEqual([])
  })

  it('rejects a bucket name without {region}', async () => {
    await expect(publishLayer(options({ s3Bucket: 'one-bucket' }))).rejects.toThrow(/s3-bucket "one-bucket" has no \{region\} placeholder/)
  })

  it('rejects license info over 512 characters', async () => {
    await expect(publishLayer(options({ licenseInfo: 'x'.repeat(513) }))).rejects.toThrow(/license info is 513 characters, over Lambda's limit of 512/)
  })

  it('retries throttled calls with backoff', async () => {
    endpoint.faults.throttle({ region: 'eu-west-1', count: 3, retryAfterSeconds: 2 })

    const results = byRegion(await publishLayer(options()))

    expect(results['eu-west-1']?.status).toBe('new')
    // Retry-After (2 s) sets the floor; by the third retry the exponential delay is longer.
    expect(sleeps).toEqual([2000, 2000, 3000])
    expect(logs).toContain('eu-west-1: ListLayerVersions throttled (TooManyRequestsException: Rate exceeded), attempt 2 of 5 in 2.0 s')
    expect(logs).toContain('eu-west-1: ListLayerVersions throttled (TooManyRequestsException: Rate exceeded), attempt 4 of 5 in 3.0 s')
  })

  it('backs off exponentially without Retry-After', async () => {
    endpoint.faults.throttle({ region: 'us-east-1', count: 4, retryAfterSeconds: 0, operations: ['PublishLayerVersion'] })

    const results = byRegion(await publishLayer(options({ throttleBaseDelayMs: 100 })))

    expect(results['us-east-1']?.status).toBe('new')
    expect(sleeps).toEqual([75, 150, 300, 600])
  })

  it('fails a Region that stays throttled', async () => {
    endpoint.faults.throttle({ region: 'us-east-1' })

    const results = byRegion(await publishLayer(options({ throttleMaxAttempts: 3 })))

    expect(results['us-east-1']?.status).toBe('failed')
    expect(results['us-east-1']?.error).toBe('ListLayerVersions failed: TooManyRequestsException: Rate exceeded')
    expect(results['eu-west-1']?.status).toBe('new')
    expect(sleeps).toHaveLength(2)
    expect(logs).toContain('warning: us-east-1: ListLayerVersions failed: TooManyRequestsException: Rate exceeded')
  })

  it('reruns only the failed Region', async () => {
    const removeFault = endpoint.faults.failRegion('us-east-1', 'access-denied')

    const first = byRegion(await publishLayer(options()))
    expect(first['us-east-1']?.status).toBe('failed')
    expect(first['us-east-1']?.error).toMatch(/^ListLayerVersions failed: AccessDeniedException: User: arn:aws:iam::111111111111:root is not authorized/)
    expect(first['us-east-1']?.layerVersionArn).toBeUndefined()
    expect(first['eu-west-1']?.status).toBe('new')
    expect(first['ap-northeast-1']?.status).toBe('new')

    removeFault()
    const publishesBefore = countRequests(endpoint, 'PublishLayerVersion')
    const rerun = byRegion(await publishLayer(options()))

    expect(rerun['us-east-1']?.status).toBe('new')
    expect(rerun['eu-west-1']?.status).toBe('reused')
    expect(rerun['ap-northeast-1']?.status).toBe('reused')
    expect(countRequests(endpoint, 'PublishLayerVersion') - publishesBefore).toBe(1)
  })

  it('keeps the ARN when permission fails', async () => {
    endpoint.faults.add({ kind: 'service-error', region: 'eu-west-1', operations: ['AddLayerVersionPermission'], count: 1 })

    const first = byRegion(await publishLayer(options()))
    expect(first['eu-west-1']?.status).toBe('failed')
    expect(first['eu-west-1']?.error).toMatch(/^AddLayerVersionPermission failed: ServiceException: /)
    expect(first['eu-west-1']?.layerVersionArn).toBe(`arn:aws:lambda:eu-west-1:111111111111:layer:${LAYER_NAME}:1`)
    expect(statementIds('eu-west-1')).toEqual([])

    const rerun = byRegion(await publishLayer(options()))
    expect(rerun['eu-west-1']?.status).toBe('reused')
    expect(statementIds('eu-west-1')).toEqual(['runtime-layer-action-public'])
  })

  it('fails on a conflict that is no duplicate', async () => {
    endpoint.faults.add({ kind: 'conflict', region: 'eu-west-1', operations: ['AddLayerVersionPermission'], count: 1 })

    const results = byRegion(await publishLayer(options()))

    expect(results['eu-west-1']?.status).toBe('failed')
    expect(results['eu-west-1']?.error).toBe(
      'AddLayerVersionPermission failed: ResourceConflictException: An update is in progress for the resource in eu-west-1 (injected fault).'
    )
    expect(results['us-east-1']?.status).toBe('new')
  })

  it('lets every account read a public layer', async () => {
    const [result] = await publishLayer(options({ regions: ['eu-west-1'] }))
    const stranger = lambdaAs(STRANGER, 'eu-west-1')

    const read = await stranger.send(new GetLayerVersionByArnCommand({ Arn: result?.layerVersionArn }))
    expect(read.Content?.CodeSha256).toBe(zip.codeSha256)
    stranger.destroy()
  })

  it('shares with an organization only', async () => {
    const [result] = await publishLayer(options({ regions: ['eu-west-1'], permission: { kind: 'organization', organizationId: 'o-abcdefghij' } }))
    const [stored] = endpoint.layerVersions('eu-west-1', LAYER_NAME, OWNER.accountId)
    const colleague = lambdaAs(COLLEAGUE, 'eu-west-1')
    const stranger = lambdaAs(STRANGER, 'eu-west-1')

    expect(stored?.statements).toEqual([
      {
        Sid: 'runtime-layer-action-o-abcdefghij',
        Effect: 'Allow',
        Principal: '*',
        Action: 'lambda:GetLayerVersion',
        Resource: result?.layerVersionArn,
        Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-abcdefghij' } }
      }
    ])
    expect((await colleague.send(new GetLayerVersionByArnCommand({ Arn: result?.layerVersionArn }))).Version).toBe(1)
    await expect(stranger.send(new GetLayerVersionByArnCommand({ Arn: result?.layerVersionArn }))).rejects.toThrow(/not authorized/)
    colleague.destroy()
    stranger.destroy()
  })

  it('narrows public to an organization', async () => {
    await publishLayer(options({ regions: ['eu-west-1'] }))
    const [result] = await publishLayer(options({ regions: ['eu-west-1'], permission: { kind: 'organization', organizationId: 'o-abcdefghij' } }))

    expect(result?.status).toBe('reused')
    expect(statementIds('eu-west-1')).toEqual(['runtime-layer-action-o-abcdefghij'])
    expect(logs).toContain('eu-west-1: removed statement runtime-layer-action-public from version 1, left by an earlier permission setting')
  })

  it('private keeps foreign statements', async () => {
    await publishLayer(options({ regions: ['eu-west-1'] }))
    const owner = lambdaAs(OWNER, 'eu-west-1')
    await owner.send(
      new AddLayerVersionPermissionCommand({ LayerName: LAYER_NAME, VersionNumber: 1, StatementId: 'added-by-hand', Action: 'lambda:GetLayerVersion', Principal: '222222222222' })
    )
    owner.destroy()

    const [result] = await publishLayer(options({ regions: ['eu-west-1'], permission: { kind: 'private' } }))

    expect(result?.status).toBe('reused')
    expect(statementIds('eu-west-1')).toEqual(['added-by-hand'])
  })

  it('fails every Region with wrong credentials', async () => {
    process.env.AWS_SECRET_ACCESS_KEY = 'not-the-secret'

    const results = await publishLayer(options())

    expect(results.map((result) => result.status)).toEqual(['failed', 'failed', 'failed'])
    expect(results[0]?.error).toMatch(/^ListLayerVersions failed: InvalidSignatureException: The request signature we calculated does not match/)
    expect(countRequests(endpoint, 'PublishLayerVersion')).toBe(0)
  })

  it('publishes to 33 Regions at most 4 at a time', async () => {
    let startedRegions = 0
    let finishedRegions = 0
    let maxActiveRegions = 0
    let releaseFirstBatch: () => void = () => undefined
    const firstBatch = new Promise<void>((resolve) => {
      releaseFirstBatch = resolve
    })

    // A Region starts with ListLayerVersions and ends with AddLayerVersionPermission. The first
    // four Lists wait for each other, which proves four Regions really run at once.
    endpoint.onRequest = async (request) => {
      if (request.operation === 'ListLayerVersions') {
        startedRegions += 1
        maxActiveRegions = Math.max(maxActiveRegions, startedRegions - finishedRegions)
        if (startedRegions === 4) {
          releaseFirstBatch()
        }
        if (startedRegions <= 4) {
          await firstBatch
        }
      }
      if (request.operation === 'AddLayerVersionPermission') {
        finishedRegions += 1
      }
    }

    const results = await publishLayer(options({ regions: ALL_REGIONS, maxParallelRegions: 4 }))

    expect(results.map((result) => result.region)).toEqual(ALL_REGIONS)
    expect(results.every((result) => result.status === 'new')).toBe(true)
    expect(maxActiveRegions).toBe(4)
    expect(startedRegions).toBe(33)
    expect(finishedRegions).toBe(33)
  })

  it('calls nothing in a dry run', async () => {
    const results = await publishLayer(options({ dryRun: true }))

    expect(results.map((result) => result.status)).toEqual(['dry-run', 'dry-run', 'dry-run'])
    expect(endpoint.requests).toEqual([])
    expect(logs[0]).toBe(
      `eu-west-1: dry run, would publish ${LAYER_NAME} (x86_64, ${zip.zipBytes} bytes, CodeSha256 ${zip.codeSha256}) via direct upload, public, ` +
        'description "PHP 8.4.3 (x86_64): bcmath, intl, opcache, pdo_mysql", unless the newest version matches'
    )
  })

  it('leaves server errors to SDK retries', async () => {
    endpoint.faults.add({ kind: 'service-error', region: 'eu-west-1', operations: ['PublishLayerVersion'], count: 1 })

    const results = byRegion(await publishLayer(options({ maxAttempts: 2 })))

    expect(results['eu-west-1']?.status).toBe('new')
    expect(countRequests(endpoint, 'PublishLayerVersion', 'eu-west-1')).toBe(2)
    expect(sleeps).toEqual([])
  })
})
