/**
 * The root file system being assembled, held as an in-memory index of paths with metadata. File
 * contents stay on disk (the source directory, or blobs in the import's temp dir), so nothing that is
 * written ever lands at a host path taken from an archive: path traversal can only be a logic error here,
 * never a write outside the temp dir. Ownership and setuid bits live in the index, so an unprivileged
 * import records them exactly as the image has them.
 */
import { err, ok, type Result } from '../util/result'

/** Shared by every name of one inode: hard links are paths pointing at the same FileData. */
export interface FileData {
  /** Absolute host path holding the bytes. */
  source: string
  size: number
}

interface Meta {
  /** Permission bits incl. setuid/setgid/sticky (0o7777). */
  mode: number
  uid: number
  gid: number
  /** Seconds since the epoch. */
  mtime: number
  /** Layer that last created or re-declared this node; opaque whiteouts keep only the current layer's. */
  layer: number
}

export type DirNode = Meta & { type: 'dir'; children: Map<string, TreeNode> }
export type FileNode = Meta & { type: 'file'; data: FileData }
export type SymlinkNode = Meta & { type: 'symlink'; target: string }
export type TreeNode = DirNode | FileNode | SymlinkNode

/** Linux follows at most 40 symlinks in one lookup (ELOOP); so do we. */
const MAX_SYMLINK_HOPS = 40

export function dirNode(meta: Meta): DirNode {
  return { ...meta, type: 'dir', children: new Map() }
}

/** Splits a relative archive path into components after dropping `./` prefixes and trailing slashes.
 * Refuses absolute paths and `..`, which in a layer can only be an attack or a broken tool. */
export function splitArchivePath(raw: string): Result<string[]> {
  if (raw.includes('\0')) return err('path contains a NUL byte')
  if (raw.startsWith('/')) return err('absolute path')
  const parts: string[] = []
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') return err("path contains '..'")
    parts.push(part)
  }
  return ok(parts)
}

export class FsTree {
  readonly root: DirNode

  constructor(rootMeta: Partial<Meta> = {}) {
    this.root = dirNode({ mode: 0o755, uid: 0, gid: 0, mtime: 0, layer: 0, ...rootMeta })
  }

  /**
   * The directory that `parts` names, following symlinks as the booted kernel would (absolute targets
   * start again at this root). A relative target that climbs above the root is refused: written through,
   * it would land outside the image. With `create`, missing directories are made (0755 root:root).
   */
  resolveDir(
    parts: readonly string[],
    create: { layer: number; mtime: number } | null,
  ): Result<DirNode | null> {
    const stack: DirNode[] = [this.root]
    const queue = [...parts]
    let hops = 0
    while (queue.length > 0) {
      const name = queue.shift() as string
      if (name === '' || name === '.') continue
      if (name === '..') {
        if (stack.length === 1) return err('a symlink on the way climbs above the image root')
        stack.pop()
        continue
      }
      const cur = stack[stack.length - 1] as DirNode
      const child = cur.children.get(name)
      if (child === undefined) {
        if (create === null) return ok(null)
        const made = dirNode({ mode: 0o755, uid: 0, gid: 0, mtime: create.mtime, layer: create.layer })
        cur.children.set(name, made)
        stack.push(made)
      } else if (child.type === 'dir') {
        stack.push(child)
      } else if (child.type === 'symlink') {
        if (++hops > MAX_SYMLINK_HOPS) return err(`more than ${MAX_SYMLINK_HOPS} symlinks on the way`)
        if (child.target.startsWith('/')) stack.splice(1)
        queue.unshift(...child.target.split('/'))
      } else {
        return err(`'${name}' is a regular file, not a directory`)
      }
    }
    return ok(stack[stack.length - 1] as DirNode)
  }

  /** The node at `parts` without following a final symlink (lstat). */
  lookup(parts: readonly string[]): Result<TreeNode | null> {
    if (parts.length === 0) return ok(this.root)
    const dir = this.resolveDir(parts.slice(0, -1), null)
    if (!dir.ok || dir.value === null) return dir
    return ok(dir.value.children.get(parts[parts.length - 1] as string) ?? null)
  }

  /** The node at `parts`, following symlinks all the way (stat); null when missing or dangling. */
  follow(parts: readonly string[]): Result<TreeNode | null> {
    let current = [...parts]
    for (let hops = 0; hops <= MAX_SYMLINK_HOPS; hops++) {
      const node = this.lookup(current)
      if (!node.ok || node.value === null || node.value.type !== 'symlink') return node
      const target = node.value.target
      const base = target.startsWith('/') ? [] : current.slice(0, -1)
      const joined = normaliseWithin([...base, ...target.split('/')])
      if (joined === null)
        return err(`symlink '${current.join('/')}' -> '${target}' climbs above the image root`)
      current = joined
    }
    return err(`more than ${MAX_SYMLINK_HOPS} symlinks resolving '${parts.join('/')}'`)
  }

