/** Packs overlay entries into a gzip-compressed cpio (newc) file, written to a temp name and renamed. */
import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'
import { PassThrough } from 'node:stream'
import { createGzip } from 'node:zlib'
import { CpioWriter } from '../cpio'
import type { OverlayEntry } from './templates'

/** Writes `entries` (parents before children) to `path` atomically. Owner root:root; mtime `mtime` (s). */
export async function writeOverlay(
  path: string,
  entries: readonly OverlayEntry[],
  mtime: number,
): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`
  const cpio = new PassThrough()
  const done = pipeline(cpio, createGzip({ level: 6 }), createWriteStream(tmp, { mode: 0o600 }))
  try {
    const w = new CpioWriter(cpio, { allowDevices: true })
    for (const e of entries) {
      const meta = { path: e.path, mode: e.mode, uid: 0, gid: 0, mtime }
      if (e.kind === 'dir') await w.directory(meta)
      else if (e.kind === 'char') await w.device({ ...meta, type: 'char', major: e.major, minor: e.minor })
      else await w.file({ ...meta, size: e.data.length, data: e.data })
    }
    await w.finish()
    await done
    await rename(tmp, path)
  } catch (e) {
    cpio.destroy()
    await done.catch(() => undefined)
    await rm(tmp, { force: true })
    throw e
  }
}
