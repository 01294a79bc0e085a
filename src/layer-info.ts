import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'

import yauzl from 'yauzl'

import type { Architecture } from './inputs.js'

/** Path of the layer's manifest inside the layer tree and its zip. */
export const LAYER_INFO_PATH = 'php/layer.json'

/**
 * Manifest of a layer's contents, written into the layer so that a later job publishing the
 * zip (mode publish) reads its architecture, PHP version and extensions without rebuilding it.
 */
export interface LayerInfo {
  phpVersion: string
  architecture: Architecture
  extensions: string[]
}

/** Writes the manifest into a layer tree before it is zipped. */
export async function writeLayerInfo(layerDir: string, info: LayerInfo): Promise<void> {
  const path = join(layerDir, LAYER_INFO_PATH)
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, `${JSON.stringify(info, null, 2)}\n`)
}

/** Reads the manifest from a layer tree. */
export async function readLayerInfo(layerDir: string): Promise<LayerInfo> {
  const path = join(layerDir, LAYER_INFO_PATH)
  return parseLayerInfo(await readFile(path, 'utf8'), path)
}

/** Reads the manifest from a layer zip, failing with the zip's path when it has none. */
export async function readLayerInfoFromZip(zipPath: string): Promise<LayerInfo> {
  const content = await readZipEntry(zipPath, LAYER_INFO_PATH)
  if (content === undefined) {
    throw new Error(`${zipPath} has no ${LAYER_INFO_PATH}: publish only zips built by this action with mode build or build-and-publish`)
  }

  return parseLayerInfo(content.toString('utf8'), `${zipPath}:${LAYER_INFO_PATH}`)
}

function parseLayerInfo(text: string, where: string): LayerInfo {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (error) {
    throw new Error(`${where} is not valid JSON: ${(error as Error).message}`)
  }

  const info = data as Partial<LayerInfo>
  const valid =
    typeof info.phpVersion === 'string' &&
    (info.architecture === 'x86_64' || info.architecture === 'arm64') &&
    Array.isArray(info.extensions) &&
    info.extensions.every((name) => typeof name === 'string')
  if (!valid) {
    throw new Error(`${where} is invalid: expected phpVersion, architecture (x86_64 or arm64) and extensions, got ${text.trim()}`)
  }

  return { phpVersion: info.phpVersion!, architecture: info.architecture!, extensions: info.extensions! }
}

function readZipEntry(zipPath: string, entryName: string): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    yauzl.open(zipPath, { lazyEntries: true }, (openError, zip) => {
      if (openError !== null) {
        reject(new Error(`cannot read ${zipPath} as a zip: ${openError.message}`))
        return
      }

      zip.on('error', reject)
      zip.on('end', () => resolve(undefined))
      zip.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName !== entryName) {
          zip.readEntry()
          return
        }

        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError !== null) {
            reject(streamError)
            return
          }
          const chunks: Buffer[] = []
          stream.on('data', (chunk: Buffer) => chunks.push(chunk))
          stream.on('error', reject)
          stream.on('end', () => {
            zip.close()
            resolve(Buffer.concat(chunks))
          })
        })
      })
      zip.readEntry()
    })
  })
}