  /** The real path (no symlinks in it) of the directory `parts` names, or null when missing. */
  realDirPath(parts: readonly string[]): string[] | null {
    const out: string[] = []
    let dir: DirNode = this.root
    const queue = [...parts]
    let hops = 0
    while (queue.length > 0) {
      const name = queue.shift() as string
      if (name === '' || name === '.') continue
      if (name === '..') {
        if (out.length === 0) return null
        out.pop()
        const back = this.resolveDir(out, null)
        if (!back.ok || back.value === null) return null
        dir = back.value
        continue
      }
      const child = dir.children.get(name)
      if (child === undefined || child.type === 'file') return null
      if (child.type === 'symlink') {
        if (++hops > MAX_SYMLINK_HOPS) return null
        if (child.target.startsWith('/')) {
          out.length = 0
          dir = this.root
        }
        queue.unshift(...child.target.split('/'))
        continue
      }
      out.push(name)
      dir = child
    }
    return out
  }

  /** Puts `node` at `parts`, replacing whatever was there, except that a directory over a directory
   * keeps the lower contents and takes the new metadata (how layers merge). */
  set(parts: readonly string[], node: TreeNode): Result<void> {
    if (parts.length === 0) {
      if (node.type !== 'dir') return err('the image root must be a directory')
      Object.assign(this.root, { mode: node.mode, uid: node.uid, gid: node.gid, mtime: node.mtime })
      return ok(undefined)
    }
    const parent = this.resolveDir(parts.slice(0, -1), { layer: node.layer, mtime: node.mtime })
    if (!parent.ok) return parent
    const dir = parent.value as DirNode
    const name = parts[parts.length - 1] as string
    const existing = dir.children.get(name)
    if (existing?.type === 'dir' && node.type === 'dir') {
      Object.assign(existing, {
        mode: node.mode,
        uid: node.uid,
        gid: node.gid,
        mtime: node.mtime,
        layer: node.layer,
      })
    } else {
      dir.children.set(name, node)
    }
    return ok(undefined)
  }

  /** Removes the node at `parts` (and everything under it); a missing path is not an error. */
  remove(parts: readonly string[]): Result<TreeNode | null> {
    if (parts.length === 0) return err('cannot remove the image root')
    const parent = this.resolveDir(parts.slice(0, -1), null)
    if (!parent.ok || parent.value === null) return parent
    const name = parts[parts.length - 1] as string
    const node = parent.value.children.get(name) ?? null
    parent.value.children.delete(name)
    return ok(node)
  }

  /** Moves the directory at real path `parts` (no symlinks in it) into a new tree of its own, with copies
   * of its parent directories; null when there is no such directory. */
  detach(parts: readonly string[]): FsTree | null {
    const found = this.lookup(parts)
    if (!found.ok || found.value?.type !== 'dir' || parts.length === 0) return null
    const { mode, uid, gid, mtime } = this.root
    const out = new FsTree({ mode, uid, gid, mtime })
    for (let i = 1; i < parts.length; i++) {
      const parent = this.lookup(parts.slice(0, i))
      if (!parent.ok || parent.value?.type !== 'dir') return null
      const { mode, uid, gid, mtime, layer } = parent.value
      out.set(parts.slice(0, i), dirNode({ mode, uid, gid, mtime, layer }))
    }
    this.remove(parts)
    out.set(parts, found.value)
    return out
  }

  /** Opaque whiteout: hides everything under `dir` that came from a layer below `layer`. */
  clearLower(dir: DirNode, layer: number): void {
    for (const [name, child] of dir.children) {
      if (child.layer < layer) dir.children.delete(name)
      else if (child.type === 'dir') this.clearLower(child, layer)
    }
  }

  /** Every node except the root, parents before children, names in byte order (reproducible archives). */
  *walk(): Generator<[string, TreeNode]> {
    yield* walkDir('', this.root)
  }
}

/** Depth first, so a directory's contents follow it; recursion depth is the tree's depth. */
function* walkDir(prefix: string, dir: DirNode): Generator<[string, TreeNode]> {
  for (const name of [...dir.children.keys()].sort(byteOrder)) {
    const node = dir.children.get(name) as TreeNode
    const path = prefix === '' ? name : `${prefix}/${name}`
    yield [path, node]
    if (node.type === 'dir') yield* walkDir(path, node)
  }
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}

/** Applies `..` inside the root; null when it climbs above. */
function normaliseWithin(parts: string[]): string[] | null {
  const out: string[] = []
  for (const p of parts) {
    if (p === '' || p === '.') continue
    if (p === '..') {
      if (out.length === 0) return null
      out.pop()
    } else out.push(p)
  }
  return out
}
