/**
 * What a test needs from the machine. Outside CI a missing tool skips the test with a loud reason; under
 * CI=true it fails, because CI installs everything (.ci/run) and a skip would hide a missing step.
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'

export function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0

/** Returns null when every need is met, else the reason. Under CI a reason throws. */
export function missing(needs: { root?: boolean; commands?: string[]; files?: string[] }): string | null {
  const reasons: string[] = []
  if (needs.root && !isRoot) reasons.push('needs root (network namespaces, ports < 1024)')
  for (const c of needs.commands ?? [])
    if (!hasCommand(c)) reasons.push(`needs command '${c}' (see .ci/run for the package)`)
  for (const f of needs.files ?? [])
    if (!existsSync(f)) reasons.push(`needs file ${f} (see .ci/run for the package)`)
  if (reasons.length === 0) return null
  const reason = reasons.join('; ')
  if (process.env.CI === 'true') throw new Error(`CI=true and a test prerequisite is missing: ${reason}`)
  console.warn(`\n*** SKIPPING: ${reason} ***\n`)
  return reason
}
