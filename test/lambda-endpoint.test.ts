import { randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { chmod, mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import {
  AddLayerVersionPermissionCommand,
  DeleteLayerVersionCommand,
  GetLayerVersionByArnCommand,
  GetLayerVersionCommand,
  GetLayerVersionPolicyCommand,
  LambdaClient,
  ListLayerVersionsCommand,
  PublishLayerVersionCommand,
  RemoveLayerVersionPermissionCommand,
  type PublishLayerVersionCommandInput
} from '@aws-sdk/client-lambda'
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'

import { LocalLambdaEndpoint, type EndpointCredentials } from '../src/lambda-endpoint/index.js'
import { zipLayer, type LayerZip } from '../src/package.js'

const OWNER: EndpointCredentials = {
  accessKeyId: 'AKIAOWNER0000000001',
  secretAccessKey: 'owner-secret-key-for-tests',
  accountId: '111111111111',
  organizationId: 'o-abcdefghij'
}
const COLLEAGUE: EndpointCredentials = {
  accessKeyId: 'AKIACOLLEAGUE000002',
  secretAccessKey: 'colleague-secret-key',
  accountId: '222222222222',
  organizationId: 'o-abcdefghij'
}
const STRANGER: EndpointCredentials = {
  accessKeyId: 'AKIASTRANGER0000003',
  secretAccessKey: 'stranger-secret-key',
  sessionToken: 'stranger-session-token',
  accountId: '333333333333'
}

type SdkError = Error & { $metadata: { httpStatusCode?: number }; [field: string]: unknown }

// Catches an SDK call's rejection so a test can check its name, status and fields one by one.
async function failure(promise: Promise<unknown>): Promise<SdkError> {
  try {
    await promise
  } catch (error) {
    return error as SdkError
  }
  throw new Error('expected the call to fail, but it succeeded')
}

async function makeZip(workDir: string, name: string, extraFile: { path: string; bytes: number } | undefined = undefined): Promise<LayerZip> {
  const layerDir = join(workDir, name)
  await mkdir(join(layerDir, 'bin'), { recursive: true })
  await writeFile(join(layerDir, 'bootstrap'), `#!/bin/sh\necho ${name}\n`)
  await chmod(join(layerDir, 'bootstrap'), 0o755)
  await writeFile(join(layerDir, 'bin/php'), `php stand-in ${name}`)

  if (extraFile !== undefined) {
    await writeFile(join(layerDir, extraFile.path), '')
    await truncate(join(layerDir, extraFile.path), extraFile.bytes)
  }

  return zipLayer({ layerDir, zipPath: join(workDir, `${name}.zip`), maxUnzippedBytes: Number.MAX_SAFE_INTEGER })
}

describe('LocalLambdaEndpoint', () => {
  let workDir: string
  let zip: LayerZip
  let zipBytes: Buffer
  let endpoint: LocalLambdaEndpoint
  const clients: Array<{ destroy(): void }> = []

  function lambda(region = 'eu-west-1', credentials: EndpointCredentials = OWNER, maxAttempts = 1): LambdaClient {
    const client = new LambdaClient({ region, endpoint: endpoint.url, credentials, maxAttempts })
    clients.push(client)
    return client
  }

  function s3(region = 'eu-west-1', credentials: EndpointCredentials = OWNER): S3Client {
    const client = new S3Client({ region, endpoint: endpoint.url, credentials, forcePathStyle: true, maxAttempts: 1 })
    clients.push(client)
    return client
  }

  function publish(client: LambdaClient, input: Partial<PublishLayerVersionCommandInput> = {}) {
    return client.send(
      new PublishLayerVersionCommand({
        LayerName: 'php-84',
        Content: { ZipFile: zipBytes },
        CompatibleRuntimes: ['provided.al2023'],
        CompatibleArchitectures: ['x86_64'],
        Description: 'PHP 8.4',
        LicenseInfo: 'PHP-3.01',
        ...input
      })
    )
  }

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'lambda-endpoint-test-'))
    zip = await makeZip(workDir, 'layer')
    zipBytes = await readFile(zip.zipPath)
  })

  afterAll(async () => {
    await rm(workDir, { recursive: true, force: true })
  })

  beforeEach(async () => {
    endpoint = new LocalLambdaEndpoint({ credentials: [OWNER, COLLEAGUE, STRANGER], buckets: { 'layers-eu-west-1': 'eu-west-1' } })
    await endpoint.start()
  })

  afterEach(async () => {
    for (const client of clients.splice(0)) {
      client.destroy()
    }
    await endpoint.stop()
  })

  describe('layer versions', () => {
    it('publishes a zip and reports its CodeSha256', async () => {
      const published = await publish(lambda())

      expect(published.$metadata.httpStatusCode).toBe(201)
      expect(published.Version).toBe(1)
      expect(published.LayerArn).toBe('arn:aws:lambda:eu-west-1:111111111111:layer:php-84')
      expect(published.LayerVersionArn).toBe('arn:aws:lambda:eu-west-1:111111111111:layer:php-84:1')
      expect(published.Content?.CodeSha256).toBe(zip.codeSha256)
      expect(published.Content?.CodeSize).toBe(zip.zipBytes)
      expect(published.CompatibleRuntimes).toEqual(['provided.al2023'])
      expect(published.CompatibleArchitectures).toEqual(['x86_64'])
      expect(published.Description).toBe('PHP 8.4')
      expect(published.LicenseInfo).toBe('PHP-3.01')
      expect(published.CreatedDate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/)
    })

    it('serves the zip at Content.Location', async () => {
      const published = await publish(lambda())
      const download = await fetch(published.Content?.Location ?? '')

      expect(download.status).toBe(200)
      expect(Buffer.from(await download.arrayBuffer())).toEqual(zipBytes)
    })

    it('keeps Regions apart', async () => {
      await publish(lambda('eu-west-1'))
      await publish(lambda('eu-west-1'))
      const tokyo = await publish(lambda('ap-northeast-1'))

      expect(tokyo.Version).toBe(1)
      expect(tokyo.LayerVersionArn).toBe('arn:aws:lambda:ap-northeast-1:111111111111:layer:php-84:1')
      expect(endpoint.layerVersions('eu-west-1', 'php-84', '111111111111').map((record) => record.version)).toEqual([2, 1])
    })

    it('lists newest first with MaxItems and Marker', async () => {
      const client = lambda()
      for (let i = 0; i < 5; i++) {
        await publish(client, { Description: `build ${i}` })
      }

      const first = await client.send(new ListLayerVersionsCommand({ LayerName: 'php-84', MaxItems: 2 }))
      expect(first.LayerVersions?.map((item) => item.Version)).toEqual([5, 4])
      expect(first.NextMarker).toBeDefined()
      expect(first.LayerVersions?.[0]?.Description).toBe('build 4')

      const second = await client.send(new ListLayerVersionsCommand({ LayerName: 'php-84', MaxItems: 2, Marker: first.NextMarker }))
      expect(second.LayerVersions?.map((item) => item.Version)).toEqual([3, 2])

      const last = await client.send(new ListLayerVersionsCommand({ LayerName: 'php-84', MaxItems: 2, Marker: second.NextMarker }))
      expect(last.LayerVersions?.map((item) => item.Version)).toEqual([1])
      expect(last.NextMarker).toBeUndefined()
    })

    it('filters the list by architecture and runtime', async () => {
      const client = lambda()
      await publish(client, { CompatibleArchitectures: ['x86_64'] })
      await publish(client, { CompatibleArchitectures: ['arm64'], CompatibleRuntimes: ['provided.al2'] })

      const x86 = await client.send(new ListLayerVersionsCommand({ LayerName: 'php-84', CompatibleArchitecture: 'x86_64' }))
      const al2 = await client.send(new ListLayerVersionsCommand({ LayerName: 'php-84', CompatibleRuntime: 'provided.al2' }))

      expect(x86.LayerVersions?.map((item) => item.Version)).toEqual([1])
      expect(al2.LayerVersions?.map((item) => item.Version)).toEqual([2])
    })

    it('lists an unknown layer as empty', async () => {
      const listed = await lambda().send(new ListLayerVersionsCommand({ LayerName: 'never-published' }))

      expect(listed.LayerVersions).toEqual([])
    })

    it('gets a version by number and by ARN', async () => {
      const published = await publish(lambda())

      const byNumber = await lambda().send(new GetLayerVersionCommand({ LayerName: 'php-84', VersionNumber: 1 }))
      const byArn = await lambda().send(new GetLayerVersionByArnCommand({ Arn: published.LayerVersionArn }))

      expect(byNumber.Content?.CodeSha256).toBe(zip.codeSha256)
      expect(byArn.LayerVersionArn).toBe(published.LayerVersionArn)
      expect(byArn.Content?.CodeSha256).toBe(zip.codeSha256)
    })

    it('accepts a layer ARN as LayerName', async () => {
      await publish(lambda())

      const version = await lambda().send(
        new GetLayerVersionCommand({ LayerName: 'arn:aws:lambda:eu-west-1:111111111111:layer:php-84', VersionNumber: 1 })
      )
      expect(version.Version).toBe(1)
    })

    it('answers 404 for a missing version', async () => {
      const error = await failure(lambda().send(new GetLayerVersionCommand({ LayerName: 'php-84', VersionNumber: 7 })))

      expect(error.name).toBe('ResourceNotFoundException')
      expect(error.$metadata.httpStatusCode).toBe(404)
      expect(error.message).toBe('The resource you requested does not exist.')
    })

    it('deletes a version without reusing its number', async () => {
      const client = lambda()
      await publish(client)
      await client.send(new DeleteLayerVersionCommand({ LayerName: 'php-84', VersionNumber: 1 }))
      const next = await publish(client)

      expect(next.Version).toBe(2)
      expect(endpoint.layerVersions('eu-west-1', 'php-84', '111111111111').map((record) => record.version)).toEqual([2])
    })
  })

  describe('input validation', () => {
    it('reports every violated constraint at once', async () => {
      const error = await failure(
        publish(lambda(), {
          LayerName: 'php.84',
          Description: 'd'.repeat(257),
          LicenseInfo: 'l'.repeat(513),
          CompatibleArchitectures: ['x86_64', 'arm64', 'x86_64'] as never,
          CompatibleRuntimes: Array.from({ length: 16 }, () => 'provided.al2023') as never
        })
      )

      expect(error.name).toBe('ValidationException')
      expect(error.$metadata.httpStatusCode).toBe(400)
      expect(error.message).toMatch(/^5 validation errors detected: /)
      expect(error.message).toContain("Value 'php.84' at 'layerName' failed to satisfy constraint: Member must satisfy regular expression pattern")
      expect(error.message).toContain("at 'description' failed to satisfy constraint: Member must have length less than or equal to 256")
      expect(error.message).toContain("at 'licenseInfo' failed to satisfy constraint: Member must have length less than or equal to 512")
      expect(error.message).toContain("at 'compatibleArchitectures' failed to satisfy constraint: Member must have length less than or equal to 2")
      expect(error.message).toContain("at 'compatibleRuntimes' failed to satisfy constraint: Member must have length less than or equal to 15")
    })

    it('rejects an unknown architecture and runtime', async () => {
      const error = await failure(publish(lambda(), { CompatibleArchitectures: ['mips'] as never, CompatibleRuntimes: ['php8.4'] as never }))

      expect(error.name).toBe('ValidationException')
      expect(error.message).toContain("Value '[mips]' at 'compatibleArchitectures' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]")
      expect(error.message).toContain("Value '[php8.4]' at 'compatibleRuntimes'")
    })

    it('accepts the limits exactly', async () => {
      const published = await publish(lambda(), {
        LayerName: 'l'.repeat(140),
        Description: 'd'.repeat(256),
        LicenseInfo: 'l'.repeat(512),
        CompatibleArchitectures: ['x86_64', 'arm64']
      })

      expect(published.Version).toBe(1)
    })

    it('rejects a body that is not a zip', async () => {
      const error = await failure(publish(lambda(), { Content: { ZipFile: Buffer.from('not a zip archive') } }))

      expect(error.name).toBe('InvalidParameterValueException')
      expect(error.message).toBe('Could not unzip uploaded file. Please check your file, then try to upload again.')
    })

    it('rejects content without a source', async () => {
      const error = await failure(publish(lambda(), { Content: {} }))

      expect(error.name).toBe('InvalidParameterValueException')
      expect(error.message).toContain('Content must contain ZipFile, or both S3Bucket and S3Key')
    })

    it('rejects a layer over 250 MB unzipped', async () => {
      const sparse = await makeZip(workDir, 'sparse', { path: 'bin/huge', bytes: 262_144_001 })
      const error = await failure(publish(lambda(), { Content: { ZipFile: await readFile(sparse.zipPath) } }))

      expect(error.name).toBe('InvalidParameterValueException')
      expect(error.message).toBe('Unzipped size must be smaller than 262144000 bytes')
    })

    it('rejects a direct upload over 50 MB', async () => {
      const error = await failure(publish(lambda(), { Content: { ZipFile: randomBytes(52_500_000) } }))

      expect(error.name).toBe('RequestEntityTooLargeException')
      expect(error.$metadata.httpStatusCode).toBe(413)
      expect(error.message).toBe('Request must be smaller than 69905067 bytes for the PublishLayerVersion operation')
    })

    it('rejects bad permission fields', async () => {
      await publish(lambda())
      const error = await failure(
        lambda().send(
          new AddLayerVersionPermissionCommand({
            LayerName: 'php-84',
            VersionNumber: 1,
            StatementId: 'has spaces',
            Action: 'lambda:GetLayerVersion',
            Principal: 'everyone',
            OrganizationId: 'org-1'
          })
        )
      )

      expect(error.name).toBe('ValidationException')
      expect(error.message).toMatch(/^3 validation errors detected: /)
      expect(error.message).toContain("Value 'has spaces' at 'statementId'")
      expect(error.message).toContain("Value 'everyone' at 'principal'")
      expect(error.message).toContain("Value 'org-1' at 'organizationId'")
    })

    it('rejects MaxItems over 50', async () => {
      const error = await failure(lambda().send(new ListLayerVersionsCommand({ LayerName: 'php-84', MaxItems: 51 })))

      expect(error.name).toBe('ValidationException')
      expect(error.message).toContain("Value '51' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 50")
    })
  })

  describe('layer version permissions', () => {
    it('answers 409 for a repeated statement id', async () => {
      await publish(lambda())
      const input = { LayerName: 'php-84', VersionNumber: 1, StatementId: 'public', Action: 'lambda:GetLayerVersion', Principal: '*' }

      const added = await lambda().send(new AddLayerVersionPermissionCommand(input))
      expect(added.$metadata.httpStatusCode).toBe(201)
      expect(JSON.parse(added.Statement ?? '')).toEqual({
        Sid: 'public',
        Effect: 'Allow',
        Principal: '*',
        Action: 'lambda:GetLayerVersion',
        Resource: 'arn:aws:lambda:eu-west-1:111111111111:layer:php-84:1'
      })

      const again = await failure(lambda().send(new AddLayerVersionPermissionCommand(input)))
      expect(again.name).toBe('ResourceConflictException')
      expect(again.$metadata.httpStatusCode).toBe(409)
      expect(again.message).toContain('The statement id (public) provided already exists')
    })

    it('returns the policy document', async () => {
      await publish(lambda())
      await lambda().send(
        new AddLayerVersionPermissionCommand({
          LayerName: 'php-84',
          VersionNumber: 1,
          StatementId: 'org',
          Action: 'lambda:GetLayerVersion',
          Principal: '*',
          OrganizationId: 'o-abcdefghij'
        })
      )
      await lambda().send(
        new AddLayerVersionPermissionCommand({ LayerName: 'php-84', VersionNumber: 1, StatementId: 'one', Action: 'lambda:GetLayerVersion', Principal: '333333333333' })
      )

      const policy = await lambda().send(new GetLayerVersionPolicyCommand({ LayerName: 'php-84', VersionNumber: 1 }))
      const document = JSON.parse(policy.Policy ?? '') as { Version: string; Statement: unknown[] }

      expect(document.Version).toBe('2012-10-17')
      expect(document.Statement).toEqual([
        expect.objectContaining({ Sid: 'org', Principal: '*', Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-abcdefghij' } } }),
        expect.objectContaining({ Sid: 'one', Principal: { AWS: 'arn:aws:iam::333333333333:root' } })
      ])
      expect(policy.RevisionId).toMatch(/^[0-9a-f-]{36}$/)
    })

    it('answers 404 for a version without a policy', async () => {
      await publish(lambda())
      const error = await failure(lambda().send(new GetLayerVersionPolicyCommand({ LayerName: 'php-84', VersionNumber: 1 })))

      expect(error.name).toBe('ResourceNotFoundException')
    })

    it('checks the RevisionId precondition', async () => {
      await publish(lambda())
      const error = await failure(
        lambda().send(
          new AddLayerVersionPermissionCommand({
            LayerName: 'php-84',
            VersionNumber: 1,
            StatementId: 'public',
            Action: 'lambda:GetLayerVersion',
            Principal: '*',
            RevisionId: 'stale-revision'
          })
        )
      )

      expect(error.name).toBe('PreconditionFailedException')
      expect(error.$metadata.httpStatusCode).toBe(412)
    })

    it('limits cross-account reads to the policy', async () => {
      const published = await publish(lambda())
      const arn = published.LayerVersionArn

      const denied = await failure(lambda('eu-west-1', COLLEAGUE).send(new GetLayerVersionByArnCommand({ Arn: arn })))
      expect(denied.name).toBe('AccessDeniedException')
      expect(denied.$metadata.httpStatusCode).toBe(403)

      await lambda().send(
        new AddLayerVersionPermissionCommand({
          LayerName: 'php-84',
          VersionNumber: 1,
          StatementId: 'org',
          Action: 'lambda:GetLayerVersion',
          Principal: '*',
          OrganizationId: 'o-abcdefghij'
        })
      )
      const colleague = await lambda('eu-west-1', COLLEAGUE).send(new GetLayerVersionByArnCommand({ Arn: arn }))
      expect(colleague.Content?.CodeSha256).toBe(zip.codeSha256)

      const stranger = await failure(lambda('eu-west-1', STRANGER).send(new GetLayerVersionByArnCommand({ Arn: arn })))
      expect(stranger.name).toBe('AccessDeniedException')

      await lambda().send(new RemoveLayerVersionPermissionCommand({ LayerName: 'php-84', VersionNumber: 1, StatementId: 'org' }))
      await lambda().send(
        new AddLayerVersionPermissionCommand({ LayerName: 'php-84', VersionNumber: 1, StatementId: 'public', Action: 'lambda:GetLayerVersion', Principal: '*' })
      )
      const publicRead = await lambda('eu-west-1', STRANGER).send(new GetLayerVersionByArnCommand({ Arn: arn }))
      expect(publicRead.Version).toBe(1)
    })

    it('refuses changes to another account’s layer', async () => {
      await publish(lambda())
      const error = await failure(
        lambda('eu-west-1', COLLEAGUE).send(new DeleteLayerVersionCommand({ LayerName: 'arn:aws:lambda:eu-west-1:111111111111:layer:php-84', VersionNumber: 1 }))
      )

      expect(error.name).toBe('AccessDeniedException')
      expect(endpoint.layerVersions('eu-west-1', 'php-84', '111111111111')).toHaveLength(1)
    })
  })

  describe('signatures', () => {
    it('rejects an unsigned request', async () => {
      const response = await fetch(`${endpoint.url}/2018-10-31/layers/php-84/versions`)

      expect(response.status).toBe(403)
      expect(response.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException')
      expect(await response.json()).toEqual({ Type: 'User', message: 'Missing Authentication Token' })
    })

    it('rejects an unsigned S3 upload', async () => {
      const response = await fetch(`${endpoint.url}/layers-eu-west-1/layer.zip`, { method: 'PUT', body: 'zip' })

      expect(response.status).toBe(403)
      expect(await response.text()).toContain('<Code>AccessDenied</Code>')
      expect(endpoint.getObject('layers-eu-west-1', 'layer.zip')).toBeUndefined()
    })

    it('rejects a wrong secret key', async () => {
      const client = lambda('eu-west-1', { ...OWNER, secretAccessKey: 'not-the-secret' })
      const error = await failure(client.send(new ListLayerVersionsCommand({ LayerName: 'php-84' })))

      expect(error.name).toBe('InvalidSignatureException')
      expect(error.$metadata.httpStatusCode).toBe(403)
    })

    it('rejects an unknown access key', async () => {
      const client = lambda('eu-west-1', { accessKeyId: 'AKIAUNKNOWN00000000', secretAccessKey: 'x' })
      const error = await failure(client.send(new ListLayerVersionsCommand({ LayerName: 'php-84' })))

      expect(error.name).toBe('UnrecognizedClientException')
      expect(error.message).toBe('The security token included in the request is invalid.')
    })

    it('requires the configured session token', async () => {
      const withoutToken = lambda('eu-west-1', { accessKeyId: STRANGER.accessKeyId, secretAccessKey: STRANGER.secretAccessKey })
      const error = await failure(withoutToken.send(new ListLayerVersionsCommand({ LayerName: 'php-84' })))
      expect(error.name).toBe('UnrecognizedClientException')

      const listed = await lambda('eu-west-1', STRANGER).send(new ListLayerVersionsCommand({ LayerName: 'php-84' }))
      expect(listed.LayerVersions).toEqual([])
    })

    it('rejects a tampered body', async () => {
      endpoint.onRequest = () => {
        throw new Error('a tampered request must not reach the handler')
      }
      const client = lambda()
      // The deserialize step runs after signing, just before the request is sent.
      client.middlewareStack.add(
        (next) => async (args) => {
          const request = args.request as { body: Uint8Array | string }
          request.body = new TextDecoder().decode(request.body as Uint8Array).replace('PHP 8.4', 'PHP 6.0')
          return next(args)
        },
        { step: 'deserialize', name: 'tamperAfterSigning' }
      )

      const error = await failure(publish(client))
      expect(error.name).toBe('InvalidSignatureException')
    })

    it('rejects an expired signature', async () => {
      await endpoint.stop()
      endpoint = new LocalLambdaEndpoint({ credentials: [OWNER], now: () => new Date(Date.now() + 6 * 60_000) })
      await endpoint.start()

      const error = await failure(lambda().send(new ListLayerVersionsCommand({ LayerName: 'php-84' })))
      expect(error.name).toBe('InvalidSignatureException')
      expect(error.message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/)
    })

    it('sends a Date header for skew correction', async () => {
      await endpoint.stop()
      endpoint = new LocalLambdaEndpoint({ credentials: [OWNER], now: () => new Date(Date.now() + 6 * 60_000) })
      await endpoint.start()

      const listed = await lambda('eu-west-1', OWNER, 2).send(new ListLayerVersionsCommand({ LayerName: 'php-84' }))
      expect(listed.LayerVersions).toEqual([])
    })

    it('rejects a signature scoped to another service', async () => {
      const client = lambda()
      // Sends a request signed for service lambda to an S3 path: the build step runs before signing.
      client.middlewareStack.add(
        (next) => async (args) => {
          const request = args.request as { method: string; path: string; query: Record<string, string> }
          request.method = 'PUT'
          request.path = '/layers-eu-west-1/redirected.zip'
          request.query = {}
          return next(args)
        },
        { step: 'build', name: 'redirectToS3Path' }
      )

      await failure(client.send(new ListLayerVersionsCommand({ LayerName: 'php-84' })))
      expect(endpoint.requests.at(-1)).toEqual(
        expect.objectContaining({ service: 's3', path: '/layers-eu-west-1/redirected.zip', status: 400, errorCode: 'AuthorizationHeaderMalformed' })
      )
      expect(endpoint.getObject('layers-eu-west-1', 'redirected.zip')).toBeUndefined()
    })
  })

  describe('S3', () => {
    it('stores an object and publishes a layer from it', async () => {
      await s3().send(new PutObjectCommand({ Bucket: 'layers-eu-west-1', Key: 'php/layer.zip', Body: zipBytes }))
      const published = await publish(lambda(), { Content: { S3Bucket: 'layers-eu-west-1', S3Key: 'php/layer.zip' } })

      expect(endpoint.getObject('layers-eu-west-1', 'php/layer.zip')).toEqual(zipBytes)
      expect(published.Content?.CodeSha256).toBe(zip.codeSha256)
    })

    it('decodes an aws-chunked streaming upload', async () => {
      const stored = await s3().send(
        new PutObjectCommand({ Bucket: 'layers-eu-west-1', Key: 'streamed.zip', Body: createReadStream(zip.zipPath), ContentLength: zip.zipBytes })
      )
      const read = await s3().send(new GetObjectCommand({ Bucket: 'layers-eu-west-1', Key: 'streamed.zip' }))

      expect(stored.ETag).toMatch(/^"[0-9a-f]{32}"$/)
      expect(endpoint.getObject('layers-eu-west-1', 'streamed.zip')).toEqual(zipBytes)
      expect(Buffer.from(await read.Body?.transformToByteArray() ?? [])).toEqual(zipBytes)
    })

    it('rejects a wrong CRC32', async () => {
      const error = await failure(s3().send(new PutObjectCommand({ Bucket: 'layers-eu-west-1', Key: 'bad.zip', Body: zipBytes, ChecksumCRC32: 'AAAAAA==' })))

      expect(error.name).toBe('BadDigest')
      expect(endpoint.getObject('layers-eu-west-1', 'bad.zip')).toBeUndefined()
    })

    it('rejects PutObject signed for another Region', async () => {
      const error = await failure(s3('us-east-1').send(new PutObjectCommand({ Bucket: 'layers-eu-west-1', Key: 'x.zip', Body: zipBytes })))

      expect(error.name).toBe('AuthorizationHeaderMalformed')
      expect(error.message).toContain("the region 'us-east-1' is wrong; expecting 'eu-west-1'")
    })

    it('rejects an unknown bucket', async () => {
      const error = await failure(s3().send(new PutObjectCommand({ Bucket: 'no-such-bucket', Key: 'x.zip', Body: zipBytes })))

      expect(error.name).toBe('NoSuchBucket')
      expect(error.$metadata.httpStatusCode).toBe(404)
    })

    it('rejects publishing from another Region', async () => {
      endpoint.createBucket('layers-us-east-1', 'us-east-1')
      await s3('us-east-1').send(new PutObjectCommand({ Bucket: 'layers-us-east-1', Key: 'layer.zip', Body: zipBytes }))

      const error = await failure(publish(lambda('eu-west-1'), { Content: { S3Bucket: 'layers-us-east-1', S3Key: 'layer.zip' } }))
      expect(error.name).toBe('InvalidParameterValueException')
      expect(error.message).toBe(
        'Error occurred while GetObject. S3 Error Code: PermanentRedirect. S3 Error Message: The bucket is in this region: us-east-1. Please use this region to retry the request'
      )
    })

    it('rejects a missing S3 key', async () => {
      const error = await failure(publish(lambda(), { Content: { S3Bucket: 'layers-eu-west-1', S3Key: 'missing.zip' } }))

      expect(error.name).toBe('InvalidParameterValueException')
      expect(error.message).toContain('S3 Error Code: NoSuchKey')
    })
  })

  describe('fault injection', () => {
    it('throttles the next calls with Retry-After', async () => {
      endpoint.faults.throttle({ count: 2, retryAfterSeconds: 7 })
      const client = lambda()

      const first = await failure(client.send(new ListLayerVersionsCommand({ LayerName: 'php-84' })))
      expect(first.name).toBe('TooManyRequestsException')
      expect(first.$metadata.httpStatusCode).toBe(429)
      expect(first.retryAfterSeconds).toBe('7')
      expect(first.Reason).toBe('CallerRateLimitExceeded')

      await failure(client.send(new ListLayerVersionsCommand({ LayerName: 'php-84' })))
      const third = await client.send(new ListLayerVersionsCommand({ LayerName: 'php-84' }))
      expect(third.LayerVersions).toEqual([])
    })

    it('throttles past a rate per Region', async () => {
      let now = new Date('2026-01-01T00:00:00.200Z')
      await endpoint.stop()
      endpoint = new LocalLambdaEndpoint({ credentials: [OWNER], now: () => now })
      await endpoint.start()
      endpoint.faults.throttle({ requestsPerSecond: 2 })

      // Clients sign with the real clock; a skew check against the fake one would reject them.
      const outcomes: string[] = []
      const client = new LambdaClient({ region: 'eu-west-1', endpoint: endpoint.url, credentials: OWNER, maxAttempts: 1, systemClockOffset: now.getTime() - Date.now() })
      clients.push(client)
      for (let i = 0; i < 3; i++) {
        outcomes.push(await client.send(new ListLayerVersionsCommand({ LayerName: 'php-84' })).then(() => 'ok', (error: Error) => error.name))
      }
      now = new Date('2026-01-01T00:00:01.100Z')
      outcomes.push(await client.send(new ListLayerVersionsCommand({ LayerName: 'php-84' })).then(() => 'ok', (error: Error) => error.name))

      expect(outcomes).toEqual(['ok', 'ok', 'TooManyRequestsException', 'ok'])
    })

    it('fails one Region until cleared', async () => {
      endpoint.faults.failRegion('eu-west-1')

      const failed = await failure(publish(lambda('eu-west-1')))
      expect(failed.name).toBe('ServiceException')
      expect(failed.$metadata.httpStatusCode).toBe(500)

      const other = await publish(lambda('eu-central-1'))
      expect(other.Version).toBe(1)

      endpoint.faults.clear('eu-west-1')
      expect((await publish(lambda('eu-west-1'))).Version).toBe(1)
    })

    it('denies one operation in one Region', async () => {
      endpoint.faults.add({ kind: 'access-denied', region: 'eu-west-1', operations: ['PublishLayerVersion'] })

      const denied = await failure(publish(lambda()))
      expect(denied.name).toBe('AccessDeniedException')
      expect(denied.$metadata.httpStatusCode).toBe(403)

      const listed = await lambda().send(new ListLayerVersionsCommand({ LayerName: 'php-84' }))
      expect(listed.LayerVersions).toEqual([])
    })

    it('slows down S3 with SlowDown', async () => {
      endpoint.faults.throttle({ service: 's3', count: 1 })

      const error = await failure(s3().send(new PutObjectCommand({ Bucket: 'layers-eu-west-1', Key: 'x.zip', Body: zipBytes })))
      expect(error.name).toBe('SlowDown')
      expect(error.$metadata.httpStatusCode).toBe(503)
    })

    it('lets the SDK retry a single server error', async () => {
      endpoint.faults.add({ kind: 'service-error', count: 1 })

      const listed = await lambda('eu-west-1', OWNER, 2).send(new ListLayerVersionsCommand({ LayerName: 'php-84' }))
      expect(listed.$metadata.attempts).toBe(2)
    })
  })

  it('records every request', async () => {
    await publish(lambda())
    await fetch(`${endpoint.url}/2018-10-31/layers/php-84/versions`)

    expect(endpoint.requests).toEqual([
      expect.objectContaining({ service: 'lambda', method: 'POST', region: 'eu-west-1', operation: 'PublishLayerVersion', status: 201 }),
      expect.objectContaining({ service: 'lambda', method: 'GET', operation: 'ListLayerVersions', status: 403, errorCode: 'MissingAuthenticationTokenException' })
    ])
  })
})
