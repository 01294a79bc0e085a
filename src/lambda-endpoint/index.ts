export { ApiError } from './api-error.js'
export { FaultInjector, type FaultKind, type FaultRule, type Service } from './faults.js'
export type { LambdaOperation } from './lambda-api.js'
export type { LayerVersion, PolicyStatement } from './layer-store.js'
export {
  DEFAULT_ACCOUNT_ID,
  LocalLambdaEndpoint,
  type AuthorizedRequest,
  type EndpointRequest,
  type LocalLambdaEndpointOptions
} from './server.js'
export type { EndpointCredentials } from './signature.js'
