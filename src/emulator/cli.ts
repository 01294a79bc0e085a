import { existsSync, readFileSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

import { createCliLog, readCliArguments, waitForShutdownSignal } from '../cli-support.js'
import { errorMessage } from '../errors.js'
import { RuntimeApiEmulator } from './emulator.js'
import { RuntimeProcess } from './process.js'
import { INVOKE_PATH } from './protocol.js'

const HELP = `Usage: npx tsx src/emulator/cli.ts [options] [-- COMMAND [ARGS...]]

Runs a Lambda custom runtime locally against an emulated Runtime API and serves the invoke
route of AWS's Runtime Interface Emulator:

  curl -d '{}' http://127.0.0.1:PORT${INVOKE_PATH}

The runtime starts on the first invocation, restarts after it exits, and restarts fresh
after a timeout. Without --event the emulator serves until Ctrl-C.

Options:
  --layer DIR           built layer folder: runs DIR/bootstrap and puts DIR/bin and DIR/lib
                        on PATH and LD_LIBRARY_PATH where Lambda has /opt/bin and /opt/lib
  --bootstrap PATH      runtime to start (default: DIR/bootstrap with --layer, else ./bootstrap);
                        a COMMAND after -- replaces it
  --handler NAME        handler, passed as _HANDLER (default: $_HANDLER, else empty)
  --task-root DIR       function code folder, passed as LAMBDA_TASK_ROOT and used as the
                        working folder (default: the current folder)
  --port N              port for the invoke route and the runtime API; 0 picks a free port
                        (default: 8080, the port of AWS's emulator)
  --host ADDRESS        address to listen on (default: 127.0.0.1)
  --timeout SECONDS     function timeout (default: $AWS_LAMBDA_FUNCTION_TIMEOUT, else 300)
  --memory MB           AWS_LAMBDA_FUNCTION_MEMORY_SIZE (default: $AWS_LAMBDA_FUNCTION_MEMORY_SIZE, else 3008)
  --function-name NAME  AWS_LAMBDA_FUNCTION_NAME (default: $AWS_LAMBDA_FUNCTION_NAME, else test_function)
  --region REGION       AWS_REGION (default: $AWS_REGION, else us-east-1)
  --env NAME=VALUE      adds a variable to the runtime's environment; repeatable
  --inherit-env         passes this shell's environment to the runtime too
  --event JSON|@FILE    invokes once with this event, prints the payload and exits with 1
                        when the invocation did not return a response
  -h, --help            shows this help
`

/** Settings parsed from the command line. */
export interface CliSettings {
  command: string
  args: string[]
  optDir: string
  handler: string
  taskRoot: string
  port: number
  host: string
  timeoutMs: number
  memorySizeMb: number
  functionName: string
  region: string
  env: Record<string, string>
  inheritEnv: boolean
  event: Buffer | undefined
}

/** Parses the command line. Returns undefined for --help and throws on invalid options. */
export function parseCliArgs(argv: string[], environment: NodeJS.ProcessEnv = process.env): CliSettings | undefined {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      layer: { type: 'string' },
      bootstrap: { type: 'string' },
      handler: { type: 'string' },
      'task-root': { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      timeout: { type: 'string' },
      memory: { type: 'string' },
      'function-name': { type: 'string' },
      region: { type: 'string' },
      env: { type: 'string', multiple: true },
      'inherit-env': { type: 'boolean' },
      event: { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    }
  })

  if (values.help === true) {
    return undefined
  }

  const layer = values.layer === undefined ? undefined : resolve(values.layer)
  if (layer !== undefined && !isFolder(layer)) {
    throw new Error(`--layer ${values.layer}: folder not found`)
  }

  const [commandFromArgs, ...args] = positionals
  const command = commandFromArgs ?? resolve(values.bootstrap ?? (layer === undefined ? 'bootstrap' : `${layer}/bootstrap`))
  if (commandFromArgs === undefined && !existsSync(command)) {
    throw new Error(`Bootstrap ${command} not found: pass --bootstrap PATH, --layer DIR or a command after --`)
  }

  const taskRoot = resolve(values['task-root'] ?? '.')
  if (!isFolder(taskRoot)) {
    throw new Error(`--task-root ${values['task-root']}: folder not found`)
  }

  return {
    command,
    args,
    optDir: layer ?? '/opt',
    handler: values.handler ?? environment._HANDLER ?? '',
    taskRoot,
    port: parseWholeNumber('--port', values.port ?? '8080', 0),
    host: values.host ?? '127.0.0.1',
    timeoutMs: Math.round(parsePositiveNumber('--timeout', values.timeout ?? environment.AWS_LAMBDA_FUNCTION_TIMEOUT ?? '300') * 1000),
    memorySizeMb: parseWholeNumber('--memory', values.memory ?? environment.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '3008', 1),
    functionName: values['function-name'] ?? environment.AWS_LAMBDA_FUNCTION_NAME ?? 'test_function',
    region: values.region ?? environment.AWS_REGION ?? 'us-east-1',
    env: parseEnvAssignments(values.env ?? []),
    inheritEnv: values['inherit-env'] === true,
    event: values.event === undefined ? undefined : readEvent(values.event)
  }
}

