import * as core from '@actions/core'

import type { Architecture } from './inputs.js'

/**
 * `new` when PublishLayerVersion made a version, `reused` when the latest version had the same
 * CodeSha256, `dry-run` when nothing was called because dry-run is set.
 */
export type LayerStatus = 'new' | 'reused' | 'failed' | 'dry-run'

/** The outcome of publishing one architecture's layer to one Region. */
export interface LayerResult {
  region: string
  architecture: Architecture
  /** LayerVersionArn, or null when publishing failed. */
  arn: string | null
  /** Layer version number, or null when publishing failed. */
  version: number | null
  status: LayerStatus
  /** Error message of a failed publish (status failed only). */
  error?: string
}

/** Everything the outputs, the job summary and the release notes show about one run. */
export interface RunReport {
  /** The resolved PHP version, e.g. 8.4.3. */
  phpVersion: string
  /** Names of the extensions in the layer. */
  extensions: string[]
  layers: LayerResult[]
  zipPath?: string
  /** Hex SHA-256 of the layer zip. */
  zipSha256?: string
  /** Mode check: whether php.net has a newer release than the published layer. */
  updateAvailable?: boolean
}

/** The outputs declared in action.yml. */
export const OUTPUT_NAMES = ['layers', 'arns', 'php-version', 'zip-path', 'zip-sha256', 'update-available'] as const

const ARCHITECTURE_ORDER: Record<string, number> = { x86_64: 0, arm64: 1 }

/** Returns the results ordered by Region code, then x86_64 before arm64. */
export function sortLayerResults(layers: readonly LayerResult[]): LayerResult[] {
  return [...layers].sort(
    (a, b) =>
      a.region.localeCompare(b.region) ||
      (ARCHITECTURE_ORDER[a.architecture] ?? 2) - (ARCHITECTURE_ORDER[b.architecture] ?? 2)
  )
}

/** Sets the action outputs that have a value and logs one info line per output. */
export function setOutputs(report: RunReport): void {
  const layers = sortLayerResults(report.layers)
  const arns = layers.flatMap((layer) => (layer.arn === null ? [] : [layer.arn]))

  const layersJson = JSON.stringify(layers.map(layerOutput))
  core.setOutput('layers', layersJson)
  core.info(`Output layers: ${layers.length} entries (${countByStatus(layers)})`)

  core.setOutput('arns', arns.join('\n'))
  core.info(`Output arns: ${arns.length} ARNs`)

  core.setOutput('php-version', report.phpVersion)
  core.info(`Output php-version: ${report.phpVersion}`)

  if (report.zipPath !== undefined) {
    core.setOutput('zip-path', report.zipPath)
    core.info(`Output zip-path: ${report.zipPath}`)
  }

  if (report.zipSha256 !== undefined) {
    core.setOutput('zip-sha256', report.zipSha256)
    core.info(`Output zip-sha256: ${report.zipSha256}`)
  }

  if (report.updateAvailable !== undefined) {
    core.setOutput('update-available', String(report.updateAvailable))
    core.info(`Output update-available: ${report.updateAvailable}`)
  }
}

/**
 * Writes the job summary: PHP version, extensions, the layer table and the failed Regions with
 * their errors. Returns false without writing when GITHUB_STEP_SUMMARY is not set (outside a
 * GitHub runner).
 */
export async function writeJobSummary(report: RunReport): Promise<boolean> {
  if (!process.env.GITHUB_STEP_SUMMARY) {
    core.debug('GITHUB_STEP_SUMMARY is not set; skipping the job summary')
    return false
  }

  const layers = sortLayerResults(report.layers)
  const summary = core.summary.addHeading(`PHP ${escapeHtml(report.phpVersion)} runtime layer`, 2)

  summary.addRaw(`<p><b>Extensions:</b> ${escapeHtml(report.extensions.join(', ') || 'none')}</p>`, true)
  if (report.updateAvailable !== undefined) {
    const update = report.updateAvailable ? 'yes' : 'no'
    summary.addRaw(`<p><b>Newer PHP release available:</b> ${update}</p>`, true)
  }

  if (layers.length > 0) {
    summary.addTable([
      [
        { data: 'Region', header: true },
        { data: 'Architecture', header: true },
        { data: 'ARN', header: true },
        { data: 'Version', header: true },
        { data: 'Status', header: true }
      ],
      ...layers.map((layer) => [
        escapeHtml(layer.region),
        escapeHtml(layer.architecture),
        layer.arn === null ? '' : `<code>${escapeHtml(layer.arn)}</code>`,
        layer.version === null ? '' : String(layer.version),
        layer.status
      ])
    ])
  }

  const failed = layers.filter((layer) => layer.status === 'failed')
  if (failed.length > 0) {
    summary.addHeading('Failed', 3)
    summary.addList(failed.map((layer) => escapeHtml(`${layer.region} ${layer.architecture}: ${layer.error ?? 'unknown error'}`)))
  }

  await summary.write()
  return true
}

/** Renders the layer table as Markdown with aligned columns, readable in a terminal as well. */
export function renderLayerTable(layers: readonly LayerResult[]): string {
  const header = ['Region', 'Architecture', 'ARN', 'Version', 'Status']
  const rows = sortLayerResults(layers).map((layer) => [
    layer.region,
    layer.architecture,
    layer.arn === null ? '' : `\`${layer.arn}\``,
    layer.version === null ? '' : String(layer.version),
    layer.status
  ])

  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)))
  const line = (cells: string[]): string =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`

  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n')
}

/**
 * Renders the report as Markdown: PHP version, extensions, the layer table and the failed
 * Regions. Used for the terminal, the demo and the release notes.
 */
export function renderReportMarkdown(report: RunReport): string {
  const layers = sortLayerResults(report.layers)
  const parts = [`**PHP ${report.phpVersion}** with ${report.extensions.join(', ') || 'no extensions'}`]

  if (report.updateAvailable !== undefined) {
    parts.push(`Newer PHP release available: ${report.updateAvailable ? 'yes' : 'no'}`)
  }

  if (layers.length > 0) {
    parts.push(renderLayerTable(layers))
  }

  const failed = layers.filter((layer) => layer.status === 'failed')
  if (failed.length > 0) {
    const lines = failed.map((layer) => `- ${layer.region} ${layer.architecture}: ${oneLine(layer.error ?? 'unknown error')}`)
    parts.push(`Failed:\n${lines.join('\n')}`)
  }

  return parts.join('\n\n')
}

function layerOutput(layer: LayerResult): Record<string, unknown> {
  const output: Record<string, unknown> = {
    region: layer.region,
    architecture: layer.architecture,
    arn: layer.arn,
    version: layer.version,
    status: layer.status
  }
  if (layer.error !== undefined) {
    output.error = layer.error
  }

  return output
}

function countByStatus(layers: readonly LayerResult[]): string {
  const statuses: LayerStatus[] = ['new', 'reused', 'failed', 'dry-run']
  return statuses.map((status) => `${layers.filter((layer) => layer.status === status).length} ${status}`).join(', ')
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ')
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}
