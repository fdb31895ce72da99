import { describe, it, expect } from 'vitest'
import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { stderrLogger } from '../../electron/core/util/logger'

const turn = () => new Promise((r) => setImmediate(r))

describe('stderrLogger', () => {
  it("writes one event-loop turn's info lines together, and warnings and errors at once, in order", async () => {
    const writes: string[] = []
    const log = stderrLogger('rb', (t) => writes.push(t))
    log.info('a')
    log.info('b')
    expect(writes).toEqual([])
    await turn()
    expect(writes).toEqual(['rb info: a\nrb info: b\n'])
    log.info('c')
    log.warn('d')
    expect(writes.slice(1)).toEqual(['rb info: c\nrb warn: d\n'])
    log.error('e')
    expect(writes.slice(2)).toEqual(['rb error: e\n'])
    await turn()
    expect(writes).toHaveLength(3)
  })

  it('flushes pending info lines when the process exits in the same turn', () => {
    const logger = resolve('electron/core/util/logger.ts')
    const code = `import { stderrLogger } from ${JSON.stringify(logger)}
const log = stderrLogger('rb')
log.info('before exit')
process.exit(3)`
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      encoding: 'utf8',
      timeout: 30_000,
    })
    expect(r.status).toBe(3)
    expect(r.stderr).toBe('rb info: before exit\n')
  })
})