/** Runs the CLI and resolves with the process exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const parsed = readCliArguments(argv, parseCliArgs, HELP)
  if ('exitCode' in parsed) {
    return parsed.exitCode
  }
  const settings = parsed.settings
  const log = createCliLog('emulator')

  const emulator = new RuntimeApiEmulator({
    timeoutMs: settings.timeoutMs,
    functionName: settings.functionName,
    memorySizeMb: settings.memorySizeMb,
    region: settings.region,
    host: settings.host,
    port: settings.port,
    log
  })

  const runtime = new RuntimeProcess({
    emulator,
    command: settings.command,
    args: settings.args,
    handler: settings.handler,
    taskRoot: settings.taskRoot,
    optDir: settings.optDir,
    env: settings.env,
    inheritEnv: settings.inheritEnv,
    onOutput: (line) => {
      const stream = line.stream === 'stdout' ? process.stdout : process.stderr
      stream.write(`${line.text}\n`)
    }
  })

  await emulator.start()
  log(`runtime ${settings.command}${settings.args.length > 0 ? ` ${settings.args.join(' ')}` : ''}, handler ${JSON.stringify(settings.handler)}, task root ${settings.taskRoot}`)

  if (settings.event !== undefined) {
    return invokeOnce(emulator, runtime, settings.event)
  }

  log(`invoke with: curl -d '{}' ${emulator.invokeUrl}`)
  await waitForShutdownSignal()
  log('shutting down')
  await runtime.stop()
  await emulator.stop()
  return 0
}

async function invokeOnce(emulator: RuntimeApiEmulator, runtime: RuntimeProcess, event: Buffer): Promise<number> {
  try {
    const result = await emulator.invoke(event)
    process.stdout.write(`${result.payload.toString('utf8')}\n`)
    return result.outcome === 'response' ? 0 : 1
  } finally {
    await runtime.stop()
    await emulator.stop()
  }
}

function readEvent(value: string): Buffer {
  if (!value.startsWith('@')) {
    return Buffer.from(value)
  }

  const path = value.slice(1)
  try {
    return readFileSync(path)
  } catch (error) {
    throw new Error(`--event @${path}: cannot read the file: ${errorMessage(error)}`)
  }
}

function parseEnvAssignments(assignments: string[]): Record<string, string> {
  const env: Record<string, string> = {}

  for (const assignment of assignments) {
    const separator = assignment.indexOf('=')
    if (separator <= 0) {
      throw new Error(`--env ${assignment}: use NAME=VALUE`)
    }

    env[assignment.slice(0, separator)] = assignment.slice(separator + 1)
  }

  return env
}

function parseWholeNumber(option: string, text: string, minimum: number): number {
  const value = Number(text)
  if (!Number.isInteger(value) || value < minimum) {
    throw new Error(`${option} ${text}: use a whole number of at least ${minimum}`)
  }

  return value
}

function parsePositiveNumber(option: string, text: string): number {
  const value = Number(text)
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`${option} ${text}: use a number of seconds above 0`)
  }

  return value
}

function isFolder(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory()
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await runCli(process.argv.slice(2))
}
