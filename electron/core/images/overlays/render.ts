/**
 * Packs overlay entries into a gzip-compressed cpio (newc) file, written to a temp name and renamed.
 *
 * In memory, not streamed: the entries are in memory already (an overlay is kilobytes to a few MB), and a
 * cpio stream piped through a gzip stream into a file stream costs a stream round per entry on the event
 * loop. A 200-node storm's first seconds build overlays on demand while the same loop answers DHCP, TFTP and
 * HTTP (bench:storm --cpu-prof); one gzip job in the thread pool and one write do the same work off it.
 */
import { randomBytes } from 'node:crypto'
import { rename, rm, writeFile } from 'node:fs/promises'
import { Writable } from 'node:stream'
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import { CpioWriter } from '../cpio'
import type { OverlayEntry } from './templates'

const gzipAsync = promisify(gzip)

/** Writes `entries` (parents before children) to `path` atomically. Owner root:root; mtime `mtime` (s). */
export async function writeOverlay(
  path: string,
  entries: readonly OverlayEntry[],
  mtime: number,
): Promise<void> {
  const chunks: Buffer[] = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk)
      callback()
    },
  })
  const w = new CpioWriter(sink, { allowDevices: true })
  for (const e of entries) {
    const meta = { path: e.path, mode: e.mode, uid: 0, gid: 0, mtime }
    if (e.kind === 'dir') await w.directory(meta)
    else if (e.kind === 'char') await w.device({ ...meta, type: 'char', major: e.major, minor: e.minor })
    else await w.file({ ...meta, size: e.data.length, data: e.data })
  }
  await w.finish()
  const packed = await gzipAsync(Buffer.concat(chunks), { level: 6 })
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`
  try {
    await writeFile(tmp, packed, { mode: 0o600 })
    await rename(tmp, path)
  } catch (e) {
    await rm(tmp, { force: true })
    throw e
  }
}
