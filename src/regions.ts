/** A commercial AWS Region (partition `aws`) where Lambda runs. */
export interface LambdaRegion {
  code: string
  name: string
  /** Disabled until the account enables it (launched after 2019-03-20). */
  optIn: boolean
}

/**
 * Commercial Regions with a Lambda endpoint, from botocore/data/endpoints.json (partition `aws`,
 * service `lambda`, botocore commit 0e6e2404b85d, 2026-08-07). Opt-in follows the AWS Account
 * Management guide ("Enable or disable AWS Regions in your account"): Regions launched before
 * 2019-03-20 are enabled by default, later ones are opt-in. ap-northeast-3 (Osaka) opened as a
 * local Region in 2018 and is enabled by default.
 *
 * NOTE: a Region launched after that botocore commit is rejected as unknown until it is added here.
 */
export const LAMBDA_REGIONS: readonly LambdaRegion[] = [
  { code: 'af-south-1', name: 'Africa (Cape Town)', optIn: true },
  { code: 'ap-east-1', name: 'Asia Pacific (Hong Kong)', optIn: true },
  { code: 'ap-east-2', name: 'Asia Pacific (Taipei)', optIn: true },
  { code: 'ap-northeast-1', name: 'Asia Pacific (Tokyo)', optIn: false },
  { code: 'ap-northeast-2', name: 'Asia Pacific (Seoul)', optIn: false },
  { code: 'ap-northeast-3', name: 'Asia Pacific (Osaka)', optIn: false },
  { code: 'ap-south-1', name: 'Asia Pacific (Mumbai)', optIn: false },
  { code: 'ap-south-2', name: 'Asia Pacific (Hyderabad)', optIn: true },
  { code: 'ap-southeast-1', name: 'Asia Pacific (Singapore)', optIn: false },
  { code: 'ap-southeast-2', name: 'Asia Pacific (Sydney)', optIn: false },
  { code: 'ap-southeast-3', name: 'Asia Pacific (Jakarta)', optIn: true },
  { code: 'ap-southeast-4', name: 'Asia Pacific (Melbourne)', optIn: true },
  { code: 'ap-southeast-5', name: 'Asia Pacific (Malaysia)', optIn: true },
  { code: 'ap-southeast-6', name: 'Asia Pacific (New Zealand)', optIn: true },
  { code: 'ap-southeast-7', name: 'Asia Pacific (Thailand)', optIn: true },
  { code: 'ca-central-1', name: 'Canada (Central)', optIn: false },
  { code: 'ca-west-1', name: 'Canada West (Calgary)', optIn: true },
  { code: 'eu-central-1', name: 'Europe (Frankfurt)', optIn: false },
  { code: 'eu-central-2', name: 'Europe (Zurich)', optIn: true },
  { code: 'eu-north-1', name: 'Europe (Stockholm)', optIn: false },
  { code: 'eu-south-1', name: 'Europe (Milan)', optIn: true },
  { code: 'eu-south-2', name: 'Europe (Spain)', optIn: true },
  { code: 'eu-west-1', name: 'Europe (Ireland)', optIn: false },
  { code: 'eu-west-2', name: 'Europe (London)', optIn: false },
  { code: 'eu-west-3', name: 'Europe (Paris)', optIn: false },
  { code: 'il-central-1', name: 'Israel (Tel Aviv)', optIn: true },
  { code: 'me-central-1', name: 'Middle East (UAE)', optIn: true },
  { code: 'me-south-1', name: 'Middle East (Bahrain)', optIn: true },
  { code: 'mx-central-1', name: 'Mexico (Central)', optIn: true },
  { code: 'sa-east-1', name: 'South America (Sao Paulo)', optIn: false },
  { code: 'us-east-1', name: 'US East (N. Virginia)', optIn: false },
  { code: 'us-east-2', name: 'US East (Ohio)', optIn: false },
  { code: 'us-west-1', name: 'US West (N. California)', optIn: false },
  { code: 'us-west-2', name: 'US West (Oregon)', optIn: false }
]

/** Returns the Region with this code, or undefined when Lambda has no commercial Region by that code. */
export function findLambdaRegion(code: string): LambdaRegion | undefined {
  return LAMBDA_REGIONS.find((region) => region.code === code)
}

/** Returns the codes of every Region, in alphabetical order. */
export function lambdaRegionCodes(): string[] {
  return LAMBDA_REGIONS.map((region) => region.code)
}

/** Returns the codes that the `all` keyword expands to: every Region enabled by default. */
export function defaultEnabledRegionCodes(): string[] {
  return LAMBDA_REGIONS.filter((region) => !region.optIn).map((region) => region.code)
}

/** Returns the codes of the opt-in Regions, which are published to only when listed by name. */
export function optInRegionCodes(): string[] {
  return LAMBDA_REGIONS.filter((region) => region.optIn).map((region) => region.code)
}
