// A layer-shaped tree built from this machine's PHP, for the smoke test tests. It contains the
// system PHP binary as bin/php, its shared extensions with their conf.d, the runtime files, and
// in lib/ every library that ldd lists for them except glibc's own. Run in a bare root, it
// proves that the layout is self-contained the way a real build must be.

import { execFile } from 'node:child_process'
import { chmod, copyFile, cp, mkdir, readFile, readdir, realpath, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { promisify } from 'node:util'

import { glibcRuntimeFiles, listGlibcPackage } from '../src/bare-root.js'
import { runtimePath } from '../src/paths.js'

const execFileAsync = promisify(execFile)

/** A layer assembled from the system PHP. */
export interface SystemPhpLayer {
  dir: string
  /** PHP_VERSION of the system PHP. */
  phpVersion: string
  /** Extensions the system PHP loads, by the names the smoke test uses (opcache, curl, ...). */
  extensions: string[]
  /** Environment the runtime needs: the system PHP looks for its conf.d under /etc, so the scan folder is set. */
  env: Record<string, string>
  /** File names in lib/. */
  libraries: string[]
}

/** Runs the system PHP with its own configuration and returns stdout. */
async function systemPhp(code: string): Promise<string> {
  const { stdout } = await execFileAsync('php', ['-r', code])
  return stdout
}

/** Lists the shared libraries ldd resolves for a file: soname -> path. */
async function lddLibraries(file: string): Promise<Map<string, string>> {
  const { stdout } = await execFileAsync('ldd', [file])
  const libraries = new Map<string, string>()

  for (const line of stdout.split('\n')) {
    const match = /^\s*(\S+) => (\/\S+) \(/.exec(line)
    if (match !== null) {
      libraries.set(match[1] as string, match[2] as string)
    }
  }

  return libraries
}

/** Returns the system PHP's loaded extensions in the smoke test's names. */
async function loadedExtensions(): Promise<string[]> {
  const names = JSON.parse(await systemPhp('echo json_encode(get_loaded_extensions());')) as string[]
  return names.map((name) => (name === 'Zend OPcache' ? 'opcache' : name.toLowerCase()))
}

/** Assembles the layer in `dir` (created, must be empty or missing). */
export async function assembleSystemPhpLayer(dir: string): Promise<SystemPhpLayer> {
  const phpBinary = await realpath((await execFileAsync('sh', ['-c', 'command -v php'])).stdout.trim())
  const extensionDir = (await systemPhp("echo ini_get('extension_dir');")).trim()
  const scannedIni = (await systemPhp('echo php_ini_scanned_files();'))
    .split(/[,\n]/)
    .map((file) => file.trim())
    .filter((file) => file.endsWith('.ini'))

  for (const folder of ['bin', 'lib', 'php/etc', 'php/conf.d', 'php/extensions', 'php/runtime']) {
    await mkdir(join(dir, folder), { recursive: true })
  }

  await copyFile(runtimePath('bootstrap'), join(dir, 'bootstrap'))
  await chmod(join(dir, 'bootstrap'), 0o755)
  await copyFile(runtimePath('php.ini'), join(dir, 'php/etc/php.ini'))
  await cp(runtimePath('src'), join(dir, 'php/runtime'), { recursive: true })
  await copyFile(phpBinary, join(dir, 'bin/php'))

  // The system PHP's compiled-in extension folder is under /usr/lib/php; point it at the layer's.
  await writeFile(join(dir, 'php/conf.d/00-extension-dir.ini'), 'extension_dir=/opt/php/extensions\n')
  const elfFiles = [phpBinary]
  for (const ini of scannedIni) {
    const text = await readFile(ini, 'utf8')
    await writeFile(join(dir, 'php/conf.d', basename(ini)), text)

    for (const match of text.matchAll(/^\s*(?:zend_)?extension\s*=\s*"?([^"\s]+?)(?:\.so)?"?\s*$/gm)) {
      const file = join(extensionDir, `${match[1] as string}.so`)
      await copyFile(file, join(dir, 'php/extensions', basename(file)))
      elfFiles.push(file)
    }
  }

  const glibc = new Set(glibcRuntimeFiles((await listGlibcPackage('/')).files).map((file) => basename(file)))
  const libraries = new Map<string, string>()
  for (const file of elfFiles) {
    for (const [soname, path] of await lddLibraries(file)) {
      if (!glibc.has(soname)) {
        libraries.set(soname, path)
      }
    }
  }
  for (const [soname, path] of libraries) {
    await copyFile(path, join(dir, 'lib', soname))
  }

  return {
    dir,
    phpVersion: (await systemPhp('echo PHP_VERSION;')).trim(),
    extensions: await loadedExtensions(),
    env: { PHP_INI_SCAN_DIR: '/opt/php/conf.d' },
    libraries: (await readdir(join(dir, 'lib'))).sort()
  }
}
