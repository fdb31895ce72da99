/**
 * What the kill tests' writer children (store-writer.ts, journal-writer.ts) share: their one argument, a
 * lifetime bound, a stderr logger, and the MAC of the k-th record (also used by the parent to check them).
 */
import type { Logger } from '../../electron/core/util/logger'

/** The child's one argument, or exit 2 with its usage. Also bounds its life to a minute if the parent dies. */
export function writerArgument(usage: string): string {
  const arg = process.argv[2]
  if (!arg) {
    process.stderr.write(`usage: ${usage}\n`)
    process.exit(2)
  }
  setTimeout(() => process.exit(3), 60_000).unref()
  return arg
}

export const writerLogger: Logger = {
  info: (m) => process.stderr.write(`info: ${m}\n`),
  warn: (m) => process.stderr.write(`warn: ${m}\n`),
  error: (m) => process.stderr.write(`error: ${m}\n`),
}

/** The k-th record's MAC: 52:54:00 and k in the low 24 bits. */
export function macOf(k: number): string {
  const hex = k.toString(16).padStart(6, '0')
  return `52:54:00:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}`
}
