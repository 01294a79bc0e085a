import * as core from '@actions/core'

import { errorMessage } from './errors.js'

/** Runs the action: inputs -> resolve -> build -> smoke test -> package -> publish -> report. */
export async function run(): Promise<void> {
  try {
    core.info('runtime-layer-action: no stages are wired yet')
  } catch (error) {
    core.setFailed(errorMessage(error))
  }
}
