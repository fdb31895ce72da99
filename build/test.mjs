// `npm test`: typecheck, lint, format, build, then every vitest suite (unit, integration on loopback,
// e2e in network namespaces). Runs all steps, prints each result, and ends with one plain summary line.
import { spawnSync } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'

const steps = [
  ['typecheck', 'npm', ['run', '--silent', 'typecheck']],
  ['lint', 'npm', ['run', '--silent', 'lint']],
  ['format', 'npm', ['run', '--silent', 'format:check']],
  ['build', 'npm', ['run', '--silent', 'build']],
  ['vitest', 'npx', ['vitest', 'run', ...process.argv.slice(2)]],
]

rmSync('out/test-summary.json', { force: true })
const results = []
for (const [name, cmd, args] of steps) {
  const started = Date.now()
  process.stdout.write(`\n=== ${name}: ${cmd} ${args.join(' ')}\n`)
  const r = spawnSync(cmd, args, {
    stdio: 'inherit',
    env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' },
  })
  const ok = r.status === 0
  results.push({ name, ok, seconds: (Date.now() - started) / 1000 })
  // Tests of a build that failed would only repeat the failure.
  if (!ok && name === 'build') break
}
process.stdout.write('\n=== summary\n')
for (const r of results)
  process.stdout.write(`${r.ok ? 'ok  ' : 'FAIL'}  ${r.name} (${r.seconds.toFixed(1)} s)\n`)
const failedSteps = results.filter((r) => !r.ok).length
let tests = { passed: 0, failed: 0, skipped: 0 }
try {
  tests = JSON.parse(readFileSync('out/test-summary.json', 'utf8'))
} catch {
  // vitest did not run or died before reporting: its step already counts as failed
}
// One closing line for people and CI: tests plus the non-test checks (typecheck, lint, format, build).
const passed = tests.passed + results.filter((r) => r.ok && r.name !== 'vitest').length
const failed =
  tests.failed +
  results.filter((r) => !r.ok && r.name !== 'vitest').length +
  (results.find((r) => r.name === 'vitest' && !r.ok) && tests.failed === 0 ? 1 : 0)
process.stdout.write(`\ntotal: ${passed} passed, ${failed} failed, ${tests.skipped} skipped\n`)
process.exit(failedSteps === 0 && failed === 0 ? 0 : 1)
