/** The TFTP whole-file cache behind diskProvider: served bytes always match the file on disk now. */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FileCache } from '../../electron/core/boot/tftp/file-cache'
import { diskProvider, type FileProvider } from '../../electron/core/boot/tftp/files'

const client = { address: '198.19.131.7', port: 2000 }
let root: string

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'rbpf-cache-'))
})
afterEach(() => rmSync(root, { recursive: true, force: true }))

async function contents(p: FileProvider, name: string): Promise<Buffer> {
  const r = await p.open(name, client)
  if (!r.ok) throw new Error(r.error.message)
  // In pieces, the way BlockSource reads, across the end of the file.
  const parts: Buffer[] = []
  for (let off = 0; off <= r.value.size; off += 1000) parts.push(await r.value.read(off, 1000))
  await r.value.close()
  return Buffer.concat(parts)
}

describe('FileCache via diskProvider', () => {
  it('serves a file from one read to many opens, with the same bytes', async () => {
    const data = randomBytes(300_000)
    writeFileSync(path.join(root, 'ipxe.efi'), data)
    const cache = new FileCache()
    const p = diskProvider(root, { cache })
    const all = await Promise.all(Array.from({ length: 8 }, () => contents(p, 'ipxe.efi')))
    for (const got of all) expect(got.equals(data)).toBe(true)
    expect(cache.stats()).toEqual({ bytes: data.length, files: 1 })
  })

  it('reads a replaced file again (rename over it, and an in-place edit of the same size)', async () => {
    const file = path.join(root, 'undionly.kpxe')
    writeFileSync(file, 'first version')
    const p = diskProvider(root, { cache: new FileCache() })
    expect((await contents(p, 'undionly.kpxe')).toString()).toBe('first version')

    writeFileSync(`${file}.new`, 'second one')
    renameSync(`${file}.new`, file)
    expect((await contents(p, 'undionly.kpxe')).toString()).toBe('second one')

    writeFileSync(file, 'third edit') // same length as 'second one', same inode
    utimesSync(file, new Date(), new Date(Date.now() + 5_000)) // a different mtime even on coarse clocks
    expect((await contents(p, 'undionly.kpxe')).toString()).toBe('third edit')
  })

  it('keeps at most maxBytes, dropping the least recently used, and streams files above maxFileBytes', async () => {
    const cache = new FileCache({ maxBytes: 250_000, maxFileBytes: 100_000 })
    const p = diskProvider(root, { cache })
    const files = ['a', 'b', 'c'].map((n) => ({ n, data: randomBytes(90_000) }))
    for (const f of files) writeFileSync(path.join(root, f.n), f.data)
    const big = randomBytes(150_000)
    writeFileSync(path.join(root, 'big'), big)

    for (const f of files) expect((await contents(p, f.n)).equals(f.data)).toBe(true)
    expect(cache.stats()).toEqual({ bytes: 180_000, files: 2 })
    expect((await contents(p, 'big')).equals(big)).toBe(true)
    expect(cache.stats().files).toBe(2) // too big: not cached
    // 'a' was evicted, still served from disk correctly; after that read it is cached again.
    expect((await contents(p, 'a')).equals(files[0]!.data)).toBe(true)
    expect(cache.stats().bytes).toBeLessThanOrEqual(250_000)
  })

  it('cache: null reads from disk per transfer', async () => {
    const data = randomBytes(5_000)
    writeFileSync(path.join(root, 'f'), data)
    expect((await contents(diskProvider(root, { cache: null }), 'f')).equals(data)).toBe(true)
  })
})
