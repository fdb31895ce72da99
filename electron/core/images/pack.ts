/** Writes an FsTree as a gzip-compressed cpio newc archive, hashing the compressed bytes on the way. */
import { createWriteStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { createGzip } from 'node:zlib'
import { CpioWriter } from './cpio'
import { hashingTap } from './streams'
import type { FileData, FsTree } from './tree'

export interface PackOptions {
  signal?: AbortSignal
  /** File-data bytes packed so far, and the entry being packed. */
  onData?: (bytes: number, path: string) => void
  /** zlib level; 6 is gzip's default balance of size and speed. */
  level?: number
}

/** Total bytes of file data in the tree (each hard-linked inode once): the packing progress total. */
export function treeDataBytes(tree: FsTree): number {
  const seen = new Set<FileData>()
  let total = 0
  for (const [, node] of tree.walk())
    if (node.type === 'file' && !seen.has(node.data)) {
      seen.add(node.data)
      total += node.data.size
    }
  return total
}

export async function packTree(
  tree: FsTree,
  dest: string,
  o: PackOptions = {},
): Promise<{ size: number; sha256: string }> {
  // Hard links go out together at the position of their last name, so every name's directory is
  // already in the archive when the kernel creates the link (it does not create parents).
  const groups = new Map<FileData, string[]>()
  for (const [path, node] of tree.walk())
    if (node.type === 'file') {
      const names = groups.get(node.data)
      if (names) names.push(path)
      else groups.set(node.data, [path])
    }

  const gzip = createGzip({ level: o.level ?? 6 })
  const { tap, result } = hashingTap()
  const written = pipeline(gzip, tap, createWriteStream(dest, { flags: 'wx' }), { signal: o.signal })
  written.catch(() => {})
  let packed = 0
  const cpio = new CpioWriter(gzip, {
    signal: o.signal,
    onData: (n, path) => {
      packed += n
      o.onData?.(packed, path)
    },
  })
  try {
    for (const [path, node] of tree.walk()) {
      const meta = { path, mode: node.mode, uid: node.uid, gid: node.gid, mtime: node.mtime }
      if (node.type === 'dir') await cpio.directory(meta)
      else if (node.type === 'symlink') await cpio.symlink({ ...meta, target: node.target })
      else {
        const names = groups.get(node.data) ?? [path]
        if (names[names.length - 1] !== path) continue
        await cpio.file({ ...meta, size: node.data.size, data: node.data.source, links: names.slice(0, -1) })
      }
    }
    await cpio.finish()
  } catch (e) {
    gzip.destroy()
    throw e
  }
  await written
  return result()
}
