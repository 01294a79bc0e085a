// Publish fan-out: wall time of publishLayer (src/publish.ts) to 1 and to 33 Regions of the
// local Lambda endpoint (src/lambda-endpoint) with 10 % of the signed requests throttled, and
// the number of Regions that failed. Settings are the action's defaults: max-parallel-regions 4,
// retry-max-attempts 5, and publishLayer's own throttle retries (5 attempts from 1 s). Waits
// are real. Each run starts a fresh endpoint, so every Region gets a new layer version.
// A throttled request gets TooManyRequestsException (429, Retry-After: 1) from the endpoint's
// fault injector. Which requests fail is drawn from a generator seeded per run and Region
// count, so a rerun throttles the same requests.
//
// Run: npx tsx bench/publish-fanout.ts [--zip FILE] [--runs 10] [--throttle 0.1] [--cache-dir DIR]
// Default zip: CACHE/bench-layers/size-gcc.zip from bench/build-layers.ts.

import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

import { LocalLambdaEndpoint, type EndpointCredentials } from '../src/lambda-endpoint/index.js'
import { hashZip } from '../src/package.js'
import { publishLayer } from '../src/publish.js'
import { LAMBDA_REGIONS } from '../src/regions.js'
import { DEFAULT_CACHE_DIR } from './harness.js'
import { describeMachine, formatStats, formatTable, stats } from './machine.js'

const CREDENTIALS: EndpointCredentials = { accessKeyId: 'AKIABENCHPUBLISH0001', secretAccessKey: 'bench-secret', accountId: '123456789012' }

// The first 33 Regions of the action's list (alphabetical), the count the benchmark was asked for.
const REGION_COUNTS = [1, 33]

interface PublishRun {
  regions: number
  run: number
  seconds: number
  failedRegions: number
  requests: number
  throttled: number
}

/** A small seeded generator (mulberry32), so the same requests are throttled in every run. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let value = state
    value = Math.imul(value ^ (value >>> 15), value | 1)
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61)
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296
  }
}

async function publishOnce(zipPath: string, regions: string[], throttleShare: number, run: number, seed: number): Promise<PublishRun> {
  const endpoint = new LocalLambdaEndpoint({ credentials: [CREDENTIALS] })
  await endpoint.start()
  const random = seededRandom(seed)
  endpoint.onRequest = (request) => {
    if (random() < throttleShare) {
      endpoint.faults.throttle({ region: request.region, service: request.service, operations: [request.operation], count: 1 })
    }
  }

  try {
    const zip = await hashZip(zipPath)
    const startedAt = performance.now()
    const results = await publishLayer({
      zip,
      layerName: 'php-82-bench',
      architecture: 'x86_64',
      regions,
      compatibleRuntimes: ['provided.al2023'],
      description: 'PHP 8.2 benchmark layer',
      licenseInfo: 'PHP-3.01',
      permission: { kind: 'public' },
      maxParallelRegions: 4,
      maxAttempts: 5,
      lambdaEndpoint: endpoint.url,
      s3Endpoint: endpoint.url,
      credentials: { accessKeyId: CREDENTIALS.accessKeyId, secretAccessKey: CREDENTIALS.secretAccessKey },
      logger: { info: () => {}, warning: (message) => console.log(`warning: ${message}`) }
    })
    const seconds = (performance.now() - startedAt) / 1000

    for (const failed of results.filter((result) => result.status === 'failed')) {
      console.log(`${failed.region} failed: ${failed.error}`)
    }

    return {
      regions: regions.length,
      run,
      seconds,
      failedRegions: results.filter((result) => result.status !== 'new').length,
      requests: endpoint.requests.filter((request) => request.service !== 'local').length,
      throttled: endpoint.requests.filter((request) => request.status === 429 || request.status === 503).length
    }
  } finally {
    await endpoint.stop()
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'cache-dir': { type: 'string', default: DEFAULT_CACHE_DIR },
      zip: { type: 'string' },
      runs: { type: 'string', default: '10' },
      throttle: { type: 'string', default: '0.1' }
    }
  })

  const cacheDir = values['cache-dir']
  const zipPath = values.zip ?? join(cacheDir, 'bench-layers', 'size-gcc.zip')
  const runs = Number(values.runs)
  const throttleShare = Number(values.throttle)
  const machine = await describeMachine()
  const zip = await hashZip(zipPath)
  console.log(`${machine.summary}\nzip ${zipPath} (${zip.zipBytes} bytes), ${runs} runs, ${throttleShare * 100} % of requests throttled`)

  const samples: PublishRun[] = []
  for (let run = 0; run < runs; run++) {
    for (const count of REGION_COUNTS) {
      const regions = LAMBDA_REGIONS.slice(0, count).map((region) => region.code)
      const sample = await publishOnce(zipPath, count === 1 ? ['us-east-1'] : regions, throttleShare, run, run * 100 + count)
      samples.push(sample)
      console.log(`run ${run + 1}, ${count} Regions: ${sample.seconds.toFixed(2)} s, ${sample.failedRegions} failed, ${sample.throttled} of ${sample.requests} requests throttled`)
    }
  }

  const table = formatTable(
    ['Regions', 'seconds, median (min-max)', 'failed Regions (all runs)', 'requests throttled / sent (all runs)'],
    REGION_COUNTS.map((count) => {
      const own = samples.filter((sample) => sample.regions === count)
      const sum = (pick: (sample: PublishRun) => number): number => own.reduce((total, sample) => total + pick(sample), 0)
      return [String(count), formatStats(stats(own.map((sample) => sample.seconds)), 2), String(sum((sample) => sample.failedRegions)), `${sum((sample) => sample.throttled)} / ${sum((sample) => sample.requests)}`]
    })
  )
  console.log(`\n${table}`)

  await mkdir(join(cacheDir, 'bench-results'), { recursive: true })
  await writeFile(join(cacheDir, 'bench-results', `publish-throttle${throttleShare}.json`), JSON.stringify({ date: new Date().toISOString(), machine, zipBytes: zip.zipBytes, runs, throttleShare, samples, table }, null, 2))
}

await main()
