/**
 * Confines a URL path to a served directory (/boot/ and /files/). The path is checked twice: by its
 * segments (no `..`, `.`, NUL, backslash or encoded slash may even reach the file system) and by where it
 * really lands after symlinks (realpath must stay inside the root's realpath). A symlink inside the root that
 * points outside is refused the same as `..`.
 * Remaining race, accepted: a directory inside the root swapped for a symlink between realpath and open.
 * The roots are the operator's own directories, not writable by clients.
 */
import { realpath } from 'node:fs/promises'
import { join, sep } from 'node:path'
import { type Result, ok, err } from '../../util/result'

export type Confined = Result<string, { status: 400 | 403 | 404; reason: string }>

/** `segments` are the already percent-decoded path segments after the route prefix. */
export async function resolveInsideRoot(root: string, segments: string[]): Promise<Confined> {
  const parts = segments.filter((s) => s !== '')
  if (parts.length === 0)
    return err({ status: 404, reason: 'no file named (directory listings are not served)' })
  for (const p of parts) {
    if (p.includes('\0')) return err({ status: 400, reason: 'NUL byte in path' })
    if (p === '..' || p === '.' || p.includes('/') || p.includes('\\'))
      return err({ status: 403, reason: `path segment '${p}' is not allowed` })
  }
  let rootReal: string
  try {
    rootReal = await realpath(root)
  } catch {
    return err({ status: 404, reason: 'served directory does not exist on the server' })
  }
  let real: string
  try {
    real = await realpath(join(rootReal, ...parts))
  } catch {
    return err({ status: 404, reason: `'${parts.join('/')}' not found` })
  }
  if (real !== rootReal && !real.startsWith(rootReal.endsWith(sep) ? rootReal : rootReal + sep))
    return err({ status: 403, reason: `'${parts.join('/')}' leads outside the served directory` })
  return ok(real)
}
