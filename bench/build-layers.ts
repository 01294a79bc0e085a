// Builds the default extension set natively, as the action does, and records for each variant
// the build time, the layer size unzipped and zipped, and the size of bin/php:
//   size-gcc cold    gcc -Os with an empty ccache
//   size-gcc warm    the same build again, with the ccache the cold build filled
//   speed-gcc cold   gcc -O2 with an empty ccache
//   size-clang cold  clang -Oz with an empty ccache (the build root gets clang first)
// The build root (Debian 11, made by scripts/make-build-root.sh) is created or updated before
// the builds and timed apart from them. Layers stay in CACHE/bench-layers/VARIANT for
// bench/layer-cost.ts, and the figures go to CACHE/bench-results/build.json.
//
// Run: npx tsx bench/build-layers.ts [--cache-dir DIR] [--variants size-gcc-cold,...]
// Default cache folder: BENCH_CACHE_DIR, else .cache/bench in the repository (harness.ts).
// Needs root, debootstrap, bubblewrap and the Debian archive, like the native builder.

import { execFile } from 'node:child_process'
import { mkdir, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs, promisify } from 'node:util'

import * as exec from '@actions/exec'

import { buildLayer } from '../src/build.js'
import { defaultBuildRoot, ensureBuildRoot, type Compiler, type Optimization } from '../src/build-native.js'
import { planExtensions } from '../src/extensions.js'
import { zipLayer } from '../src/package.js'
import { actionRoot } from '../src/paths.js'
import { DEFAULT_CACHE_DIR } from './harness.js'
import { describeMachine, formatTable, type Machine } from './machine.js'

const execFileAsync = promisify(execFile)

interface Variant {
  name: string
  optimize: Optimization
  compiler: Compiler
  /** Empty the ccache before the build. */
  coldCache: boolean
  /** Folder under bench-layers; warm rebuilds reuse the folder of their cold build. */
  layerName: string
}

const VARIANTS: Variant[] = [
  { name: 'size-gcc-cold', optimize: 'size', compiler: 'gcc', coldCache: true, layerName: 'size-gcc' },
  { name: 'size-gcc-warm', optimize: 'size', compiler: 'gcc', coldCache: false, layerName: 'size-gcc' },
  { name: 'speed-gcc-cold', optimize: 'speed', compiler: 'gcc', coldCache: true, layerName: 'speed-gcc' },
  { name: 'size-clang-cold', optimize: 'size', compiler: 'clang', coldCache: true, layerName: 'size-clang' }
]

export interface BuildFigures {
  variant: string
  optimize: Optimization
  compiler: Compiler
  coldCache: boolean
  layerDir: string
  phpVersion: string
  /** Seconds per step, as buildLayer reports them (configure, make, ..., total). */
  durations: Record<string, number>
  /** Wall-clock seconds of the buildLayer call. */
  seconds: number
  unzippedBytes: number
  zipBytes: number
  phpBytes: number
  /** 1-minute load average before the build started. */
  loadBefore: number
}

interface BuildReport {
  date: string
  machine: Machine
  phpVersion: string
  /** Seconds to create or update the build root, per compiler set. */
  buildRootSeconds: Record<string, number>
  builds: BuildFigures[]
}

/** Fetches the PHP 8.2 release tarball from Debian's source archive and returns its path and sha256. */
async function fetchSource(folder: string): Promise<{ tarball: string, sha256: string }> {
  const { stdout } = await execFileAsync('bash', [join(actionRoot(), 'scripts', 'fetch-php-source.sh'), folder], { maxBuffer: 1024 * 1024 })
  const fields = Object.fromEntries(stdout.trim().split('\n').map((line) => {
    const equals = line.indexOf('=')
    return [line.slice(0, equals), line.slice(equals + 1)]
  }))

  if (fields.tarball === undefined || fields.sha256 === undefined) {
    throw new Error(`scripts/fetch-php-source.sh printed no tarball= and sha256= lines: ${stdout}`)
  }

  return { tarball: fields.tarball, sha256: fields.sha256 }
}

async function loadAverage(): Promise<number> {
  const { stdout } = await execFileAsync('cat', ['/proc/loadavg'])
  return Number(stdout.split(' ')[0])
}

