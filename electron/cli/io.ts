/** What a CLI command may touch, injected so tests can run commands in-process. */
export interface CliIo {
  stdout(text: string): void
  stderr(text: string): void
  env: NodeJS.ProcessEnv
}

export const processIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
}

/**
 * Ends the process with `code` once stdout and stderr have handed every byte written so far to the OS.
 * process.exit() right after a write loses whatever a pipe could not take at once: Node writes to a pipe
 * without blocking, so beyond the pipe's 64 KiB the rest waits in the process and dies with it
 * (`nodes list --json` of 1500 nodes through `| (sleep 1; cat)` delivered 65,536 of 638,976 bytes).
 * A write's callback runs after every write before it, so an empty write on each stream marks the point.
 * Like any Unix tool, this waits for as long as the reader takes; a reader that has gone away (EPIPE) ends
 * the wait with an error, and the exit.
 */
export function exitWhenFlushed(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)))
}

/** A usage error: exit 2, with the bad flag or argument named. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

export function parsePort(flag: string, value: string, allowZero: boolean): number {
  const n = Number(value)
  if (!/^[0-9]+$/.test(value) || n > 65535 || (!allowZero && n === 0))
    throw new UsageError(`${flag} '${value}' is not a port (${allowZero ? '0' : '1'}..65535)`)
  return n
}
