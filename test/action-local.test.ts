// Runs the whole action with @github/local-action, as a workflow would, against the local Lambda
// endpoint and a local GitHub API stand-in. AWS and GitHub cannot be reached from here, so these
// two stand in for them; the AWS SDK, Octokit and the action's code are the real ones.
import { execFile } from 'node:child_process'
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

import { LocalLambdaEndpoint, type EndpointCredentials } from '../src/lambda-endpoint/index.js'
import { writeLayerInfo } from '../src/layer-info.js'
import { zipLayer } from '../src/package.js'
import { NOTES_END_MARKER, NOTES_START_MARKER } from '../src/release.js'
import { GitHubApiStandIn } from './support/github-api.js'
import { PhpNetStandIn } from './support/php-net.js'

const run = promisify(execFile)

const CREDENTIALS: EndpointCredentials = { accessKeyId: 'AKIALOCALACTION00001', secretAccessKey: 'local-action-secret', accountId: '123456789012' }
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2']
const TOKEN = 'ghs_localactiontoken'
const REPOSITORY = 'octo-org/php-layers'

interface ActionRun {
  stdout: string
  outputs: Record<string, string>
  failed: boolean
}

describe('action run with local-action', () => {
  let workDir: string
  let zipPath: string
  let lambda: LocalLambdaEndpoint
  let github: GitHubApiStandIn

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'action-local-'))

    const layerDir = join(workDir, 'layer')
    await mkdir(join(layerDir, 'bin'), { recursive: true })
    await writeFile(join(layerDir, 'bootstrap'), '#!/bin/sh\nexec /opt/bin/php /opt/php/runtime/runtime.php\n')
    await chmod(join(layerDir, 'bootstrap'), 0o755)
    await writeFile(join(layerDir, 'bin', 'php'), '#!/bin/sh\necho "PHP stand-in binary"\n')
    await chmod(join(layerDir, 'bin', 'php'), 0o755)
    await writeLayerInfo(layerDir, { phpVersion: '8.3.14', architecture: 'x86_64', extensions: ['curl', 'mbstring'] })
    zipPath = (await zipLayer({ layerDir, zipPath: join(workDir, 'php-8.3.14-x86_64.zip') })).zipPath

    lambda = new LocalLambdaEndpoint({ credentials: [CREDENTIALS] })
    await lambda.start()
    github = new GitHubApiStandIn({ token: TOKEN, repository: REPOSITORY })
    await github.start()
  })

  afterAll(async () => {
    await lambda.stop()
    await github.stop()
    await rm(workDir, { recursive: true, force: true })
  })

  async function runAction(inputs: Record<string, string>): Promise<ActionRun> {
    const outputFile = join(workDir, `output-${Date.now()}`)
    await writeFile(outputFile, '')
    const env: Record<string, string> = {
      ...Object.fromEntries(Object.entries(inputs).map(([name, value]) => [`INPUT_${name.toUpperCase()}`, value])),
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      GITHUB_WORKSPACE: workDir,
      GITHUB_REPOSITORY: REPOSITORY,
      GITHUB_API_URL: github.url,
      GITHUB_OUTPUT: outputFile
    }
    const envFile = join(workDir, `.env-${Date.now()}`)
    await writeFile(envFile, Object.entries(env).map(([name, value]) => `${name}=${JSON.stringify(value)}`).join('\n'))

    let stdout: string
    let failed = false
    try {
      stdout = (await run('npx', ['local-action', 'run', '.', 'src/main.ts', envFile], { cwd: process.cwd(), env: cleanEnv(), maxBuffer: 16 * 1024 * 1024 })).stdout
    } catch (error) {
      stdout = (error as { stdout?: string }).stdout ?? String(error)
      failed = true
    }

    return { stdout, outputs: parseOutputs(stdout), failed: failed || stdout.includes('::error::') }
  }

  it('publishes to several regions and prints the ARN table', async () => {
    const result = await runAction({
      mode: 'publish',
      'layer-zip': zipPath,
      regions: REGIONS.join(', '),
      'lambda-endpoint-url': lambda.url
    })

    expect(result.failed).toBe(false)
    for (const region of REGIONS) {
      expect(result.stdout).toMatch(new RegExp(`\\| ${region} +\\| x86_64 +\\| \`arn:aws:lambda:${region}:123456789012:layer:php-8_3-x86_64:1\` +\\| 1 +\\| new`))
      expect(lambda.layerVersions(region, 'php-8_3-x86_64')).toHaveLength(1)
    }
    expect(result.outputs['php-version']).toBe('8.3.14')
    expect(JSON.parse(result.outputs.layers ?? '[]')).toHaveLength(3)
  })

  it('reuses the layer on a rerun and writes the release', async () => {
    const inputs = {
      mode: 'publish',
      'layer-zip': zipPath,
      regions: REGIONS.join(', '),
      'lambda-endpoint-url': lambda.url,
      release: 'true',
      'github-token': TOKEN,
      tag: 'v1.0.0'
    }

    const first = await runAction(inputs)
    expect(first.failed).toBe(false)
    expect(first.stdout).toMatch(/\| us-east-1 +\| x86_64 +\| `arn:aws:lambda:us-east-1:123456789012:layer:php-8_3-x86_64:1` +\| 1 +\| reused/)

    const release = github.findRelease('v1.0.0')
    expect(release).toBeDefined()
    expect(release!.assets.map((asset) => asset.name).sort()).toEqual(['SHA256SUMS', 'php-8.3.14-x86_64.zip'])
    expect(release!.body).toContain(NOTES_START_MARKER)
    expect(release!.body).toContain('arn:aws:lambda:eu-west-1:123456789012:layer:php-8_3-x86_64:1')

    const second = await runAction(inputs)
    expect(second.failed).toBe(false)
    const rewritten = github.findRelease('v1.0.0')!
    expect(rewritten.body.split(NOTES_START_MARKER)).toHaveLength(2)
    expect(rewritten.body.split(NOTES_END_MARKER)).toHaveLength(2)
    expect(rewritten.assets.filter((asset) => asset.name === 'SHA256SUMS')).toHaveLength(1)

    const sums = rewritten.assets.find((asset) => asset.name === 'SHA256SUMS')!.content.toString('utf8')
    const zipSha256 = (await run('sha256sum', [zipPath])).stdout.split(' ')[0]
    expect(sums).toBe(`${zipSha256}  php-8.3.14-x86_64.zip\n`)
  })

  it('fails naming every invalid input', async () => {
    const result = await runAction({ mode: 'publish', 'layer-zip': zipPath, regions: 'us-east-1, mars-north-1', architectures: 'sparc' })

    expect(result.failed).toBe(true)
    expect(result.stdout).toContain('mars-north-1')
    expect(result.stdout).toContain('sparc')
    expect(lambda.requests.filter((request) => request.region === 'mars-north-1')).toHaveLength(0)
  })

  it('reports a failed region and publishes it on rerun', async () => {
    const inputs = { mode: 'publish', 'layer-zip': zipPath, regions: 'us-west-2, eu-central-1', 'lambda-endpoint-url': lambda.url }
    const clear = lambda.faults.failRegion('eu-central-1')

    const first = await runAction(inputs)
    expect(first.failed).toBe(true)
    expect(first.stdout).toMatch(/Publishing failed in 1 Region\(s\): eu-central-1 \(x86_64\)/)
    expect(lambda.layerVersions('us-west-2', 'php-8_3-x86_64')).toHaveLength(1)
    expect(lambda.layerVersions('eu-central-1', 'php-8_3-x86_64')).toHaveLength(0)

    clear()
    const second = await runAction(inputs)
    expect(second.failed).toBe(false)
    expect(second.stdout).toMatch(/\| us-west-2 +\| x86_64 +\| \S+ +\| 1 +\| reused/)
    expect(second.stdout).toMatch(/\| eu-central-1 +\| x86_64 +\| \S+ +\| 1 +\| new/)
  })

  it('check mode compares with the published layer', async () => {
    const phpNet = new PhpNetStandIn({ releases: [{ version: '8.3.14', sha256: { 'tar.xz': 'a'.repeat(64) } }] })
    await phpNet.start()
    const inputs = { mode: 'check', 'php-version': '8.3', regions: 'us-east-1', 'php-net-url': phpNet.baseUrl, 'lambda-endpoint-url': lambda.url }

    try {
      const current = await runAction(inputs)
      expect(current.failed).toBe(false)
      expect(current.outputs['update-available']).toBe('false')
      expect(current.outputs['php-version']).toBe('8.3.14')

      phpNet.addRelease({ version: '8.3.15', sha256: { 'tar.xz': 'b'.repeat(64) } })
      const newer = await runAction(inputs)
      expect(newer.failed).toBe(false)
      expect(newer.outputs['update-available']).toBe('true')
      expect(newer.outputs['php-version']).toBe('8.3.15')
    } finally {
      await phpNet.stop()
    }
  })

  it('rejects a zip without a manifest', async () => {
    const bare = join(workDir, 'bare')
    await mkdir(bare, { recursive: true })
    await writeFile(join(bare, 'bootstrap'), '#!/bin/sh\n')
    await chmod(join(bare, 'bootstrap'), 0o755)
    const zip = await zipLayer({ layerDir: bare, zipPath: join(workDir, 'bare.zip') })

    const result = await runAction({ mode: 'publish', 'layer-zip': zip.zipPath, regions: 'us-east-1', 'lambda-endpoint-url': lambda.url })

    expect(result.failed).toBe(true)
    expect(result.stdout).toContain('has no php/layer.json')
  })
})

/** The child gets only what it needs: PATH and HOME, never this process's AWS or GitHub settings. */
function cleanEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, NODE_OPTIONS: '' }
}

/** Reads `::set-output name=X::value` lines; a value runs until the next workflow command or blank line. */
function parseOutputs(stdout: string): Record<string, string> {
  const outputs: Record<string, string> = {}
  const pattern = /^::set-output name=([\w-]+)::([\s\S]*?)(?=\n::|\n\n|$)/gm
  for (const match of stdout.matchAll(pattern)) {
    outputs[match[1]!] = match[2]!
  }
  return outputs
}
