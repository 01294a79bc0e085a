import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

import { createCliLog, readCliArguments, waitForShutdownSignal } from '../cli-support.js'
import { DEFAULT_ACCOUNT_ID, LocalLambdaEndpoint, type EndpointRequest } from './server.js'

const HELP = `Usage: npx tsx src/lambda-endpoint/cli.ts [options]

Serves a local stand-in for the Lambda layer API and S3 PutObject on 127.0.0.1, for dry runs
of the publish step. Requests must be signed with the credentials in this shell's
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and (optionally) AWS_SESSION_TOKEN; the Region comes
from each request's signature. Layers and objects live in memory until Ctrl-C.

Options:
  --port N                   port to listen on; 0 picks a free port (default: 4566)
  --account-id ID            twelve-digit account that owns published layers
                             (default: ${DEFAULT_ACCOUNT_ID})
  --bucket NAME=REGION       creates a bucket in a Region; repeatable
  --bucket-template NAME     creates one bucket per Region of --regions, with {region} in NAME
  --regions A,B,...          Regions for --bucket-template
  -h, --help                 shows this help
`

/** Settings parsed from the command line. */
export interface EndpointCliSettings {
  port: number
  accountId: string
  buckets: Record<string, string>
}

/** Parses the command line. Returns undefined for --help and throws on invalid options. */
export function parseEndpointCliArgs(argv: string[]): EndpointCliSettings | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      'account-id': { type: 'string' },
      bucket: { type: 'string', multiple: true },
      'bucket-template': { type: 'string' },
      regions: { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    }
  })

  if (values.help === true) {
    return undefined
  }

  const port = Number(values.port ?? '4566')
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`--port ${values.port}: expected a whole number from 0 to 65535`)
  }

  const accountId = values['account-id'] ?? DEFAULT_ACCOUNT_ID
  if (!/^\d{12}$/.test(accountId)) {
    throw new Error(`--account-id ${accountId}: expected twelve digits`)
  }

  const buckets: Record<string, string> = {}
  for (const assignment of values.bucket ?? []) {
    const [name = '', region = ''] = assignment.split('=', 2)
    if (name === '' || region === '') {
      throw new Error(`--bucket ${assignment}: expected NAME=REGION, such as layers-eu-west-1=eu-west-1`)
    }
    buckets[name] = region
  }

  const template = values['bucket-template']
  if (template !== undefined) {
    if (!template.includes('{region}') || values.regions === undefined) {
      throw new Error(`--bucket-template ${template}: needs {region} in the name and a --regions list`)
    }
    for (const region of values.regions.split(',').map((item) => item.trim()).filter((item) => item !== '')) {
      buckets[template.replaceAll('{region}', region)] = region
    }
  }

  return { port, accountId, buckets }
}

/** Runs the CLI and resolves with the process exit code. */
export async function runEndpointCli(argv: string[], environment: NodeJS.ProcessEnv = process.env): Promise<number> {
  const parsed = readCliArguments(argv, parseEndpointCliArgs, HELP)
  if ('exitCode' in parsed) {
    return parsed.exitCode
  }
  const settings = parsed.settings

  const accessKeyId = environment.AWS_ACCESS_KEY_ID
  const secretAccessKey = environment.AWS_SECRET_ACCESS_KEY
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    process.stderr.write('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set: export the credentials clients will sign with.\n')
    return 2
  }

  const log = createCliLog('lambda-endpoint')

  const endpoint = new LocalLambdaEndpoint({
    port: settings.port,
    buckets: settings.buckets,
    credentials: [{ accessKeyId, secretAccessKey, sessionToken: environment.AWS_SESSION_TOKEN, accountId: settings.accountId }]
  })
  endpoint.onResponse = (request) => log(describeRequest(request))

  await endpoint.start()
  log(`listening on ${endpoint.url} for access key ${accessKeyId}, account ${settings.accountId}`)
  for (const [bucket, region] of Object.entries(settings.buckets)) {
    log(`bucket ${bucket} in ${region}`)
  }

  await waitForShutdownSignal()
  log('shutting down')
  await endpoint.stop()
  return 0
}

function describeRequest(request: EndpointRequest): string {
  const target = [request.service, request.region, request.operation ?? `${request.method} ${request.path}`].filter((part) => part !== undefined)
  const outcome = request.errorCode === undefined ? String(request.status) : `${request.status} ${request.errorCode}: ${request.errorMessage ?? ''}`
  return `${target.join(' ')}: ${outcome}`
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await runEndpointCli(process.argv.slice(2))
}
