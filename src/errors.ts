/** Returns a readable message for anything thrown, including non-Error values. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    return error.message
  }

  return String(error)
}
