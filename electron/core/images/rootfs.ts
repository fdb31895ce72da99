/**
 * Reading a root file system into an FsTree: from a directory on disk (contents stay where they are and
 * are streamed at packing time) or from a .tar / .tar.gz (contents go to blobs in the import's temp dir).
 * Ownership, modes (setuid included) and mtimes are recorded as found, whoever runs the import.
 */
import { lstat, opendir, readlink, realpath } from 'node:fs/promises'
import { join } from 'node:path'
import { RackbootError, errorMessage } from '../util/result'
import { CPIO_MAX_FILE_SIZE } from './cpio'
import { applyTarLayer } from './layer'
import { readDecompressed } from './streams'
import { FsTree, dirNode, type FileData, type TreeNode } from './tree'

export interface ScanOptions {
  warnings: string[]
  signal?: AbortSignal
  onEntry?: (path: string) => void
}

export async function scanDirectory(dir: string, o: ScanOptions): Promise<FsTree> {
  const root = await realpath(dir)
  const rootStat = await lstat(root)
  const tree = new FsTree({
    mode: rootStat.mode & 0o7777,
    uid: rootStat.uid,
    gid: rootStat.gid,
    mtime: Math.floor(rootStat.mtimeMs / 1000),
  })
  // Hard links inside the tree: same (dev, ino) → same FileData.
  const inodes = new Map<string, FileData>()
  // Iterative, so a deep tree cannot overflow the stack.
  const pending: { host: string; rel: string[]; node: Map<string, TreeNode> }[] = [
    { host: root, rel: [], node: tree.root.children },
  ]
  while (pending.length > 0) {
    const { host, rel, node: children } = pending.pop() as (typeof pending)[number]
    let handle
    try {
      handle = await opendir(host)
    } catch (e) {
      throw new RackbootError(`cannot read directory ${host}: ${errorMessage(e)}`, 'source-unreadable')
    }
    for await (const dirent of handle) {
      o.signal?.throwIfAborted()
      const hostPath = join(host, dirent.name)
      const relPath = [...rel, dirent.name]
      const shown = relPath.join('/')
      o.onEntry?.(shown)
      const st = await lstat(hostPath)
      const meta = {
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        mtime: Math.floor(st.mtimeMs / 1000),
        layer: 1,
      }
      if (st.isDirectory()) {
        const made = dirNode(meta)
        children.set(dirent.name, made)
        pending.push({ host: hostPath, rel: relPath, node: made.children })
      } else if (st.isFile()) {
        if (st.size > CPIO_MAX_FILE_SIZE)
          throw new RackbootError(
            `${hostPath} is ${st.size} bytes; boot archives hold files under 4 GiB`,
            'too-large',
          )
        let data: FileData = { source: hostPath, size: st.size }
        if (st.nlink > 1) {
          const key = `${st.dev}:${st.ino}`
          data = inodes.get(key) ?? data
          inodes.set(key, data)
        }
        children.set(dirent.name, { ...meta, type: 'file', data })
      } else if (st.isSymbolicLink()) {
        children.set(dirent.name, { ...meta, type: 'symlink', target: await readlink(hostPath) })
      } else {
        const what = st.isSocket()
          ? 'socket'
          : st.isFIFO()
            ? 'FIFO'
            : st.isCharacterDevice()
              ? 'char device'
              : 'block device'
        o.warnings.push(`skipped ${what} '${shown}' (devtmpfs provides /dev on the node)`)
      }
    }
  }
  return tree
}

export async function loadRootfsTar(
  path: string,
  o: ScanOptions & { blobDir: string; onBytes?: (n: number) => void },
): Promise<FsTree> {
  const tree = new FsTree()
  await applyTarLayer(readDecompressed(path, { label: path, onBytes: o.onBytes, signal: o.signal }), tree, {
    layer: 1,
    label: path,
    whiteouts: false,
    blobDir: o.blobDir,
    blobs: { next: 0 },
    warnings: o.warnings,
    signal: o.signal,
    onEntry: o.onEntry,
  })
  return tree
}
