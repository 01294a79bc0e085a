import { parseEndpointCliArgs } from '../src/lambda-endpoint/cli.js'

describe('parseEndpointCliArgs', () => {
  it('uses defaults', () => {
    expect(parseEndpointCliArgs([])).toEqual({ port: 4566, accountId: '123456789012', buckets: {} })
  })

  it('creates buckets by name and by template', () => {
    const settings = parseEndpointCliArgs([
      '--port',
      '0',
      '--bucket',
      'shared=us-east-1',
      '--bucket-template',
      'layers-{region}',
      '--regions',
      'eu-west-1, ap-northeast-1'
    ])

    expect(settings?.port).toBe(0)
    expect(settings?.buckets).toEqual({
      shared: 'us-east-1',
      'layers-eu-west-1': 'eu-west-1',
      'layers-ap-northeast-1': 'ap-northeast-1'
    })
  })

  it('returns undefined for --help', () => {
    expect(parseEndpointCliArgs(['--help'])).toBeUndefined()
  })

  it.each([
    [['--port', '70000'], /--port 70000: expected a whole number from 0 to 65535/],
    [['--account-id', '42'], /--account-id 42: expected twelve digits/],
    [['--bucket', 'no-region'], /--bucket no-region: expected NAME=REGION/],
    [['--bucket-template', 'layers', '--regions', 'eu-west-1'], /needs \{region\} in the name and a --regions list/],
    [['--bucket-template', 'layers-{region}'], /needs \{region\} in the name and a --regions list/]
  ])('rejects %j', (argv, message) => {
    expect(() => parseEndpointCliArgs(argv)).toThrow(message)
  })
})
