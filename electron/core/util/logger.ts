/** Where the core says what it does. Injected everywhere; tests pass a silent or recording one. */
export interface Logger {
  info(message: string): void
  warn(message: string): void
  error(message: string): void
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} }

/** Loggers with info lines not written yet, flushed at exit (process.exit and uncaught errors included). */
const unflushed = new Set<() => void>()
let exitHook = false

/**
 * Logs to stderr so stdout stays machine-readable (`rackboot ready {json}`). Info lines of one event-loop turn
 * leave as one write: a storm logs a line per finished transfer, and on Linux each write to a pipe is a
 * synchronous syscall that wakes the reader (bench:storm: ~90 µs of serve's main thread per line in the
 * ramp, on two cores). Warnings and errors are written at once, after the info lines before them. A SIGKILL
 * can lose the info lines of the last turn, never a warning or an error.
 */
export function stderrLogger(
  prefix = 'rackboot',
  write: (text: string) => void = (text) => void process.stderr.write(text),
): Logger {
  let pending: string[] = []
  let scheduled = false
  const flush = () => {
    scheduled = false
    unflushed.delete(flush)
    if (pending.length === 0) return
    const text = pending.join('')
    pending = []
    write(text)
  }
  const line = (level: string, m: string, now: boolean) => {
    pending.push(`${prefix} ${level}: ${m}\n`)
    if (now) return flush()
    if (scheduled) return
    scheduled = true
    unflushed.add(flush)
    if (!exitHook) {
      exitHook = true
      process.on('exit', () => {
        for (const f of [...unflushed]) f()
      })
    }
    setImmediate(flush)
  }
  return {
    info: (m) => line('info', m, false),
    warn: (m) => line('warn', m, true),
    error: (m) => line('error', m, true),
  }
}
