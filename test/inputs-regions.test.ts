import { defaultEnabledRegionCodes, findLambdaRegion, LAMBDA_REGIONS, lambdaRegionCodes, optInRegionCodes } from '../src/regions.js'

describe('LAMBDA_REGIONS', () => {
  it('lists 34 unique sorted codes', () => {
    const codes = lambdaRegionCodes()
    expect(codes).toHaveLength(34)
    expect(new Set(codes).size).toBe(34)
    expect(codes).toEqual([...codes].sort())
  })

  it('uses the aws partition code pattern', () => {
    for (const region of LAMBDA_REGIONS) {
      expect(region.code).toMatch(/^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$/)
    }
  })

  it('splits into 17 default and 17 opt-in', () => {
    expect(defaultEnabledRegionCodes()).toHaveLength(17)
    expect(optInRegionCodes()).toHaveLength(17)
  })

  it('marks regions before 2019-03-20 as default', () => {
    for (const code of ['us-east-1', 'eu-north-1', 'ap-northeast-3', 'sa-east-1', 'ca-central-1']) {
      expect(findLambdaRegion(code)?.optIn).toBe(false)
    }
  })

  it('marks later regions as opt-in', () => {
    for (const code of ['ap-east-1', 'me-south-1', 'af-south-1', 'ap-east-2', 'ap-southeast-6', 'mx-central-1']) {
      expect(findLambdaRegion(code)?.optIn).toBe(true)
    }
  })

  it('excludes other partitions', () => {
    expect(findLambdaRegion('cn-north-1')).toBeUndefined()
    expect(findLambdaRegion('us-gov-west-1')).toBeUndefined()
  })
})
