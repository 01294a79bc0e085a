// Machine description and number formatting shared by the benchmark scripts.

import { readFile } from 'node:fs/promises'
import { cpus, loadavg, release, totalmem } from 'node:os'

export interface Machine {
  cpu: string
  cores: number
  memoryGiB: number
  os: string
  kernel: string
  node: string
  /** 1-, 5- and 15-minute load averages when the description was taken. */
  load: number[]
  /** One line with all of the above. */
  summary: string
}

/** Describes this machine: CPU model, cores, memory, OS release, kernel, Node.js and load. */
export async function describeMachine(): Promise<Machine> {
  const osRelease = await readFile('/etc/os-release', 'utf8').catch(() => '')
  const os = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(osRelease)?.[1] ?? 'unknown OS'
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  const cores = cpus().length
  const memoryGiB = Math.round(totalmem() / 1024 ** 3)
  const load = loadavg().map((value) => Math.round(value * 100) / 100)

  return {
    cpu,
    cores,
    memoryGiB,
    os,
    kernel: release(),
    node: process.version,
    load,
    summary: `${cpu} x ${cores}, ${memoryGiB} GiB, ${os}, Linux ${release()}, Node ${process.version}, load ${load.join(' ')}`
  }
}

/** Median and spread of a sample. */
export interface Stats {
  median: number
  min: number
  max: number
  count: number
}

export function stats(values: readonly number[]): Stats {
  if (values.length === 0) {
    throw new Error('stats() needs at least one value')
  }

  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2

  return { median, min: sorted[0]!, max: sorted.at(-1)!, count: sorted.length }
}

/** Formats a sample as "median (min-max)" with `digits` decimals. */
export function formatStats(sample: Stats, digits = 1): string {
  return `${sample.median.toFixed(digits)} (${sample.min.toFixed(digits)}-${sample.max.toFixed(digits)})`
}

/** Formats rows as a Markdown table. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const lines = [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`)
  return lines.join('\n')
}
