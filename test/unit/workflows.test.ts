/**
 * The GitHub workflows cannot run here, so `npm run lint:actions` (build/lint-actions.mjs, part of `npm run
 * lint`) checks them: action-validator's schema, and that every step's npm script and repo file exists.
 */
import { describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const lint = (...args: string[]) =>
  spawnSync('node', ['build/lint-actions.mjs', ...args], { encoding: 'utf8', timeout: 120_000 })

describe('lint:actions', () => {
  it('passes the repository workflows', () => {
    const r = lint()
    expect(r.stderr).toBe('')
    expect(r.stdout).toMatch(/lint:actions: [1-9]\d* workflow\(s\), 0 problem\(s\)/)
    expect(r.status).toBe(0)
  })

  it('names the schema error, the missing npm script and the missing file of a broken workflow', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rackboot-actions-'))
    try {
      writeFileSync(
        join(dir, 'broken.yml'),
        [
          'name: broken',
          'on: [push]',
          'jobs:',
          '  build:',
          '    runs-on: ubuntu-latest',
          '    steps:',
          '      - name: Build',
          '        run: npm run no-such-script && node build/no-such-file.mjs',
          '        with-typo: 1',
        ].join('\n'),
      )
      const r = lint(dir)
      expect(r.status).toBe(1)
      expect(r.stderr).toContain("Additional property 'with-typo' is not allowed")
      expect(r.stderr).toContain("'npm run no-such-script' but package.json has no such script")
      expect(r.stderr).toContain('runs build/no-such-file.mjs, which does not exist')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
