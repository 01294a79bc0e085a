import { readdirSync, statSync } from 'node:fs'
import { basename, dirname, isAbsolute, join, resolve } from 'node:path'

/**
 * Parsers for single input values. Each returns the parsed value, or undefined after pushing
 * one message to `errors`, so that the caller can report every bad input at once.
 */

// Booleans as @actions/core's getBooleanInput accepts them (YAML 1.2 core schema).
const TRUE_VALUES = ['true', 'True', 'TRUE']
const FALSE_VALUES = ['false', 'False', 'FALSE']

/** Splits a comma- or newline-separated list, trimming items and dropping empty ones. */
export function parseList(value: string): string[] {
  return value
    .split(/[,\n]/)
    .map((item) => item.trim())
    .filter((item) => item !== '')
}

/** Returns the list without repeated items, keeping the first occurrence of each. */
export function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)]
}

export function parseBoolean(name: string, value: string, errors: string[]): boolean | undefined {
  if (TRUE_VALUES.includes(value)) {
    return true
  }

  if (FALSE_VALUES.includes(value)) {
    return false
  }

  errors.push(`${name} "${value}" is invalid: use true or false`)
  return undefined
}

export function parsePositiveInteger(name: string, value: string, errors: string[]): number | undefined {
  const number = /^\d+$/.test(value) ? Number(value) : Number.NaN
  if (!Number.isSafeInteger(number) || number < 1) {
    errors.push(`${name} "${value}" is invalid: use a whole number of 1 or more`)
    return undefined
  }

  return number
}

export function parseChoice<T extends string>(
  name: string,
  value: string,
  allowed: readonly T[],
  errors: string[]
): T | undefined {
  if ((allowed as readonly string[]).includes(value)) {
    return value as T
  }

  errors.push(`${name} "${value}" is invalid; allowed: ${allowed.join(', ')}`)
  return undefined
}

/** Parses an http or https URL and returns it without a trailing slash. */
export function parseHttpUrl(name: string, value: string, errors: string[]): string | undefined {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    errors.push(`${name} "${value}" is not a valid URL: use an http:// or https:// URL`)
    return undefined
  }

  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    errors.push(`${name} "${value}" uses ${url.protocol.slice(0, -1)}: use an http:// or https:// URL`)
    return undefined
  }

  return value.replace(/\/+$/, '')
}

/** Resolves a path against `base` and checks that a regular file exists there. */
export function parseExistingFile(name: string, value: string, base: string, errors: string[]): string | undefined {
  const path = isAbsolute(value) ? value : resolve(base, value)

  let isFile: boolean
  try {
    isFile = statSync(path).isFile()
  } catch {
    errors.push(`${name} "${value}" not found (looked at ${path})`)
    return undefined
  }

  if (!isFile) {
    errors.push(`${name} "${value}" is not a regular file (${path})`)
    return undefined
  }

  return path
}

/**
 * Expands `*` and `?` in the file name part of a path (not in its folders), so a workflow can
 * name an artifact it did not build itself, such as `layers/*-arm64.zip`. Returns the matching
 * files sorted, or reports an error when none matches. A path without wildcards is checked as is.
 */
export function expandFilePattern(name: string, value: string, base: string, errors: string[]): string[] {
  const file = basename(value)
  if (!/[*?]/.test(file)) {
    const path = parseExistingFile(name, value, base, errors)
    return path === undefined ? [] : [path]
  }

  const folder = resolve(base, dirname(value))
  const pattern = new RegExp(`^${file.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`)
  let names: string[]
  try {
    names = readdirSync(folder)
  } catch {
    errors.push(`${name} "${value}": folder ${folder} not found`)
    return []
  }

  const matches = names
    .filter((entry) => pattern.test(entry))
    .map((entry) => join(folder, entry))
    .filter((path) => statSync(path).isFile())
    .sort()
  if (matches.length === 0) {
    errors.push(`${name} "${value}" matches no file in ${folder}`)
  }

  return matches
}
