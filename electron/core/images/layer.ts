/**
 * Applies one tar stream (an OCI/docker layer, or a plain root file system tar) onto an FsTree.
 * Regular file contents go to numbered blobs in a scratch directory; everything else lives in the tree.
 *
 * OCI whiteouts (image-spec layer.md, "Whiteouts"): `.wh.<name>` deletes `<name>` from lower layers,
 * `.wh..wh..opq` hides every lower entry of its directory. Device nodes and FIFOs are skipped with a
 * warning: they cannot be created by an unprivileged import, and a booted node gets /dev from devtmpfs.
 */
import { createWriteStream } from 'node:fs'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Parser, type ReadEntry } from 'tar'
import { RackbootError, errorMessage } from '../util/result'
import { splitArchivePath, type FileNode, type FsTree } from './tree'

export interface ApplyLayerOptions {
  /** 1-based position of this layer; later layers win. */
  layer: number
  /** Names the layer in errors: `layer 2/3 (sha256:ab12…)` or the tar's path. */
  label: string
  /** Interpret `.wh.` entries (OCI layers); a plain rootfs tar keeps them as ordinary files. */
  whiteouts: boolean
  /** Where file contents are written, one file per entry. */
  blobDir: string
  /** Counter shared across layers so blob names never collide. */
  blobs: { next: number }
  warnings: string[]
  signal?: AbortSignal
  onEntry?: (path: string) => void
}

const WHITEOUT = '.wh.'
const OPAQUE = '.wh..wh..opq'

/** Reads decompressed tar bytes from `input` and applies every entry to `tree`. */
export async function applyTarLayer(
  input: AsyncIterable<Buffer>,
  tree: FsTree,
  opts: ApplyLayerOptions,
): Promise<void> {
  let failure: Error | null = null
  let fail: (e: Error) => void = () => {}
  const failed = new Promise<never>((_, reject) => {
    fail = (e) => {
      failure ??= e
      reject(failure)
    }
  })
  failed.catch(() => {})

  // Entries are handled strictly one after another: the parser holds the next entry's bytes (and stops
  // reading input) until the previous one is consumed, so memory stays bounded.
  let chain: Promise<void> = Promise.resolve()
  let entries = 0
  let lastEntry = ''
  const where = () =>
    entries === 0 ? 'not a tar archive' : `truncated or corrupt after entry '${lastEntry}'`
  const parser = new Parser({
    strict: true,
    noResume: true,
    onReadEntry: (entry: ReadEntry) => {
      entries++
      lastEntry = entry.path
      chain = chain.then(async () => {
        if (failure !== null) return void entry.resume()
        try {
          await applyEntry(entry, tree, opts)
        } catch (e) {
          entry.resume()
          fail(e instanceof RackbootError ? e : entryError(opts, entry.path, errorMessage(e)))
        }
      })
    },
  })
  parser.on('error', (e: Error) =>
    fail(new RackbootError(`${opts.label}: ${where()} (${e.message})`, 'bad-archive')),
  )
  const ended = new Promise<void>((resolve) => parser.on('end', () => resolve()))

  // The parser notices a cut inside an entry's data but not a cut between entries, so check the end
  // ourselves: a whole tar is a multiple of 512 bytes ending in a zero block (end-of-archive marker).
  let total = 0
  let tail = Buffer.alloc(0)
  const feed = async () => {
    for await (const chunk of input) {
      opts.signal?.throwIfAborted()
      if (failure !== null) return
      total += chunk.length
      tail = Buffer.concat([tail, chunk.subarray(Math.max(0, chunk.length - 512))]).subarray(-512)
      // Racing `failed` makes the loop (and so the input stream) stop as soon as any entry fails.
      if (!parser.write(chunk))
        await Promise.race([new Promise<void>((resolve) => parser.once('drain', () => resolve())), failed])
    }
    if (failure !== null) return
    if (total > 0 && (total % 512 !== 0 || tail.length < 512 || tail.some((b) => b !== 0)))
      return fail(
        new RackbootError(
          `${opts.label}: ${where()} (${total} bytes, no end-of-archive block)`,
          'bad-archive',
          'copy or download the file again',
        ),
      )
    parser.end()
    await Promise.race([ended, failed])
    await Promise.race([chain, failed])
  }
  try {
    await Promise.race([feed(), failed])
  } catch (e) {
    if (opts.signal?.aborted) throw opts.signal.reason
    throw e
  }
  if (failure !== null) throw failure
}

