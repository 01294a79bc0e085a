// Runs the benchmarks one after another with their default settings and prints each one's
// output. The other scripts read their layers from the cache folder, so the layer builds
// (bench/build-layers.ts, about 35 minutes on the 2-core benchmark machine) run first, with
// --build here or once before. Results are also written as JSON to CACHE/bench-results/.
//
// Run: npx tsx bench/all.ts [--build] [--cache-dir DIR]

import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

import { DEFAULT_CACHE_DIR } from './harness.js'

const BENCH_DIR = dirname(fileURLToPath(import.meta.url))

const SCRIPTS: Array<{ file: string, args: string[] }> = [
  { file: 'instructions.ts', args: ['--layer', 'LAYERS/size-gcc', '--layer', 'LAYERS/speed-gcc', '--layer', 'LAYERS/size-clang'] },
  { file: 'warm-invoke.ts', args: [] },
  { file: 'cold-start.ts', args: [] },
  { file: 'memory.ts', args: [] },
  { file: 'layer-cost.ts', args: [] },
  { file: 'publish-fanout.ts', args: [] }
]

async function runScript(file: string, args: string[]): Promise<void> {
  console.log(`\n### ${['bench/' + file, ...args].join(' ')}\n`)
  const child = spawn(process.execPath, ['--import', 'tsx', join(BENCH_DIR, file), ...args], { stdio: 'inherit' })
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  if (code !== 0) {
    throw new Error(`bench/${file} failed with exit code ${code}`)
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      build: { type: 'boolean', default: false },
      'cache-dir': { type: 'string', default: DEFAULT_CACHE_DIR }
    }
  })

  const cacheDir = values['cache-dir']
  const layers = join(cacheDir, 'bench-layers')
  const common = ['--cache-dir', cacheDir]

  if (values.build) {
    await runScript('build-layers.ts', common)
  }
  for (const script of SCRIPTS) {
    await runScript(script.file, [...common, ...script.args.map((arg) => arg.replace('LAYERS', layers))])
  }
}

await main()
