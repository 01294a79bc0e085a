import { LAMBDA_REGIONS } from './regions.js'

/** Placeholders allowed in `layer-name`. */
export const LAYER_NAME_PLACEHOLDERS = ['php', 'arch'] as const

/** Placeholders allowed in `s3-bucket`. */
export const S3_BUCKET_PLACEHOLDERS = ['region'] as const

// LayerName in the Lambda API reference (PublishLayerVersion): 1 to 140 characters of this set.
const LAYER_NAME_PATTERN = /^[a-zA-Z0-9_-]+$/
const LAYER_NAME_MAX_LENGTH = 140

// LayerVersionContentInput.S3Bucket in the Lambda API reference: 3 to 63 characters of
// [0-9A-Za-z.-_], not ending with a dot.
const S3_BUCKET_PATTERN = /^[0-9A-Za-z._-]*[0-9A-Za-z_-]$/
const S3_BUCKET_MIN_LENGTH = 3
const S3_BUCKET_MAX_LENGTH = 63

// The longest values a placeholder can take, for checking a template's length before the PHP
// version is resolved: a two-digit major and minor version, and the longest architecture and
// Region codes.
const LONGEST_PHP_PART = '99_99'
const LONGEST_ARCHITECTURE = 'x86_64'
const LONGEST_REGION = LAMBDA_REGIONS.map((region) => region.code).reduce((a, b) => (b.length > a.length ? b : a))

const PLACEHOLDER = /\{([^{}]*)\}/g

/** Returns the placeholder names used in a template, in order of appearance. */
export function findPlaceholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((match) => match[1] ?? '')
}

/** Replaces each `{name}` in the template with its value. Names without a value stay as they are. */
export function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(PLACEHOLDER, (whole, name: string) => values[name] ?? whole)
}

/**
 * Returns the `{php}` value for a PHP version: major and minor joined by an underscore, so
 * `8.4.3`, `8.4` and `8.4.0RC1` all give `8_4`. Layer names cannot contain dots.
 */
export function phpLayerNamePart(phpVersion: string): string {
  const match = /^(\d+)\.(\d+)/.exec(phpVersion)
  if (match === null) {
    throw new Error(`invalid PHP version "${phpVersion}": expected MAJOR.MINOR or MAJOR.MINOR.PATCH`)
  }

  return `${match[1]}_${match[2]}`
}

/** Renders `layer-name` for one resolved PHP version and architecture, and checks the result against Lambda's rules. */
export function renderLayerName(template: string, phpVersion: string, architecture: string): string {
  const name = fillTemplate(template, { php: phpLayerNamePart(phpVersion), arch: architecture })

  const problem = layerNameProblem(name)
  if (problem !== undefined) {
    throw new Error(`layer-name "${template}" renders to "${name}", which ${problem}`)
  }

  return name
}

/** Renders `s3-bucket` for one Region and checks the result against Lambda's rules. */
export function renderS3Bucket(template: string, region: string): string {
  const bucket = fillTemplate(template, { region })

  const problem = s3BucketProblem(bucket)
  if (problem !== undefined) {
    throw new Error(`s3-bucket "${template}" renders to "${bucket}", which ${problem}`)
  }

  return bucket
}

/**
 * Checks a `layer-name` template before the PHP version is known. Returns one message per
 * problem: unknown placeholders, characters Lambda rejects, a name that could exceed 140
 * characters, or a missing `{arch}` when several architectures would share one layer.
 */
export function checkLayerNameTemplate(template: string, architectures: readonly string[]): string[] {
  const errors = unknownPlaceholderErrors('layer-name', template, LAYER_NAME_PLACEHOLDERS)
  if (errors.length > 0) {
    return errors
  }

  if (template === '') {
    return ['layer-name is empty: give a name such as php-{php}-{arch}']
  }

  const longest = fillTemplate(template, { php: LONGEST_PHP_PART, arch: LONGEST_ARCHITECTURE })
  const problem = layerNameProblem(longest)
  if (problem !== undefined) {
    errors.push(`layer-name "${template}" is invalid: with the longest values it renders to "${longest}", which ${problem}`)
  }

  if (architectures.length > 1 && !findPlaceholders(template).includes('arch')) {
    errors.push(
      `layer-name "${template}" has no {arch} placeholder, but architectures lists ${architectures.join(' and ')}: ` +
        'each architecture needs its own layer, so add {arch}, e.g. php-{php}-{arch}'
    )
  }

  return errors
}

/**
 * Checks an `s3-bucket` template: unknown placeholders, and characters or lengths that Lambda
 * rejects for any of the given Regions. An empty template is valid (no S3 upload).
 */
export function checkS3BucketTemplate(template: string, regions: readonly string[]): string[] {
  if (template === '') {
    return []
  }

  const errors = unknownPlaceholderErrors('s3-bucket', template, S3_BUCKET_PLACEHOLDERS)
  if (errors.length > 0) {
    return errors
  }

  const usesRegion = findPlaceholders(template).includes('region')
  const regionSamples = usesRegion ? [...regions, LONGEST_REGION] : ['']
  for (const region of regionSamples) {
    const bucket = fillTemplate(template, { region })
    const problem = s3BucketProblem(bucket)
    if (problem !== undefined) {
      errors.push(`s3-bucket "${template}" is invalid: it renders to "${bucket}", which ${problem}`)
      break
    }
  }

  return errors
}

function unknownPlaceholderErrors(input: string, template: string, allowed: readonly string[]): string[] {
  const allowedList = allowed.map((name) => `{${name}}`).join(', ')
  const errors: string[] = []

  for (const name of new Set(findPlaceholders(template))) {
    if (!allowed.includes(name)) {
      errors.push(`${input} "${template}" has an unknown placeholder {${name}}; allowed: ${allowedList}`)
    }
  }

  const withoutPlaceholders = template.replace(PLACEHOLDER, '')
  if (/[{}]/.test(withoutPlaceholders)) {
    errors.push(`${input} "${template}" has an unmatched brace; placeholders are written ${allowedList}`)
  }

  return errors
}

function layerNameProblem(name: string): string | undefined {
  if (!LAYER_NAME_PATTERN.test(name)) {
    return 'contains characters other than letters, digits, "-" and "_"'
  }

  if (name.length > LAYER_NAME_MAX_LENGTH) {
    return `is ${name.length} characters long; Lambda allows at most ${LAYER_NAME_MAX_LENGTH}`
  }

  return undefined
}

function s3BucketProblem(bucket: string): string | undefined {
  if (bucket.length < S3_BUCKET_MIN_LENGTH || bucket.length > S3_BUCKET_MAX_LENGTH) {
    return `is ${bucket.length} characters long; bucket names have ${S3_BUCKET_MIN_LENGTH} to ${S3_BUCKET_MAX_LENGTH}`
  }

  if (!S3_BUCKET_PATTERN.test(bucket)) {
    return 'contains characters other than letters, digits, ".", "-" and "_", or ends with "."'
  }

  return undefined
}
