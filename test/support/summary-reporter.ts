/**
 * Prints the plain closing line `vitest: N passed, N failed, N skipped`, and under CI=true turns any skipped
 * test into a failure: in CI every tool a test needs is installed, so a skip means a missing install step.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import type { Reporter, TestModule } from 'vitest/node'

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0
    let failed = 0
    let skipped = 0
    const skippedNames: string[] = []
    for (const mod of testModules) {
      if (mod.state() === 'failed' && [...mod.children.allTests()].length === 0) failed++
      for (const test of mod.children.allTests()) {
        const state = test.result().state
        if (state === 'passed') passed++
        else if (state === 'failed') failed++
        else {
          skipped++
          skippedNames.push(`${mod.moduleId.replace(process.cwd() + '/', '')} > ${test.fullName}`)
        }
      }
    }
    if (process.env.CI === 'true' && skipped > 0) {
      console.log(`\nCI=true: ${skipped} skipped test(s) count as failures:\n  ${skippedNames.join('\n  ')}`)
      failed += skipped
      skipped = 0
      process.exitCode = 1
    }
    console.log(`\nvitest: ${passed} passed, ${failed} failed, ${skipped} skipped`)
    // build/test.mjs folds these counts into the one closing line of `npm test`.
    mkdirSync('out', { recursive: true })
    writeFileSync('out/test-summary.json', JSON.stringify({ passed, failed, skipped }))
  }
}
