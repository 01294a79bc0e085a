import * as core from '@actions/core'

import { errorMessage } from './errors.js'
import { knownExtensions } from './extensions.js'
import { getInputs, parseConfig, type Config } from './inputs.js'
import { runPipeline, type PipelineOptions } from './pipeline.js'
import { publishRelease } from './release.js'
import { renderReportMarkdown, setOutputs, writeJobSummary, type RunReport } from './report.js'

/** Runs the action: inputs -> resolve -> build -> smoke test -> package -> publish -> report. */
export async function run(options: PipelineOptions = {}): Promise<void> {
  try {
    const config = await core.group('Read inputs', async () => readConfig())
    const report = await runPipeline(config, options)
    await core.group('Report', () => reportResults(config, report))

    const failed = report.layers.filter((layer) => layer.status === 'failed')
    if (failed.length > 0) {
      const regions = failed.map((layer) => `${layer.region} (${layer.architecture})`).join(', ')
      core.setFailed(`Publishing failed in ${failed.length} Region(s): ${regions}. Rerun the job to publish only what is missing.`)
    }
  } catch (error) {
    core.setFailed(errorMessage(error))
  }
}

function readConfig(): Config {
  const known = new Set(knownExtensions())
  const config = parseConfig(getInputs(), {
    validateExtensions: (names) =>
      names
        .filter((name) => !known.has(name))
        .map((name) => `unknown extension "${name}"; known: default, ${[...known].join(', ')}`)
  })

  core.info(`mode ${config.mode}, PHP ${config.phpVersion}, architectures ${config.architectures.join(', ')}`)
  if (config.mode !== 'build') {
    core.info(`Regions (${config.regions.length}): ${config.regions.join(', ')}`)
  }

  return config
}

async function reportResults(config: Config, report: RunReport): Promise<void> {
  setOutputs(report)
  const markdown = renderReportMarkdown(report)
  core.info(markdown)

  if (await writeJobSummary(report)) {
    core.info('Wrote the job summary')
  }

  if (config.release === undefined) {
    return
  }

  if (config.dryRun) {
    core.info(`dry-run: the notes of release ${config.release.tag} would get this section:\n${markdown}`)
    return
  }

  const assetPaths = report.zipPath === undefined ? [] : report.zipPath.split('\n')
  const release = await publishRelease({ token: config.release.token, tag: config.release.tag, notes: markdown, assetPaths })
  core.info(`Release ${config.release.tag}: ${release.htmlUrl} (${release.created ? 'created' : 'updated'}, ${release.assets.length} assets)`)
}