async function timeBuildRoot(cacheDir: string, packages: string[]): Promise<number> {
  const startedAt = performance.now()
  await ensureBuildRoot(defaultBuildRoot(cacheDir), packages, exec.exec)

  return (performance.now() - startedAt) / 1000
}

async function buildVariant(variant: Variant, cacheDir: string, source: { tarball: string, sha256: string }): Promise<BuildFigures> {
  const layerDir = join(cacheDir, 'bench-layers', variant.layerName)
  if (variant.coldCache) {
    await rm(join(cacheDir, 'ccache'), { recursive: true, force: true })
  }

  const loadBefore = await loadAverage()
  const startedAt = performance.now()
  const result = await buildLayer({
    builder: 'native',
    sourceTarball: source.tarball,
    sha256: source.sha256,
    extensions: ['default'],
    outputDir: layerDir,
    cacheDir,
    optimize: variant.optimize,
    compiler: variant.compiler
  })
  const seconds = (performance.now() - startedAt) / 1000

  const zip = await zipLayer({ layerDir, zipPath: `${layerDir}.zip` })
  const phpBytes = (await stat(join(layerDir, 'bin', 'php'))).size

  return {
    variant: variant.name,
    optimize: variant.optimize,
    compiler: variant.compiler,
    coldCache: variant.coldCache,
    layerDir,
    phpVersion: result.phpVersion,
    durations: result.durations,
    seconds,
    unzippedBytes: zip.unzippedBytes,
    zipBytes: zip.zipBytes,
    phpBytes,
    loadBefore
  }
}

function printReport(report: BuildReport): void {
  console.log(`\nPHP ${report.phpVersion}, ${report.machine.summary}`)
  console.log(`build root: ${Object.entries(report.buildRootSeconds).map(([compilers, seconds]) => `${compilers} ${seconds.toFixed(0)} s`).join(', ')}`)

  const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(2)
  console.log(formatTable(
    ['variant', 'configure s', 'make s', 'total s', 'unzipped MiB', 'zipped MiB', 'bin/php MiB', 'load before'],
    report.builds.map((build) => [
      build.variant,
      String(build.durations.configure ?? ''),
      String(build.durations.make ?? ''),
      build.seconds.toFixed(0),
      mib(build.unzippedBytes),
      mib(build.zipBytes),
      mib(build.phpBytes),
      build.loadBefore.toFixed(2)
    ])
  ))
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'cache-dir': { type: 'string', default: DEFAULT_CACHE_DIR },
      variants: { type: 'string', default: VARIANTS.map((variant) => variant.name).join(',') }
    }
  })

  const cacheDir = values['cache-dir']
  const selected = values.variants.split(',').map((name) => {
    const variant = VARIANTS.find((candidate) => candidate.name === name)
    if (variant === undefined) {
      throw new Error(`Unknown variant ${name}: use one of ${VARIANTS.map((candidate) => candidate.name).join(', ')}`)
    }
    return variant
  })

  await mkdir(join(cacheDir, 'bench-results'), { recursive: true })
  const source = await fetchSource(join(cacheDir, 'php-source'))
  const plan = planExtensions(['default'])

  const report: BuildReport = {
    date: new Date().toISOString(),
    machine: await describeMachine(),
    phpVersion: '',
    buildRootSeconds: {},
    builds: []
  }

  // Clang builds go last: adding clang changes the build root's package list, and going back to
  // a gcc-only list would rebuild the root's libraries again.
  for (const variant of selected) {
    const packages = variant.compiler === 'clang' ? [...plan.aptPackages, 'clang'] : plan.aptPackages
    const rootKey = variant.compiler === 'clang' ? 'with clang' : 'gcc only'
    if (report.buildRootSeconds[rootKey] === undefined) {
      report.buildRootSeconds[rootKey] = await timeBuildRoot(cacheDir, packages)
    }

    console.log(`\n=== ${variant.name} ===`)
    const figures = await buildVariant(variant, cacheDir, source)
    report.phpVersion = figures.phpVersion
    report.builds.push(figures)
    await writeFile(join(cacheDir, 'bench-results', 'build.json'), JSON.stringify(report, null, 2))
  }

  printReport(report)
}

await main()
