import { LambdaClient, ListLayerVersionsCommand, type LambdaClientConfig } from '@aws-sdk/client-lambda'

import type { Architecture } from './inputs.js'

/** Location of the published layer to read. */
export interface PublishedLayerQuery {
  region: string
  layerName: string
  architecture: Architecture
  /** Lambda endpoint URL to use instead of AWS's. `{region}` in it is replaced by the Region. */
  lambdaEndpoint?: string
  maxAttempts: number
  /** For tests and local endpoints; unset means the SDK's default credential chain. */
  credentials?: LambdaClientConfig['credentials']
}

/** The newest published version of a layer and the PHP version its description names. */
export interface PublishedLayer {
  layerVersionArn: string
  version: number
  /** Full PHP version (8.4.3) read from the description, undefined when it names none. */
  phpVersion?: string
}

// Descriptions this action generates start with "PHP X.Y.Z"; a custom description must contain
// the same words for check mode to read the version.
const PHP_VERSION_IN_DESCRIPTION = /\bPHP (\d+\.\d+\.\d+)\b/

/**
 * Returns the newest version of the layer for this architecture in one Region, or undefined when
 * none is published yet.
 */
export async function findPublishedLayer(query: PublishedLayerQuery): Promise<PublishedLayer | undefined> {
  const endpoint = query.lambdaEndpoint?.replaceAll('{region}', query.region)
  const client = new LambdaClient({
    region: query.region,
    maxAttempts: query.maxAttempts,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(query.credentials === undefined ? {} : { credentials: query.credentials })
  })

  try {
    const output = await client.send(
      new ListLayerVersionsCommand({ LayerName: query.layerName, CompatibleArchitecture: query.architecture, MaxItems: 1 })
    )
    const newest = output.LayerVersions?.[0]
    if (newest?.LayerVersionArn === undefined || newest.Version === undefined) {
      return undefined
    }

    return {
      layerVersionArn: newest.LayerVersionArn,
      version: newest.Version,
      phpVersion: PHP_VERSION_IN_DESCRIPTION.exec(newest.Description ?? '')?.[1]
    }
  } finally {
    client.destroy()
  }
}

/** Builds the layer version description: the PHP version first (check mode reads it back), then the extensions. */
export function describeLayer(phpVersion: string, architecture: Architecture, extensions: readonly string[]): string {
  return `PHP ${phpVersion} runtime (${architecture}) with ${extensions.join(', ')}`
}
