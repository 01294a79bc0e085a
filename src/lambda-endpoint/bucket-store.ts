import { createHash } from 'node:crypto'

export interface StoredObject {
  body: Buffer
  /** Quoted MD5 hex of the body, as S3 returns it for a single-part upload. */
  etag: string
  lastModified: Date
}

interface Bucket {
  region: string
  objects: Map<string, StoredObject>
}

/** S3 buckets, each in one Region, holding objects in memory. */
export class BucketStore {
  private readonly buckets = new Map<string, Bucket>()

  create(name: string, region: string): void {
    const existing = this.buckets.get(name)
    if (existing !== undefined && existing.region !== region) {
      throw new Error(`bucket ${name} already exists in ${existing.region}; bucket names are global, so pick another name for ${region}`)
    }
    if (existing === undefined) {
      this.buckets.set(name, { region, objects: new Map() })
    }
  }

  /** Returns the bucket's Region, or undefined when no such bucket exists. */
  regionOf(name: string): string | undefined {
    return this.buckets.get(name)?.region
  }

  put(bucket: string, key: string, body: Buffer, now: Date): StoredObject {
    const objects = this.objectsOf(bucket)
    const object = { body, etag: `"${createHash('md5').update(body).digest('hex')}"`, lastModified: now }

    objects.set(key, object)
    return object
  }

  get(bucket: string, key: string): StoredObject | undefined {
    return this.buckets.get(bucket)?.objects.get(key)
  }

  private objectsOf(bucket: string): Map<string, StoredObject> {
    const found = this.buckets.get(bucket)
    if (found === undefined) {
      throw new Error(`bucket ${bucket} does not exist`)
    }
    return found.objects
  }
}
