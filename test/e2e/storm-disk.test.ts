/**
 * The data disk fills up (issue "Boot storm and fault campaign"): the data dir is a small tmpfs. First an
 * image import runs out of space: it fails with a clear error, leaves no partial image and no space taken,
 * and nodes keep booting the images already there. Then the disk is filled to the last byte while a storm
 * needs lease writes: serve says the journal cannot be written and acknowledges nothing it could not persist;
 * once space is freed the same storm completes, and the journal and the store parse with every final lease.
 * Namespaces rbst-d-*, addresses 198.19.84.0/22.
 */
import { execFile } from 'node:child_process'
import { mkdirSync, rmSync, statfsSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { missing } from '../support/env'
import { buildCli } from '../support/cli'
import { testStorm, type TestStorm } from '../support/storm'
import type { Serve } from '../../electron/core/sim/rig'

const execFileP = promisify(execFile)
const skip = missing({ root: true, commands: ['ip', 'mount', 'umount'] })
// 40 nodes: their lease lines (~85 bytes each) outgrow the slack of the journal's last tmpfs page.
const NODES = 40
const TMPFS_MIB = 96

describe.skipIf(skip)('data disk full', () => {
  let s: TestStorm
  let serve: Serve | null = null
  let mounted = false

  const free = () => {
    const f = statfsSync(s.rig.dataDir)
    return f.bavail * f.bsize
  }
  const storm = async () => {
    const summary = await (await s.rig.startClients({ deadlineMs: 180_000, maxBoots: 6 })).done
    expect(summary.failures).toEqual([])
    expect(summary.ok).toBe(NODES)
    return summary
  }

  beforeAll(async () => {
    buildCli()
    s = testStorm('rbst-d', '198.19.84.0/22')
    mkdirSync(s.rig.dataDir, { recursive: true })
    await execFileP('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_MIB}m,mode=0700`, 'rbst-d', s.rig.dataDir])
    mounted = true
    await s.rig.up()
    await s.rig.prepare({
      nodes: NODES,
      firmwareMix: '1:1',
      inventory: 'known',
      synthetic: { kernelBytes: 256 << 10, imageBytes: 512 << 10 },
    })
    serve = await s.rig.startServe()
  }, 180_000)
  afterAll(async () => {
    await serve?.stop('SIGKILL')
    await s?.rig.down()
    if (mounted) await execFileP('umount', ['-l', s.rig.dataDir]).catch(() => undefined)
    if (s) rmSync(s.dir, { recursive: true, force: true })
  })

  it(
    'an image import that runs out of space fails clearly and changes nothing',
    { timeout: 240_000 },
    async () => {
      await storm()
      const before = free()
      // The source lives outside the tmpfs and is bigger than what is left on it.
      const kernel = join(s.dir, 'big-vmlinuz')
      const initrd = join(s.dir, 'big-initrd')
      writeFileSync(kernel, Buffer.alloc(64 << 10, 1))
      const fd = openSync(initrd, 'w')
      const chunk = Buffer.alloc(1 << 20, 7)
      for (let i = 0; i < Math.ceil(before / (1 << 20)) + 16; i++) writeSync(fd, chunk)
      closeSync(fd)
      const r = await execFileP('ip', [
        'netns',
        'exec',
        s.rig.srv,
        process.execPath,
        'bin/rackboot.js',
        'images',
        'import',
        'big',
        '--kernel',
        kernel,
        '--initrd',
        initrd,
        '--data-dir',
        s.rig.dataDir,
      ]).then(
        () => ({ ok: true, stderr: '' }),
        (e: { stderr?: string }) => ({ ok: false, stderr: e.stderr ?? '' }),
      )
      expect(r.ok).toBe(false)
      expect(r.stderr).toMatch(/no space left|ENOSPC|disk is full/i)
      const images = s.db() as unknown as { images: Array<{ name: string }> }
      expect(images.images.map((i) => i.name)).not.toContain('big')
      expect(images.images.map((i) => i.name)).toContain('storm')
      // Whatever the import wrote is gone again (allow a page or two of store/journal growth).
      expect(free()).toBeGreaterThan(before - (1 << 20))
      await storm()
    },
  )

  it(
    'lease writes on a full disk: nothing acknowledged unpersisted, the storm completes once space is back',
    { timeout: 300_000 },
    async () => {
      const filler = join(s.rig.dataDir, 'filler')
      const fd = openSync(filler, 'w')
      const chunk = Buffer.alloc(64 << 10, 9)
      try {
        for (;;) writeSync(fd, chunk)
      } catch (e) {
        expect((e as NodeJS.ErrnoException).code).toBe('ENOSPC')
      }
      try {
        for (;;) writeSync(fd, Buffer.alloc(512, 9))
      } catch {
        // the last bytes: the disk is now full to the page
      } finally {
        closeSync(fd)
      }
      const mark = serve!.output().length
      const clients = await s.rig.startClients({ deadlineMs: 240_000, maxBoots: 10 })
      for (
        let i = 0;
        i < 600 &&
        !/cannot write the lease journal .*no lease is acknowledged/.test(serve!.output().slice(mark));
        i++
      )
        await new Promise((r) => setTimeout(r, 100))
      expect(serve!.output().slice(mark)).toMatch(
        /cannot write the lease journal .*(ENOSPC|no space left|disk full)/i,
      )
      rmSync(filler)
      const summary = await clients.done
      expect(summary.failures).toEqual([])
      expect(summary.ok).toBe(NODES)
      // serve is alive and its files parse with every final lease.
      expect(() => process.kill(serve!.pid, 0)).not.toThrow()
      const { byMac, badLines } = s.leases()
      expect(badLines).toBe(0)
      expect(summary.leases.filter((l) => !(byMac.get(l.mac) ?? []).includes(l.ip ?? ''))).toEqual([])
      expect(s.db().nodes.length).toBe(NODES)
    },
  )
})
