/** Exit status of a runtime process. */
export interface RuntimeExit {
  /** Exit code, or null when a signal ended the process. */
  code: number | null
  /** Signal name such as `SIGKILL`, or null after a normal exit. */
  signal: NodeJS.Signals | null
}

/**
 * A runtime process the emulator controls, as AWS's emulator controls its bootstrap: started
 * when an invocation begins and no process runs, and stopped after a timeout or an init
 * error so the next invocation gets a fresh init. RuntimeProcess implements it.
 */
export interface RuntimeHost {
  /** Starts the runtime process unless it runs. Rejects when the process cannot be started. */
  ensureRunning(): Promise<void>
  /** Kills the runtime process after an invocation timed out and resolves once it has exited. */
  stopAfterTimeout(requestId: string): Promise<void>
  /**
   * Stops the runtime process after it posted an init error, giving it a moment to exit on
   * its own first, and resolves once it has exited.
   */
  stopAfterInitError(): Promise<void>
}

/**
 * Describes an exit the way Go's exec.ExitError does ("exit status 1", "signal: killed"),
 * which AWS's emulator keeps in its Runtime.ExitError messages
 * (internal/lambda/supervisor/model/model.go, ProcessTermination.String).
 */
export function describeExit(exit: RuntimeExit): string {
  if (exit.code !== null) {
    return `exit status ${exit.code}`
  }

  return `signal: ${GO_SIGNAL_NAMES[exit.signal ?? ''] ?? exit.signal ?? 'unknown'}`
}

// Go's syscall.Signal.String() texts for the signals a runtime usually dies from.
const GO_SIGNAL_NAMES: Record<string, string> = {
  SIGABRT: 'aborted',
  SIGBUS: 'bus error',
  SIGFPE: 'floating point exception',
  SIGHUP: 'hangup',
  SIGILL: 'illegal instruction',
  SIGINT: 'interrupt',
  SIGKILL: 'killed',
  SIGPIPE: 'broken pipe',
  SIGQUIT: 'quit',
  SIGSEGV: 'segmentation fault',
  SIGTERM: 'terminated',
  SIGUSR1: 'user defined signal 1',
  SIGUSR2: 'user defined signal 2'
}
