import { access, copyFile, mkdir, mkdtemp, rm, stat } from 'node:fs/promises'
import { constants } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

import * as core from '@actions/core'

import { createBareRoot, hostMachine, readElf, type BareRoot, type BareRootOptions, type ElfInfo } from './bare-root.js'
import {
  bareRootCommand,
  findBareRootSandbox,
  findMissingLibraries,
  type BareRootMounts,
  type MissingLibrary,
  type BareRootSandbox,
  type BareRootSandboxKind
} from './bare-root-sandbox.js'
import { RuntimeApiEmulator, RuntimeProcess, lambdaEnvironment } from './emulator/index.js'
import { errorMessage } from './errors.js'
import { compareVersions } from './glibc.js'
import {
  SMOKE_HANDLER,
  SMOKE_HANDLER_FILE,
  SmokeTestError,
  defaultSmokeHandler,
  extensionsToCheck,
  formatChecks,
  runSmokeSequence,
  startupMessages,
  type SmokeCheck,
  type SmokeInvocation,
  type SmokeReport
} from './smoke-checks.js'

export { SmokeTestError, type SmokeCheck } from './smoke-checks.js'

/** Function timeout of each smoke invocation unless the caller sets one. */
const DEFAULT_TIMEOUT_MS = 10_000

export interface SmokeTestOptions {
  /** The layer tree: bootstrap, bin/php, lib/, php/. */
  layerDir: string
  /** PHP version the layer must report: exact (8.2.32) or a minor version (8.2). */
  phpVersion: string
  /** Extensions the layer must load and run, by catalog name (opcache, pdo_sqlite, ...). */
  extensions: readonly string[]
  /** Handler file to invoke, default examples/handlers/smoke.php. It is installed as smoke.php. */
  handlerFile?: string
  /** A bare root made by createBareRoot to reuse. Default: a new one in a temporary folder, removed afterwards. */
  bareRoot?: BareRoot
  /** Options for the bare root the smoke test creates. */
  bareRootOptions?: BareRootOptions
  /** Sandbox to enter the bare root with, default bwrap when installed, else unshare. */
  sandbox?: BareRootSandboxKind
  /** Variables added to the runtime's Lambda environment. */
  env?: Record<string, string>
  /** Function timeout of each invocation in milliseconds, default 10,000. */
  timeoutMs?: number
}

/** Milliseconds each step took. */
export interface SmokeTimings {
  bareRoot?: number
  libraryCheck?: number
  firstInvocation?: number
  errorInvocation?: number
  warmInvocation?: number
  total: number
}

export interface SmokeTestResult {
  /** PHP version the layer reported, when the first invocation returned a report. */
  phpVersion?: string
  checks: SmokeCheck[]
  timingsMs: SmokeTimings
  /** Environment the runtime ran in: a bare root entered with bwrap or unshare, or Docker. */
  environment: BareRootSandboxKind | 'docker'
  /** Everything the runtime wrote to stdout and stderr. */
  runtimeOutput: string
  /**
   * Messages PHP printed at startup, such as an invalid ini value. They are logged as warnings
   * and fail no check: a missing extension fails its own check.
   */
  startupMessages: string[]
}

/**
 * Smoke-tests a built layer before it is published: runs its bootstrap in a bare root that has
 * only glibc and busybox, with the layer at /opt and the smoke handler in /var/task, against
 * the Runtime API emulator on 127.0.0.1. Checks that every library resolves, the PHP version,
 * each extension, a warm invocation and the error path. Logs one group "Smoke test" and throws
 * a SmokeTestError naming the failed checks.
 */
export async function smokeTest(options: SmokeTestOptions): Promise<SmokeTestResult> {
  return core.group('Smoke test', () => runNativeSmokeTest(options))
}

