import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import { parse } from 'yaml'

import { actionRoot } from '../src/paths.js'

interface ActionYml {
  inputs: Record<string, { default?: string }>
  outputs: Record<string, unknown>
}

const action = parse(readFileSync(join(actionRoot(), 'action.yml'), 'utf8')) as ActionYml
const readme = readFileSync(join(actionRoot(), 'README.md'), 'utf8')

/** Returns the rows of the first Markdown table under a `## heading`, each as its cells. */
function tableUnder(heading: string): string[][] {
  const section = readme.split(/^## /m).find((part) => part.startsWith(`${heading}\n`))
  if (section === undefined) {
    throw new Error(`README.md has no "## ${heading}" section`)
  }

  const rows = section.split('\n').filter((line) => line.startsWith('|'))
  return rows.slice(2).map((row) =>
    row
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((cell) => cell.trim())
  )
}

/** Reads a cell like `` `x86_64` `` or (empty) as the value it shows. */
function cellValue(cell: string): string {
  return cell === '(empty)' ? '' : cell.replace(/^`(.*)`$/, '$1')
}

describe('README tables', () => {
  it('list the inputs of action.yml in order', () => {
    const names = tableUnder('Inputs').map((row) => cellValue(row[0] ?? ''))
    expect(names).toEqual(Object.keys(action.inputs))
  })

  it('show the defaults of action.yml', () => {
    for (const row of tableUnder('Inputs')) {
      const name = cellValue(row[0] ?? '')
      expect([name, cellValue(row[1] ?? '')]).toEqual([name, action.inputs[name]?.default ?? ''])
    }
  })

  it('list the outputs of action.yml in order', () => {
    const names = tableUnder('Outputs').map((row) => cellValue(row[0] ?? ''))
    expect(names).toEqual(Object.keys(action.outputs))
  })
})
