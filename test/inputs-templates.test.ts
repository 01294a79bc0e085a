import { checkLayerNameTemplate, checkS3BucketTemplate, findPlaceholders, phpLayerNamePart, renderLayerName, renderS3Bucket } from '../src/templates.js'

describe('phpLayerNamePart', () => {
  it.each([
    ['8.4.3', '8_4'],
    ['8.4', '8_4'],
    ['8.10.0', '8_10'],
    ['8.5.0RC1', '8_5']
  ])('turns %s into %s', (version, part) => {
    expect(phpLayerNamePart(version)).toBe(part)
  })

  it('rejects latest', () => {
    expect(() => phpLayerNamePart('latest')).toThrow('invalid PHP version "latest"')
  })
})

describe('renderLayerName', () => {
  it('fills both placeholders', () => {
    expect(renderLayerName('php-{php}-{arch}', '8.4.3', 'arm64')).toBe('php-8_4-arm64')
  })

  it('fills repeated placeholders', () => {
    expect(renderLayerName('{arch}-php{php}-{arch}', '8.3.14', 'x86_64')).toBe('x86_64-php8_3-x86_64')
  })

  it('rejects a rendered name Lambda would reject', () => {
    expect(() => renderLayerName('php {php}', '8.4.3', 'x86_64')).toThrow('layer-name "php {php}" renders to "php 8_4", which contains characters')
  })
})

describe('renderS3Bucket', () => {
  it('fills the region', () => {
    expect(renderS3Bucket('layers-{region}', 'eu-west-1')).toBe('layers-eu-west-1')
  })

  it('rejects a trailing dot', () => {
    expect(() => renderS3Bucket('layers.', 'eu-west-1')).toThrow('ends with "."')
  })
})

describe('template checks', () => {
  it('finds placeholders in order', () => {
    expect(findPlaceholders('{arch}-{php}-{arch}')).toEqual(['arch', 'php', 'arch'])
  })

  it('accepts a layer name without {php}', () => {
    expect(checkLayerNameTemplate('php-current-{arch}', ['x86_64', 'arm64'])).toEqual([])
  })

  it('accepts a layer name without {arch} for one architecture', () => {
    expect(checkLayerNameTemplate('php-{php}', ['arm64'])).toEqual([])
  })

  it('rejects an empty layer name', () => {
    expect(checkLayerNameTemplate('', ['x86_64'])).toEqual(['layer-name is empty: give a name such as php-{php}-{arch}'])
  })

  it('accepts an empty bucket', () => {
    expect(checkS3BucketTemplate('', ['us-east-1'])).toEqual([])
  })

  it('checks the bucket with the longest region', () => {
    const template = `${'b'.repeat(49)}-{region}`
    expect(checkS3BucketTemplate(template, ['us-east-1'])[0]).toContain('which is 64 characters long')
    expect(checkS3BucketTemplate(template.slice(1), ['us-east-1'])).toEqual([])
  })
})
