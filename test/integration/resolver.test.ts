import { describe, it, expect, afterEach, vi } from 'vitest'
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Rackboot } from '../../electron/core/rackboot'
import { inventoryResolver } from '../../electron/core/boot/resolver'
import { silentLogger } from '../../electron/core/util/logger'
import { toInventoryImage } from '../../electron/core/images/manifest'
import { OverlayCache } from '../../electron/core/images/overlays/cache'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('inventory resolver', () => {
  it("serves a node's image artifacts from the image store, and nothing for unknown nodes or overlays", async () => {
    const d = mkdtempSync(join(tmpdir(), 'rackboot-resolver-'))
    dirs.push(d)
    writeFileSync(join(d, 'vmlinuz'), 'kernel bytes')
    writeFileSync(join(d, 'initrd'), 'initrd bytes')
    const core = await Rackboot.open({ dataDir: join(d, 'data'), logger: silentLogger })
    try {
      const m = await core.images.importKernelInitrd('rescue', {
        kernel: join(d, 'vmlinuz'),
        initrd: join(d, 'initrd'),
      })
      await core.store.update((db) => void db.images.push(toInventoryImage(m)))
      await core.repo.addNode({ name: 'n1', mac: '52:54:00:00:00:01', image: 'rescue' })
      await core.repo.addNode({ name: 'n2', mac: '52:54:00:00:00:02' })
      const r = inventoryResolver(core.repo, core.images, () => core.supervisor.status())
      const n1 = r.nodeByMac('52:54:00:00:00:01')!
      expect(n1.name).toBe('n1')
      const kernel = await r.artifact(n1, 'kernel')
      expect(readFileSync(kernel!.path, 'utf8')).toBe('kernel bytes')
      expect(readFileSync((await r.artifact(n1, 'image'))!.path, 'utf8')).toBe('initrd bytes')
      expect(await r.artifact(n1, 'system')).toBeNull()
      expect(await r.artifact(r.nodeByMac('52:54:00:00:00:02'), 'kernel')).toBeNull()
      expect(r.nodeByMac('52:54:00:00:00:99')).toBeNull()
    } finally {
      await core.close()
    }
  })

  it("a script learns at once that the system overlay will be there; the build it starts is the fetch's", async () => {
    const d = mkdtempSync(join(tmpdir(), 'rackboot-resolver-'))
    dirs.push(d)
    const core = await Rackboot.open({ dataDir: join(d, 'data'), logger: silentLogger })
    try {
      await core.repo.addNode({ name: 'n1', mac: '52:54:00:00:00:01' })
      await core.repo.addNode({ name: 'n2' })
      const overlays = new OverlayCache({ root: join(d, 'data', 'overlays'), keyGenerator: 'node' })
      const build = vi.spyOn(overlays, 'path')
      const r = inventoryResolver(core.repo, core.images, () => core.supervisor.status(), { overlays })
      const n1 = r.nodeByMac('52:54:00:00:00:01')!
      expect(r.willHave?.(n1, 'system')).toBe(true)
      expect(build).toHaveBeenCalledTimes(1) // started, not awaited
      const system = await r.artifact(n1, 'system')
      expect(readFileSync(system!.path).subarray(0, 2)).toEqual(Buffer.of(0x1f, 0x8b))
      // Kinds other than the overlay are asked the usual way; a node without a MAC gets no overlay.
      expect(r.willHave?.(n1, 'kernel')).toBeNull()
      expect(r.willHave?.(null, 'system')).toBeNull()
      const n2 = { ...n1, name: 'n2', macs: [] }
      expect(r.willHave?.(n2, 'system')).toBe(false)
    } finally {
      await core.close()
    }
  })
})
