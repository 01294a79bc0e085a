export { systemClock, type Clock } from './clock.js'
export { RequestTooLargeError, RuntimeApiEmulator, type EmulatorOptions, type FunctionConfig } from './emulator.js'
export type { CognitoIdentity, InvocationOutcome, InvocationResult, InvokeOptions } from './invocation.js'
export { lambdaEnvironment, type LambdaEnvironmentSettings } from './lambda-env.js'
export { RuntimeProcess, type OutputLine, type RuntimeProcessOptions } from './process.js'
export {
  DEFAULT_TIMEOUT_MS,
  HEADER,
  INVOKE_PATH,
  MAX_EVENT_BYTES,
  MAX_RESPONSE_BYTES,
  PAYLOAD_TOO_LARGE_BODY,
  RUNTIME_API_PREFIX
} from './protocol.js'
export type { RequestRecord, RuntimeRoute } from './runtime-api.js'
export { describeExit, type RuntimeExit, type RuntimeHost } from './runtime-host.js'
export type { InitErrorReport } from './runtime-state.js'
