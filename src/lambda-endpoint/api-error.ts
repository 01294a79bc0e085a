/**
 * An error the endpoint returns to a client: the HTTP status, the error code the SDK turns into
 * the exception name, and the message. Lambda sends it as JSON, S3 as XML.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra members of the JSON (Lambda) or XML (S3) error body. */
    readonly fields: Record<string, string> = {},
    /** Extra response headers, such as Retry-After. */
    readonly headers: Record<string, string> = {}
  ) {
    super(message)
    this.name = code
  }
}

// The Lambda SDK model reads the message of these errors from `Message`. Every other Lambda
// error, modeled or not, carries it in `message` (@aws-sdk/client-lambda 3.1178.0 schemas).
const CAPITALIZED_MESSAGE_ERRORS = new Set(['ResourceNotFoundException', 'ServiceException'])

/** Builds the JSON body of a Lambda error response. */
export function lambdaErrorBody(error: ApiError): string {
  const messageField = CAPITALIZED_MESSAGE_ERRORS.has(error.code) ? 'Message' : 'message'
  const type = error.status >= 500 ? 'Service' : 'User'

  return JSON.stringify({ Type: type, [messageField]: error.message, ...error.fields })
}

/** Builds the XML body of an S3 error response. */
export function s3ErrorBody(error: ApiError, requestId: string): string {
  const members = Object.entries({ Code: error.code, Message: error.message, ...error.fields, RequestId: requestId })
    .map(([name, value]) => `<${name}>${escapeXml(value)}</${name}>`)
    .join('')

  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${members}</Error>`
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;')
}
