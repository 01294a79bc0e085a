import yauzl from 'yauzl'

/** Summary of an uploaded archive, as PublishLayerVersion checks it. */
export interface ZipSummary {
  entries: number
  /** Sum of the uncompressed sizes recorded in the central directory. */
  unzippedBytes: number
}

/** Reads a zip's central directory; rejects when the buffer is not a readable zip archive. */
export function summarizeZip(buffer: Buffer): Promise<ZipSummary> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buffer, { lazyEntries: true }, (openError, zip) => {
      if (openError !== null || zip === undefined) {
        reject(openError ?? new Error('not a zip archive'))
        return
      }

      let entries = 0
      let unzippedBytes = 0
      zip.on('error', reject)
      zip.on('end', () => resolve({ entries, unzippedBytes }))
      zip.on('entry', (entry: yauzl.Entry) => {
        entries += 1
        unzippedBytes += entry.uncompressedSize
        zip.readEntry()
      })
      zip.readEntry()
    })
  })
}
