// Runs the action's main job on this machine, end to end: resolve and verify the PHP source,
// build the layer natively, smoke-test it in a bare root, zip it, publish it, and print the ARN
// table and the release notes. It runs dist/index.js, the bundle a workflow runs, with the
// inputs a workflow would give, so it exercises the action's own code path.
//
//   npm run demo                     publish to an embedded local Lambda endpoint
//   npm run demo -- --aws            publish to AWS with the SDK's default credentials
//   npm run demo -- --help
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'

import { LocalLambdaEndpoint, type EndpointCredentials } from '../src/lambda-endpoint/index.js'
import { readLayerInfoFromZip } from '../src/layer-info.js'
import { replaceMarkedSection } from '../src/release.js'
import { renderReportMarkdown, type LayerResult } from '../src/report.js'
import { parseVersionSpec, resolvePhpRelease } from '../src/resolve.js'

const repoRoot = resolve(import.meta.dirname, '..')
const cacheDir = join(repoRoot, '.cache')

const USAGE = `Usage: npm run demo -- [options]

Builds a PHP layer from upstream source on this machine and publishes it, using the action's
own stages (dist/index.js).

Options:
  --php-version SPEC   PHP version: 8.2, 8.2.32 or latest (default 8.2)
  --extensions LIST    extensions, comma-separated (default: default)
  --regions LIST       Regions to publish to (default us-east-1,eu-west-1,ap-southeast-2)
  --source WHERE       auto (php.net, else Debian's source archive), php.net or debian (default auto)
  --php-net-url URL    php.net or a mirror (default https://www.php.net)
  --aws                publish to AWS for real, with the SDK's default credentials
  --help               show this text
`

interface DemoOptions {
  phpVersion: string
  extensions: string
  regions: string
  source: 'auto' | 'php.net' | 'debian'
  phpNetUrl: string
  aws: boolean
}

interface LocalSource {
  tarball: string
  keyring: string
  version: string
}

const LOCAL_CREDENTIALS: EndpointCredentials = {
  accessKeyId: 'AKIALOCALDEMO0000001',
  secretAccessKey: 'local-demo-secret-key',
  accountId: '123456789012'
}

async function main(): Promise<number> {
  const options = readOptions()
  const started = Date.now()

  announce('System packages')
  await runCommand('sh', [join(repoRoot, 'scripts', 'install-system-packages.sh')])

  announce('PHP source')
  const local = await chooseSource(options)

  const endpoint = options.aws ? undefined : await startLocalEndpoint()
  try {
    announce(endpoint === undefined ? 'Action (publishing to AWS)' : `Action (publishing to the local Lambda endpoint ${endpoint.url})`)
    const outputs = await runAction(options, local, endpoint)

    announce('Result')
    await printResult(outputs)
    console.log(`\nDone in ${Math.round((Date.now() - started) / 1000)} s.`)
    return outputs.failed ? 1 : 0
  } finally {
    await endpoint?.stop()
  }
}

function readOptions(): DemoOptions {
  const { values } = parseArgs({
    options: {
      'php-version': { type: 'string', default: '8.2' },
      extensions: { type: 'string', default: 'default' },
      regions: { type: 'string', default: 'us-east-1,eu-west-1,ap-southeast-2' },
      source: { type: 'string', default: 'auto' },
      'php-net-url': { type: 'string', default: 'https://www.php.net' },
      aws: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false }
    }
  })

  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }

  const source = values.source
  if (source !== 'auto' && source !== 'php.net' && source !== 'debian') {
    throw new Error(`--source "${source}" is invalid; use auto, php.net or debian`)
  }

  return {
    phpVersion: values['php-version'],
    extensions: values.extensions,
    regions: values.regions,
    source,
    phpNetUrl: values['php-net-url'],
    aws: values.aws
  }
}

/**
 * Returns undefined when the action should download from php.net itself, or the Debian copy of
 * the upstream tarball with its signers' keyring when php.net cannot be reached.
 */
async function chooseSource(options: DemoOptions): Promise<LocalSource | undefined> {
  if (options.source !== 'debian') {
    try {
      const release = await resolvePhpRelease(options.phpVersion, { baseUrl: options.phpNetUrl, timeoutMs: 5000 })
      console.log(`php.net lists PHP ${release.version}; the action downloads and verifies it.`)
      return undefined
    } catch (error) {
      if (options.source === 'php.net') {
        throw error
      }
      console.log(`php.net cannot be reached (${(error as Error).message.split('\n')[0]})`)
      console.log("Falling back to Debian's source archive, which ships the unmodified upstream tarball and its signature.")
    }
  }

  const lines = await runCommand('bash', [join(repoRoot, 'scripts', 'fetch-php-source.sh'), join(cacheDir, 'php-source')], { capture: true })
  const fields = Object.fromEntries(lines.map((line) => line.split('=', 2) as [string, string]))
  const version = fields.version
  if (version === undefined || fields.tarball === undefined || fields.keyring === undefined) {
    throw new Error(`scripts/fetch-php-source.sh printed no version, tarball or keyring:\n${lines.join('\n')}`)
  }

  const spec = parseVersionSpec(options.phpVersion)
  const matches =
    spec?.kind === 'latest' ||
    (spec?.kind === 'minor' && version.startsWith(`${spec.branch}.`)) ||
    (spec?.kind === 'exact' && version === spec.version)
  if (!matches) {
    throw new Error(`php.net cannot be reached and Debian's source archive has PHP ${version}, not ${options.phpVersion}: run with --php-version ${version}`)
  }

  console.log(`Using PHP ${version} from Debian's source archive: ${fields.tarball}`)
  return { tarball: fields.tarball, keyring: fields.keyring, version }
}

