import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { parse } from 'yaml'

import { DEFAULT_INPUTS, InputError, parseConfig, type Inputs } from '../src/inputs.js'
import { actionRoot } from '../src/paths.js'

// GitHub Actions cannot run here, so these tests check the example workflows offline. Every step
// that uses this action must pass only inputs that action.yml declares. With the workflow
// expressions replaced by sample values, the action's own input parser must accept them.
// Empty files in a temporary workspace stand in for the artifacts a publish step downloads.

interface Step {
  uses?: string
  with?: Record<string, string | boolean | number>
}

interface Workflow {
  jobs: Record<string, { steps: Step[] }>
}

const folder = join(actionRoot(), 'examples', 'workflows')
const action = parse(readFileSync(join(actionRoot(), 'action.yml'), 'utf8')) as { inputs: Record<string, unknown> }

// Sample values for the expressions the examples use.
const EXPRESSIONS: Record<string, string> = {
  'matrix.architecture': 'x86_64',
  'matrix.php-version': '8.3',
  'needs.check.outputs.php-version': '8.4.1',
  'github.token': 'ghs_example'
}

function actionSteps(file: string): Step[] {
  const workflow = parse(readFileSync(join(folder, file), 'utf8')) as Workflow
  return Object.values(workflow.jobs).flatMap((job) => job.steps.filter((step) => step.uses?.startsWith('org/runtime-layer-action@')))
}

function substitute(value: string): string {
  return value.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_match, expression: string) => {
    const sample = EXPRESSIONS[expression]
    if (sample === undefined) {
      throw new Error(`no sample value for \${{ ${expression} }}`)
    }
    return sample
  })
}

const files = readdirSync(folder).filter((file) => file.endsWith('.yml'))

describe('example workflows', () => {
  let workspace: string

  beforeAll(() => {
    workspace = mkdtempSync(join(tmpdir(), 'examples-workflows-'))
    mkdirSync(join(workspace, 'layers'))
    writeFileSync(join(workspace, 'layers', 'php-8.4.1-x86_64.zip'), '')
    writeFileSync(join(workspace, 'layers', 'php-8.4.1-arm64.zip'), '')
  })

  afterAll(() => {
    rmSync(workspace, { recursive: true, force: true })
  })

  it('lists the three examples', () => {
    expect(files.sort()).toEqual(['php-versions.yml', 'release.yml', 'scheduled-rebuild.yml'])
  })

  it.each(files)('%s uses declared inputs only', (file) => {
    const steps = actionSteps(file)
    expect(steps.length).toBeGreaterThan(0)

    for (const step of steps) {
      for (const name of Object.keys(step.with ?? {})) {
        expect(Object.keys(action.inputs)).toContain(name)
      }
    }
  })

  it.each(files)('%s passes valid inputs', (file) => {
    for (const step of actionSteps(file)) {
      const stepInputs = Object.fromEntries(Object.entries(step.with ?? {}).map(([name, value]) => [name, substitute(String(value))]))
      const inputs: Inputs = { ...DEFAULT_INPUTS, 'github-token': 'ghs_example', ...stepInputs }

      let errors: string[] = []
      try {
        parseConfig(inputs, { validateExtensions: () => [], env: { GITHUB_REF: 'refs/tags/v1.0.0', GITHUB_WORKSPACE: workspace }, hostArchitecture: 'x86_64', warn: () => {} })
      } catch (error) {
        if (!(error instanceof InputError)) {
          throw error
        }
        errors = error.errors
      }
      expect(errors).toEqual([])
    }
  })
})
