import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import { parse } from 'yaml'

import { actionRoot } from '../src/paths.js'
import { DEFAULT_INPUTS, getInputs, INPUT_NAMES } from '../src/inputs.js'
import { OUTPUT_NAMES } from '../src/report.js'

interface ActionInput {
  description?: string
  required?: boolean
  default?: string
}

interface ActionYml {
  inputs: Record<string, ActionInput>
  outputs: Record<string, { description?: string }>
  runs: { using: string; main: string }
}

const action = parse(readFileSync(join(actionRoot(), 'action.yml'), 'utf8')) as ActionYml

describe('action.yml', () => {
  it('declares the inputs src/inputs.ts reads', () => {
    expect(Object.keys(action.inputs)).toEqual([...INPUT_NAMES])
  })

  it('has getInputs read every input once', () => {
    // @actions/core reads INPUT_<NAME> from process.env, so a Proxy records which names it reads.
    const original = process.env
    const read: string[] = []
    process.env = new Proxy(
      { ...original },
      {
        get(target, key) {
          if (typeof key === 'string' && key.startsWith('INPUT_')) {
            read.push(key)
          }
          return Reflect.get(target, key)
        }
      }
    )

    try {
      getInputs()
    } finally {
      process.env = original
    }

    const expected = Object.keys(action.inputs).map((name) => `INPUT_${name.toUpperCase()}`)
    expect(read.sort()).toEqual(expected.sort())
  })

  it('returns each input value', () => {
    const original = process.env
    process.env = { ...original }
    for (const name of INPUT_NAMES) {
      process.env[`INPUT_${name.toUpperCase()}`] = ` value of ${name} `
    }

    try {
      const inputs = getInputs()
      for (const name of INPUT_NAMES) {
        expect(inputs[name]).toBe(`value of ${name}`)
      }
    } finally {
      process.env = original
    }
  })

  it('describes every input', () => {
    for (const [name, input] of Object.entries(action.inputs)) {
      expect({ name, description: (input.description ?? '').length > 20 }).toEqual({ name, description: true })
      expect({ name, required: input.required }).toEqual({ name, required: false })
    }
  })

  it('matches the defaults in src/inputs.ts', () => {
    for (const name of INPUT_NAMES) {
      const declared = action.inputs[name]?.default
      if (name === 'github-token') {
        expect(declared).toBe('${{ github.token }}')
      } else if (name === 'public') {
        expect(declared).toBeUndefined()
      } else {
        expect({ name, default: declared }).toEqual({ name, default: DEFAULT_INPUTS[name] })
      }
    }
  })

  it('explains inputs without a fixed default', () => {
    expect(action.inputs.public?.description).toContain('When empty: true, unless organization-id is set.')
  })

  it('declares the outputs src/report.ts sets', () => {
    expect(Object.keys(action.outputs)).toEqual([...OUTPUT_NAMES])
    for (const output of Object.values(action.outputs)) {
      expect(output.description).toBeTruthy()
    }
  })

  it('runs dist/index.js on node24', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js' })
  })
})
