import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { jest } from '@jest/globals'

import { renderLayerTable, renderReportMarkdown, setOutputs, writeJobSummary, type RunReport } from '../src/report.js'

// The real @actions/core writes outputs and the summary to the files named by GITHUB_OUTPUT
// and GITHUB_STEP_SUMMARY, as on a runner. core.summary caches the first summary path it reads,
// so the whole file uses one folder and each test empties the files.
const folder = mkdtempSync(join(tmpdir(), 'report-test-'))
const outputFile = join(folder, 'output')
const summaryFile = join(folder, 'summary')

const ARN_1 = 'arn:aws:lambda:us-east-1:123456789012:layer:php-8_4-x86_64:7'
const ARN_2 = 'arn:aws:lambda:eu-west-1:123456789012:layer:php-8_4-x86_64:3'
const ARN_3 = 'arn:aws:lambda:eu-west-1:123456789012:layer:php-8_4-arm64:3'

function sampleReport(): RunReport {
  return {
    phpVersion: '8.4.3',
    extensions: ['curl', 'mbstring', 'opcache'],
    zipPath: '/tmp/layer.zip',
    zipSha256: 'a'.repeat(64),
    layers: [
      { region: 'us-east-1', architecture: 'x86_64', arn: ARN_1, version: 7, status: 'new' },
      { region: 'eu-west-1', architecture: 'arm64', arn: ARN_3, version: 3, status: 'reused' },
      { region: 'eu-west-1', architecture: 'x86_64', arn: ARN_2, version: 3, status: 'reused' },
      { region: 'ap-south-1', architecture: 'x86_64', arn: null, version: null, status: 'failed', error: 'AccessDeniedException: not <authorized>\nfor this' }
    ]
  }
}

/** Parses the `name<<delimiter` blocks that core.setOutput appends to GITHUB_OUTPUT. */
function readOutputs(): Record<string, string> {
  const outputs: Record<string, string> = {}
  const lines = readFileSync(outputFile, 'utf8').split('\n')
  for (let i = 0; i < lines.length; i++) {
    const header = /^([^<]+)<<(.+)$/.exec(lines[i] ?? '')
    if (header === null) {
      continue
    }

    const [, name, delimiter] = header
    const end = lines.indexOf(delimiter!, i + 1)
    outputs[name!] = lines.slice(i + 1, end).join('\n')
    i = end
  }

  return outputs
}

beforeAll(() => {
  process.env.GITHUB_OUTPUT = outputFile
  process.env.GITHUB_STEP_SUMMARY = summaryFile
})

beforeEach(() => {
  writeFileSync(outputFile, '')
  writeFileSync(summaryFile, '')
  jest.spyOn(process.stdout, 'write').mockImplementation(() => true)
})

afterEach(() => {
  jest.restoreAllMocks()
})

afterAll(() => {
  delete process.env.GITHUB_OUTPUT
  delete process.env.GITHUB_STEP_SUMMARY
  rmSync(folder, { recursive: true, force: true })
})

describe('setOutputs', () => {
  it('writes layers as sorted JSON', () => {
    setOutputs(sampleReport())

    const layers = JSON.parse(readOutputs().layers ?? '') as Record<string, unknown>[]
    expect(layers.map((layer) => `${layer.region}/${layer.architecture}`)).toEqual([
      'ap-south-1/x86_64',
      'eu-west-1/x86_64',
      'eu-west-1/arm64',
      'us-east-1/x86_64'
    ])
    expect(layers[3]).toEqual({ region: 'us-east-1', architecture: 'x86_64', arn: ARN_1, version: 7, status: 'new' })
  })

  it('includes the error of a failed layer', () => {
    setOutputs(sampleReport())

    const layers = JSON.parse(readOutputs().layers ?? '') as Record<string, unknown>[]
    expect(layers[0]).toMatchObject({ arn: null, version: null, status: 'failed', error: 'AccessDeniedException: not <authorized>\nfor this' })
  })

  it('writes one ARN per line', () => {
    setOutputs(sampleReport())

    expect(readOutputs().arns).toBe([ARN_2, ARN_3, ARN_1].join('\n'))
  })

  it('writes version and zip outputs', () => {
    setOutputs(sampleReport())

    const outputs = readOutputs()
    expect(outputs['php-version']).toBe('8.4.3')
    expect(outputs['zip-path']).toBe('/tmp/layer.zip')
    expect(outputs['zip-sha256']).toBe('a'.repeat(64))
    expect(outputs['update-available']).toBeUndefined()
  })

  it('writes update-available in check mode', () => {
    setOutputs({ phpVersion: '8.4.4', extensions: [], layers: [], updateAvailable: true })

    const outputs = readOutputs()
    expect(outputs['update-available']).toBe('true')
    expect(outputs.arns).toBe('')
    expect(outputs['zip-path']).toBeUndefined()
  })

  it('logs an info line per output', () => {
    setOutputs(sampleReport())

    const logged = (process.stdout.write as jest.Mock).mock.calls.map((call) => String(call[0]))
    expect(logged).toContain('Output layers: 4 entries (1 new, 2 reused, 1 failed, 0 dry-run)\n')
    expect(logged).toContain('Output arns: 3 ARNs\n')
    expect(logged).toContain('Output php-version: 8.4.3\n')
  })
})

describe('writeJobSummary', () => {
  it('writes the table and failures', async () => {
    expect(await writeJobSummary(sampleReport())).toBe(true)

    const summary = readFileSync(summaryFile, 'utf8')
    expect(summary).toContain('<h2>PHP 8.4.3 runtime layer</h2>')
    expect(summary).toContain('<b>Extensions:</b> curl, mbstring, opcache')
    expect(summary).toContain(`<tr><td>us-east-1</td><td>x86_64</td><td><code>${ARN_1}</code></td><td>7</td><td>new</td></tr>`)
    expect(summary).toContain('<li>ap-south-1 x86_64: AccessDeniedException: not &lt;authorized&gt;\nfor this</li>')
  })

  it('skips without GITHUB_STEP_SUMMARY', async () => {
    delete process.env.GITHUB_STEP_SUMMARY
    try {
      expect(await writeJobSummary(sampleReport())).toBe(false)
    } finally {
      process.env.GITHUB_STEP_SUMMARY = summaryFile
    }
  })
})

describe('renderLayerTable', () => {
  it('aligns columns', () => {
    const table = renderLayerTable([{ region: 'us-east-1', architecture: 'arm64', arn: 'arn:x', version: 2, status: 'new' }])

    expect(table).toBe(
      [
        '| Region    | Architecture | ARN     | Version | Status |',
        '| --------- | ------------ | ------- | ------- | ------ |',
        '| us-east-1 | arm64        | `arn:x` | 2       | new    |'
      ].join('\n')
    )
  })
})

describe('renderReportMarkdown', () => {
  it('lists version, table and failures', () => {
    const markdown = renderReportMarkdown(sampleReport())

    expect(markdown.startsWith('**PHP 8.4.3** with curl, mbstring, opcache\n\n| Region')).toBe(true)
    expect(markdown).toContain(`\`${ARN_1}\``)
    expect(markdown.endsWith('Failed:\n- ap-south-1 x86_64: AccessDeniedException: not <authorized> for this')).toBe(true)
  })

  it('shows the update check', () => {
    const markdown = renderReportMarkdown({ phpVersion: '8.4.4', extensions: [], layers: [], updateAvailable: false })

    expect(markdown).toBe('**PHP 8.4.4** with no extensions\n\nNewer PHP release available: no')
  })
})
