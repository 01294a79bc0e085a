/**
 * Lambda's limit on the unzipped size of a function and all its layers together: "250 MB
 * (unzipped, including layers)" on the AWS Lambda quotas page
 * (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). The API rejects a
 * larger layer with "Unzipped size must be smaller than 262144000 bytes".
 */
export const LAMBDA_UNZIPPED_LIMIT_BYTES = 262_144_000

/**
 * PublishLayerVersion request bodies must be smaller than this, from the error Lambda returns
 * (413 RequestEntityTooLargeException, quoted in user reports from 2019 and 2020): the "50 MB
 * (zipped, for direct upload)" quota once the zip is base64-encoded into the JSON body.
 * NOTE: a 2024 report quotes 70167211 bytes, so AWS may have raised it; this is the lower value.
 */
export const PUBLISH_REQUEST_LIMIT_BYTES = 69_905_067

/** Maximum lengths of PublishLayerVersion's Description and LicenseInfo (Lambda API reference). */
export const DESCRIPTION_MAX_LENGTH = 256
export const LICENSE_INFO_MAX_LENGTH = 512
