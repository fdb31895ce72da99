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