function entryError(opts: ApplyLayerOptions, path: string, why: string): RackbootError {
  return new RackbootError(`${opts.label}: entry '${path}': ${why}`, 'bad-archive')
}

async function applyEntry(entry: ReadEntry, tree: FsTree, opts: ApplyLayerOptions): Promise<void> {
  opts.signal?.throwIfAborted()
  const raw = entry.path
  const split = splitArchivePath(raw)
  if (!split.ok) throw new RackbootError(`${opts.label}: entry '${raw}': ${split.error}`, 'path-traversal')
  const parts = split.value
  opts.onEntry?.(raw)
  const name = parts[parts.length - 1] ?? ''
  const meta = {
    mode: (entry.mode ?? 0o644) & 0o7777,
    uid: entry.uid ?? 0,
    gid: entry.gid ?? 0,
    mtime: Math.floor((entry.mtime?.getTime() ?? 0) / 1000),
    layer: opts.layer,
  }
  const check = (r: { ok: true } | { ok: false; error: string }, code = 'path-traversal') => {
    if (!r.ok) throw new RackbootError(`${opts.label}: entry '${raw}': ${r.error}`, code)
  }

  if (opts.whiteouts && name.startsWith(WHITEOUT)) {
    entry.resume()
    const parent = parts.slice(0, -1)
    if (name === OPAQUE) {
      const dir = tree.resolveDir(parent, { layer: opts.layer, mtime: meta.mtime })
      check(dir)
      if (dir.ok && dir.value !== null) tree.clearLower(dir.value, opts.layer)
    } else {
      check(tree.remove([...parent, name.slice(WHITEOUT.length)]))
    }
    return
  }

  switch (entry.type) {
    case 'Directory':
      entry.resume()
      check(tree.set(parts, { ...meta, type: 'dir', children: new Map() }))
      return
    case 'File':
    case 'OldFile':
    case 'ContiguousFile': {
      if (parts.length === 0) throw entryError(opts, raw, 'a file cannot replace the image root')
      const source = join(opts.blobDir, String(opts.blobs.next++))
      await pipeline(entry, createWriteStream(source), { signal: opts.signal })
      check(tree.set(parts, { ...meta, type: 'file', data: { source, size: entry.size } }))
      return
    }
    case 'SymbolicLink': {
      entry.resume()
      const target = entry.linkpath ?? ''
      if (target === '') throw entryError(opts, raw, 'symlink without a target')
      check(tree.set(parts, { ...meta, type: 'symlink', target }))
      return
    }
    case 'Link': {
      entry.resume()
      const linkSplit = splitArchivePath(entry.linkpath ?? '')
      if (!linkSplit.ok)
        throw entryError(opts, raw, `hard link target '${entry.linkpath}': ${linkSplit.error}`)
      const target = tree.lookup(linkSplit.value)
      check(target)
      const node = target.ok ? target.value : null
      if (node === null || node.type !== 'file')
        throw entryError(
          opts,
          raw,
          `hard link to '${entry.linkpath}', which is not a regular file in this or a lower layer`,
        )
      if (linkSplit.value.join('/') === parts.join('/')) return
      // One inode, one set of metadata: the kernel matches hard links by (ino, mode).
      const link: FileNode = { ...node, layer: opts.layer }
      check(tree.set(parts, link))
      return
    }
    case 'CharacterDevice':
    case 'BlockDevice':
    case 'FIFO':
      entry.resume()
      opts.warnings.push(`${opts.label}: skipped ${entry.type} '${raw}' (devtmpfs provides /dev on the node)`)
      return
    default:
      throw entryError(opts, raw, `unsupported tar entry type '${entry.type}'`)
  }
}
