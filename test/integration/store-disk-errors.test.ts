/**
 * Real ENOSPC and EROFS from a small tmpfs the test mounts (root only): a failed write rejects with the file's
 * name, leaves db.json and the in-memory state as last written, and the store works again once the disk does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { mkdtemp, open, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { missing } from '../support/env'
import { Store } from '../../electron/core/inventory/store'
import { nodeSchema } from '../../electron/core/inventory/schema'
import { silentLogger } from '../../electron/core/util/logger'

const skip = missing({ root: true, commands: ['mount', 'umount'] })
let mnt = ''
let mounted = false

beforeAll(async () => {
  if (skip) return
  mnt = await mkdtemp(join(tmpdir(), 'rackboot-tmpfs-'))
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', mnt])
  mounted = true
})
afterAll(async () => {
  if (mounted) execFileSync('umount', ['-l', mnt])
  if (mnt) await rm(mnt, { recursive: true, force: true })
})

/** Fills the file system with one file until ENOSPC; returns its path. */
async function fill(path: string): Promise<void> {
  const handle = await open(path, 'w')
  const chunk = Buffer.alloc(4096, 0x61)
  try {
    for (let i = 0; i < 10_000; i++) await handle.write(chunk)
    throw new Error('the tmpfs never filled up')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e
  } finally {
    await handle.close()
  }
}

const node = (k: number) =>
  nodeSchema.parse({ name: `n${k}`, macs: [`52:54:00:00:00:${k.toString(16).padStart(2, '0')}`] })

describe.skipIf(skip !== null)('store on a failing disk', () => {
  it('rejects on ENOSPC with the file name, keeps state and file, and recovers when space returns', async () => {
    const dataDir = join(mnt, 'enospc')
    const store = await Store.open({ dataDir, logger: silentLogger, groupCommitMs: 60_000 })
    await store.update((d) => void d.nodes.push(node(1)))
    const before = store.data
    const bytes = await readFile(store.file)
    const filler = join(mnt, 'filler')
    await fill(filler)

    await expect(store.update((d) => void d.nodes.push(node(2)))).rejects.toThrow(
      new RegExp(`could not write ${store.file} \\(ENOSPC`),
    )
    expect(store.data).toBe(before)
    expect(await readFile(store.file)).toEqual(bytes)
    expect((await readdir(dataDir)).filter((n) => n.includes('.tmp-'))).toEqual([])

    store.updateSoon((d) => void d.nodes.push(node(3)))
    await expect(store.flush()).rejects.toThrow(/ENOSPC/)
    expect(store.data.nodes.map((n) => n.name)).toEqual(['n1', 'n3']) // group commits stay in memory

    await rm(filler)
    await store.flush()
    expect(JSON.parse(await readFile(store.file, 'utf8')).nodes.map((n: { name: string }) => n.name)).toEqual(
      ['n1', 'n3'],
    )
    await store.close()
  })

  it('rejects on EROFS and keeps the last written state', async () => {
    const dataDir = join(mnt, 'erofs')
    const store = await Store.open({ dataDir, logger: silentLogger })
    await store.update((d) => void d.nodes.push(node(1)))
    const bytes = await readFile(store.file)
    execFileSync('mount', ['-o', 'remount,ro', mnt])
    try {
      await expect(store.update((d) => void d.nodes.push(node(2)))).rejects.toThrow(/EROFS/)
      expect(store.data.nodes.map((n) => n.name)).toEqual(['n1'])
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', mnt])
    }
    expect(await readFile(store.file)).toEqual(bytes)
    await store.update((d) => void d.nodes.push(node(2)))
    await store.close()
  })
})
