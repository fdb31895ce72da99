import { describe, it, expect } from 'vitest'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Store } from '../../electron/core/inventory/store'
import { silentLogger } from '../../electron/core/util/logger'

describe('data dir that cannot be created', () => {
  it('fails at once under /proc (Node 20 recursive mkdir would never settle there)', async () => {
    await expect(Store.open({ dataDir: '/proc/rackboot-no-such/dir', logger: silentLogger })).rejects.toThrow(
      /cannot create data dir \/proc\/rackboot-no-such\/dir: .*choose another --data-dir/,
    )
  })
  it('names a regular file standing where the dir should be', async () => {
    const d = mkdtempSync(join(tmpdir(), 'rackboot-datadir-'))
    try {
      writeFileSync(join(d, 'file'), 'x')
      await expect(Store.open({ dataDir: join(d, 'file', 'data'), logger: silentLogger })).rejects.toThrow(
        /cannot create data dir/,
      )
    } finally {
      rmSync(d, { recursive: true, force: true })
    }
  })
})
