import { statSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'

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