async function runNativeSmokeTest(options: SmokeTestOptions): Promise<SmokeTestResult> {
  const started = Date.now()
  const layerDir = resolve(options.layerDir)
  const extensions = extensionsToCheck(options.extensions)
  const handlerFile = options.handlerFile ?? defaultSmokeHandler()
  core.info(`Layer: ${layerDir}`)
  core.info(`Expected: PHP ${options.phpVersion} with ${extensions.join(', ')}`)

  const php = await inspectLayer(layerDir)
  const sandbox = await findBareRootSandbox(options.sandbox)
  const workDir = await mkdtemp(join(tmpdir(), 'smoke-test-'))
  const timingsMs: SmokeTimings = { total: 0 }
  const checks: SmokeCheck[] = []
  let report: SmokeReport | undefined
  let runtime: RuntimeProcess | undefined
  let emulator: RuntimeApiEmulator | undefined

  try {
    const bareRoot = options.bareRoot ?? (await timed(timingsMs, 'bareRoot', () => createBareRoot(join(workDir, 'root'), options.bareRootOptions)))
    core.info(`Bare root: ${bareRoot.dir}, glibc ${bareRoot.glibcVersion} (${bareRoot.glibcFiles.length} files) and busybox, entered with ${sandbox.kind}`)

    const taskRoot = join(workDir, 'task')
    await mkdir(taskRoot)
    await copyFile(handlerFile, join(taskRoot, SMOKE_HANDLER_FILE))
    const mounts: BareRootMounts = { root: bareRoot.dir, layerDir, taskRoot }

    const libraryChecks = await timed(timingsMs, 'libraryCheck', () => checkLibraries(sandbox, mounts, bareRoot, php))
    checks.push(...libraryChecks)

    if (libraryChecks.every((check) => check.ok)) {
      emulator = new RuntimeApiEmulator({ timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, functionName: 'smoke-test' })
      await emulator.start()

      const command = bareRootCommand(sandbox, mounts, ['/opt/bootstrap'])
      runtime = new RuntimeProcess({
        command: command.command,
        args: command.args,
        emulator,
        handler: SMOKE_HANDLER,
        taskRoot: '/var/task',
        optDir: '/opt',
        cwd: taskRoot,
        env: options.env
      })

      const sequence = await runSmokeSequence(invokerFor(emulator), { phpVersion: options.phpVersion, extensions })
      checks.push(...sequence.checks)
      Object.assign(timingsMs, sequence.durationsMs)
      report = sequence.report
    }
  } finally {
    await runtime?.stop()
    await emulator?.stop()
    await rm(workDir, { recursive: true, force: true })
  }

  timingsMs.total = Date.now() - started
  const runtimeOutput = runtime?.output() ?? ''
  const result: SmokeTestResult = {
    phpVersion: report?.phpVersion,
    checks,
    timingsMs,
    environment: sandbox.kind,
    runtimeOutput,
    startupMessages: startupMessages(runtimeOutput)
  }
  logResult(result, report)

  if (checks.some((check) => !check.ok)) {
    throw new SmokeTestError(layerDir, checks)
  }

  return result
}

/**
 * Checks the files the smoke test needs in the layer and reads bin/php's ELF header. Throws
 * when the layer is incomplete or built for another machine.
 */
async function inspectLayer(layerDir: string): Promise<ElfInfo> {
  const bootstrap = join(layerDir, 'bootstrap')
  try {
    await access(bootstrap, constants.X_OK)
  } catch {
    throw new Error(`${bootstrap} is missing or not executable; the layer needs bootstrap at its root with mode 755`)
  }

  const phpBinary = join(layerDir, 'bin', 'php')
  const phpStatus = await stat(phpBinary).catch(() => undefined)
  if (phpStatus?.isFile() !== true) {
    throw new Error(`${phpBinary} not found; the layer needs the PHP CLI at bin/php`)
  }

  const php = await readElf(phpBinary)
  if (php.machine !== hostMachine()) {
    throw new Error(
      `${phpBinary} is built for ${php.machine}, but this machine is ${hostMachine()}: ` +
        'smoke-test the layer on a runner of its architecture, or with the docker flavour and an emulated platform'
    )
  }

  return php
}

/**
 * Checks, inside the bare root, that bin/php's dynamic loader exists and that it finds
 * every library of bin/php, lib/ and php/extensions/ with Lambda's LD_LIBRARY_PATH.
 */
