import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
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
