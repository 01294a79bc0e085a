import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Returns the action's root folder (the one holding action.yml), whether this code runs from
 * the ncc bundle in dist/ or from the TypeScript sources in src/.
 */
export function actionRoot(): string {
  let folder = dirname(fileURLToPath(import.meta.url))

  while (!existsSync(join(folder, 'action.yml'))) {
    const parent = dirname(folder)
    if (parent === folder) {
      throw new Error(`action.yml not found above ${fileURLToPath(import.meta.url)}`)
    }
    folder = parent
  }

  return folder
}

/** Returns the path of a file under the action's runtime/ folder (build recipe, bootstrap, php.ini). */
export function runtimePath(...parts: string[]): string {
  return join(actionRoot(), 'runtime', ...parts)
}

/** Folders one run of the action works in. */
export interface WorkFolders {
  /** Kept between runs when the caller caches it: PHP tarballs, PECL tarballs, build root, ccache. */
  cacheDir: string
  /** Layer trees and the smoke test's files for this run. */
  workDir: string
  /** The layer zips, which outlive the run as outputs, artifacts and release assets. */
  outputDir: string
}

/**
 * Returns the run's folders. RUNTIME_LAYER_ACTION_CACHE_DIR and RUNTIME_LAYER_ACTION_OUTPUT_DIR
 * override the cache and output folders (the local demo keeps them in the repository); otherwise
 * they live under the runner's temporary folder.
 */
export function workFolders(env: NodeJS.ProcessEnv = process.env): WorkFolders {
  const base = join(env.RUNNER_TEMP || tmpdir(), 'runtime-layer-action')
  return {
    cacheDir: resolve(env.RUNTIME_LAYER_ACTION_CACHE_DIR || join(base, 'cache')),
    workDir: join(base, 'work'),
    outputDir: resolve(env.RUNTIME_LAYER_ACTION_OUTPUT_DIR || join(base, 'out'))
  }
}
