import { randomBytes } from 'node:crypto'

/** Values that make up a runtime's Lambda environment. */
export interface LambdaEnvironmentSettings {
  /** `host:port` of the runtime API. */
  runtimeApi: string
  /** Handler, passed as _HANDLER. */
  handler: string
  /** Function code folder, passed as LAMBDA_TASK_ROOT. */
  taskRoot: string
  /** Folder of the mounted layers: `/opt` in Lambda, a layer folder when run locally. */
  optDir: string
  functionName: string
  functionVersion: string
  memorySizeMb: number
  region: string
  /** Start time, used for the date in the log stream name. */
  now: Date
}

/** Folder of Lambda's own runtime files (LAMBDA_RUNTIME_DIR). */
export const LAMBDA_RUNTIME_DIR = '/var/runtime'

/**
 * Builds the environment Lambda gives a runtime process. Names and values follow the
 * environment of deployed functions and of AWS's provided.al2023 base image:
 * `PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin`,
 * `LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib`,
 * `TZ=:UTC`, `LANG=en_US.UTF-8`, log group `/aws/lambda/NAME`, log stream
 * `YYYY/MM/DD/[VERSION]` followed by 32 hex digits. `/var/task` and `/opt` are replaced by
 * `taskRoot` and `optDir`, so a layer folder can stand in for /opt. No credentials are set.
 */
export function lambdaEnvironment(settings: LambdaEnvironmentSettings): Record<string, string> {
  const { taskRoot, optDir } = settings

  return {
    AWS_LAMBDA_RUNTIME_API: settings.runtimeApi,
    _HANDLER: settings.handler,
    LAMBDA_TASK_ROOT: taskRoot,
    LAMBDA_RUNTIME_DIR,
    AWS_LAMBDA_FUNCTION_NAME: settings.functionName,
    AWS_LAMBDA_FUNCTION_VERSION: settings.functionVersion,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(settings.memorySizeMb),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${settings.functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: logStreamName(settings.now, settings.functionVersion),
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_REGION: settings.region,
    AWS_DEFAULT_REGION: settings.region,
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
    PATH: ['/var/lang/bin', '/usr/local/bin', '/usr/bin/', '/bin', `${optDir}/bin`].join(':'),
    LD_LIBRARY_PATH: [
      '/var/lang/lib',
      '/lib64',
      '/usr/lib64',
      LAMBDA_RUNTIME_DIR,
      `${LAMBDA_RUNTIME_DIR}/lib`,
      taskRoot,
      `${taskRoot}/lib`,
      `${optDir}/lib`
    ].join(':')
  }
}

function logStreamName(now: Date, functionVersion: string): string {
  const date = now.toISOString().slice(0, 10).replaceAll('-', '/')
  return `${date}/[${functionVersion}]${randomBytes(16).toString('hex')}`
}
