import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { appRoot } from './paths'

/** The product version from package.json (read once per call site; cheap and avoids bundler JSON quirks). */
export function productVersion(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(join(appRoot(), 'package.json'), 'utf8'))
    if (pkg && typeof pkg === 'object' && 'version' in pkg && typeof pkg.version === 'string')
      return pkg.version
  } catch {
    // fall through: a missing package.json only loses the version string
  }
  return '0.0.0'
}