async function checkLibraries(sandbox: BareRootSandbox, mounts: BareRootMounts, bareRoot: BareRoot, php: ElfInfo): Promise<SmokeCheck[]> {
  if (php.interpreter === undefined) {
    return [{ name: 'shared libraries', ok: true, detail: 'bin/php is statically linked' }]
  }

  const ldLibraryPath = lambdaEnvironment({
    runtimeApi: '127.0.0.1:9001',
    handler: SMOKE_HANDLER,
    taskRoot: '/var/task',
    optDir: '/opt',
    functionName: 'smoke-test',
    functionVersion: '$LATEST',
    memorySizeMb: 128,
    region: 'us-east-1',
    now: new Date()
  }).LD_LIBRARY_PATH as string

  const listing = await findMissingLibraries(sandbox, mounts, php.interpreter, ldLibraryPath)
  if (!listing.loaderFound) {
    return [{
      name: 'dynamic loader',
      ok: false,
      detail: `bin/php needs the loader ${php.interpreter}, which glibc ${bareRoot.glibcVersion} in the bare root does not have (it has ${bareRoot.dynamicLoaders.join(', ')})`
    }]
  }

  if (listing.missing.length > 0) {
    const libraries = listing.missing.filter((missing) => missing.version === undefined).map((missing) => `${missing.file} needs ${missing.library}`)
    const versions = highestVersionByFile(listing.missing).map(([file, version]) => `${file} needs ${version}`)
    const problems = [
      libraries.length > 0 ? `${abbreviate(libraries)}: not found in the layer's lib/ nor in glibc ${bareRoot.glibcVersion}; bundle them in lib/` : undefined,
      versions.length > 0 ? `${abbreviate(versions)}: glibc ${bareRoot.glibcVersion} is older; build against the target's glibc or an older one` : undefined
    ]
    return [{ name: 'shared libraries', ok: false, detail: problems.filter((problem) => problem !== undefined).join('; ') }]
  }

  return [{ name: 'shared libraries', ok: true, detail: `all found for ${listing.checked.length} files (${summarizeFiles(listing.checked)})` }]
}

/** Returns, per file, the highest glibc symbol version it needs and the bare root lacks, in listing order. */
function highestVersionByFile(missing: readonly MissingLibrary[]): Array<[string, string]> {
  const highest = new Map<string, string>()
  for (const entry of missing) {
    if (entry.version === undefined) {
      continue
    }

    const current = highest.get(entry.file)
    if (current === undefined || compareVersions(entry.version.replace(/^GLIBC_/, ''), current.replace(/^GLIBC_/, '')) > 0) {
      highest.set(entry.file, entry.version)
    }
  }
  return [...highest]
}

/** Joins up to 10 items and counts the rest, so that one check's detail stays readable. */
function abbreviate(items: readonly string[]): string {
  const maxItems = 10
  const rest = items.length - maxItems
  return rest > 0 ? `${items.slice(0, maxItems).join(', ')} and ${rest} more` : items.join(', ')
}

function summarizeFiles(files: readonly string[]): string {
  const count = (prefix: string): number => files.filter((file) => file.startsWith(prefix)).length
  return `bin/php, ${count('/opt/lib/')} in lib/, ${count('/opt/php/extensions/')} in php/extensions/`
}

function invokerFor(emulator: RuntimeApiEmulator): (event: unknown) => Promise<SmokeInvocation> {
  return async (event) => {
    const started = Date.now()
    try {
      const result = await emulator.invoke(event)
      return {
        outcome: result.outcome,
        body: result.payload.toString('utf8'),
        errorType: result.errorType,
        durationMs: Date.now() - started
      }
    } catch (error) {
      return { outcome: 'exit', body: `the invocation failed: ${errorMessage(error)}`, durationMs: Date.now() - started }
    }
  }
}

async function timed<T>(timings: SmokeTimings, step: keyof SmokeTimings, work: () => Promise<T>): Promise<T> {
  const started = Date.now()
  try {
    return await work()
  } finally {
    timings[step] = Date.now() - started
  }
}

/**
 * Logs each check, the timings and PHP's startup messages (as warnings), and on failure the
 * runtime's output and PHP's loaded extensions.
 */
export function logResult(result: SmokeTestResult, report?: SmokeReport): void {
  for (const line of formatChecks(result.checks)) {
    core.info(line)
  }

  for (const message of result.startupMessages) {
    core.warning(`Smoke test: PHP printed at startup: ${message}`)
  }

  const timings = Object.entries(result.timingsMs).map(([step, ms]) => `${step} ${ms} ms`)
  core.info(`Timings: ${timings.join(', ')}`)

  if (result.checks.every((check) => check.ok)) {
    return
  }

  if (report !== undefined) {
    core.info(`Loaded extensions: ${report.loadedExtensions.join(', ')}`)
  }
  core.info(result.runtimeOutput === '' ? 'The runtime wrote no output.' : 'Runtime output (stdout and stderr):')
  for (const line of result.runtimeOutput.split('\n').filter((text) => text !== '')) {
    core.info(`  ${line}`)
  }
}
