/** Where the core says what it does. Injected everywhere; tests pass a silent or recording one. */
export interface Logger {
  info(message: string): void
  warn(message: string): void
  error(message: string): void
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} }

/** Logs to stderr so stdout stays machine-readable (`rackboot ready {json}`). */
export function stderrLogger(prefix = 'rackboot'): Logger {
  const line = (level: string, m: string) => process.stderr.write(`${prefix} ${level}: ${m}\n`)
  return { info: (m) => line('info', m), warn: (m) => line('warn', m), error: (m) => line('error', m) }
}