async function startLocalEndpoint(): Promise<LocalLambdaEndpoint> {
  const endpoint = new LocalLambdaEndpoint({ credentials: [LOCAL_CREDENTIALS] })
  await endpoint.start()
  return endpoint
}

interface ActionOutputs {
  values: Record<string, string>
  failed: boolean
}

async function runAction(options: DemoOptions, local: LocalSource | undefined, endpoint: LocalLambdaEndpoint | undefined): Promise<ActionOutputs> {
  const bundle = join(repoRoot, 'dist', 'index.js')
  if (!existsSync(bundle)) {
    throw new Error('dist/index.js not found: run npm run build first')
  }

  const runDir = join(cacheDir, 'demo')
  await mkdir(runDir, { recursive: true })
  const tempDir = await mkdtemp(join(runDir, 'run-'))
  const outputFile = join(tempDir, 'outputs')
  await writeFile(outputFile, '')

  const inputs: Record<string, string> = {
    mode: 'build-and-publish',
    builder: 'native',
    'php-version': local?.version ?? options.phpVersion,
    extensions: options.extensions,
    regions: options.regions,
    'php-net-url': options.phpNetUrl,
    ...(local === undefined ? {} : { 'php-source': local.tarball, 'php-keyring': local.keyring }),
    ...(endpoint === undefined ? {} : { 'lambda-endpoint-url': endpoint.url })
  }

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...Object.fromEntries(Object.entries(inputs).map(([name, value]) => [`INPUT_${name.toUpperCase()}`, value])),
    GITHUB_WORKSPACE: repoRoot,
    GITHUB_OUTPUT: outputFile,
    RUNNER_TEMP: tempDir,
    RUNTIME_LAYER_ACTION_CACHE_DIR: cacheDir,
    RUNTIME_LAYER_ACTION_OUTPUT_DIR: join(runDir, 'out')
  }
  if (endpoint !== undefined) {
    env.AWS_ACCESS_KEY_ID = LOCAL_CREDENTIALS.accessKeyId
    env.AWS_SECRET_ACCESS_KEY = LOCAL_CREDENTIALS.secretAccessKey
    delete env.AWS_SESSION_TOKEN
    delete env.AWS_PROFILE
  }

  let failed = false
  try {
    await runCommand(process.execPath, [bundle], { env, workflowCommands: true })
  } catch {
    failed = true
  }

  const values = existsSync(outputFile) ? parseOutputFile(await readFile(outputFile, 'utf8')) : {}
  await rm(tempDir, { recursive: true, force: true })
  return { values, failed }
}

async function printResult(outputs: ActionOutputs): Promise<void> {
  const zipPaths = (outputs.values['zip-path'] ?? '').split('\n').filter((path) => path !== '')
  const layers = JSON.parse(outputs.values.layers ?? '[]') as LayerResult[]
  if (zipPaths.length === 0) {
    console.log('The action built no layer: the error is in its log above.')
    return
  }

  const info = await readLayerInfoFromZip(zipPaths[0]!)
  const report = { phpVersion: info.phpVersion, extensions: info.extensions, layers }
  console.log(`Layer zip: ${zipPaths.join(', ')}`)
  console.log(`sha256:    ${(outputs.values['zip-sha256'] ?? '').split('\n').join(', ')}`)
  // The Report group above printed the ARN table, so only the release notes repeat it.
  console.log('\nRelease notes the action would write for a new release (release: true):\n')
  console.log(replaceMarkedSection('', renderReportMarkdown(report)))
}

/** Reads GITHUB_OUTPUT's `name<<delimiter` blocks, the format @actions/core writes. */
function parseOutputFile(text: string): Record<string, string> {
  const values: Record<string, string> = {}
  const pattern = /^([\w-]+)<<(\S+)\n([\s\S]*?)\n\2$/gm
  for (const match of text.matchAll(pattern)) {
    values[match[1]!] = match[3]!
  }
  return values
}

function announce(stage: string): void {
  console.log(`\n==> ${stage}`)
}

interface RunOptions {
  env?: NodeJS.ProcessEnv
  /** Collect stdout lines and return them instead of printing them. */
  capture?: boolean
  /** Print GitHub workflow commands (::group:: and the like) as plain terminal lines. */
  workflowCommands?: boolean
}

function runCommand(command: string, args: string[], options: RunOptions = {}): Promise<string[]> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'inherit'] })
    const captured: string[] = []

    createInterface({ input: child.stdout }).on('line', (line) => {
      if (options.capture === true) {
        captured.push(line)
      } else {
        printLine(line, options.workflowCommands === true)
      }
    })

    child.on('error', reject)
    child.on('close', (code, signal) => {
      if (code === 0) {
        resolvePromise(captured)
      } else {
        reject(new Error(`${command} ${args.join(' ')} failed with ${signal ?? `exit status ${code}`}`))
      }
    })
  })
}

function printLine(line: string, workflowCommands: boolean): void {
  if (!workflowCommands) {
    console.log(line)
    return
  }

  const command = /^::([\w-]+)(?: [^:]*)?::(.*)$/.exec(line)
  if (command === null) {
    console.log(line)
    return
  }

  const [, name, message] = command
  switch (name) {
    case 'group':
      announce(message ?? '')
      break
    case 'endgroup':
    case 'debug':
      break
    default:
      console.log(`${name}: ${message ?? ''}`)
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`demo: ${error instanceof Error ? error.message : String(error)}`)
    process.exit(1)
  }
)
