import { errorMessage } from './errors.js'

/** Outcome of reading a command line: the settings to run with, or the exit code to end with. */
export type CliArguments<T> = { settings: T } | { exitCode: number }

/**
 * Parses a command line with `parse`, which returns undefined for --help. Prints the help
 * (exit code 0) or the parse error with a pointer to --help (exit code 2) when there is
 * nothing to run.
 */
export function readCliArguments<T>(argv: string[], parse: (argv: string[]) => T | undefined, help: string): CliArguments<T> {
  let settings: T | undefined
  try {
    settings = parse(argv)
  } catch (error) {
    process.stderr.write(`${errorMessage(error)}\nRun with --help for the options.\n`)
    return { exitCode: 2 }
  }

  if (settings === undefined) {
    process.stdout.write(help)
    return { exitCode: 0 }
  }
  return { settings }
}

/** Returns a logger that writes each message to stderr with a timestamp and `[name]`. */
export function createCliLog(name: string): (message: string) => void {
  return (message) => {
    process.stderr.write(`${new Date().toISOString()} [${name}] ${message}\n`)
  }
}

/** Resolves on the first SIGINT or SIGTERM, so a server can stop cleanly. */
export function waitForShutdownSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve())
    process.once('SIGTERM', () => resolve())
  })
}
