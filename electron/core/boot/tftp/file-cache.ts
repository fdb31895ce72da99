/**
 * Whole-file cache for the small files TFTP serves over and over (ipxe.efi ~1 MiB, undionly.kpxe ~70 KiB):
 * a boot storm asks for the same file once per machine, and reading it block by block from disk for each
 * transfer was a read syscall, a promise and a Buffer per 64 KiB per client. Entries are keyed by real path
 * and checked against the opened file's size, mtime and inode on every open, so a replaced or edited file is
 * read again; the total is bounded and the least recently used files go first. The bytes live in shared
 * memory (readShared below) and are never modified once read.
 */
import type { FileHandle } from 'node:fs/promises'
import type { BigIntStats } from 'node:fs'

export interface FileCacheOptions {
  /** Bytes held at most over all files. Default 64 MiB. */
  maxBytes?: number
  /** Larger files are never cached (streamed per transfer instead). Default 8 MiB. */
  maxFileBytes?: number
}

interface Entry {
  version: string
  data: Buffer
}

export class FileCache {
  private readonly entries = new Map<string, Entry>()
  /** Reads in progress, so 64 clients asking at once cause one read. */
  private readonly loading = new Map<string, Promise<Buffer>>()
  private bytes = 0
  private readonly maxBytes: number
  private readonly maxFileBytes: number

  constructor(o: FileCacheOptions = {}) {
    this.maxBytes = o.maxBytes ?? 64 * 1024 * 1024
    this.maxFileBytes = Math.min(o.maxFileBytes ?? 8 * 1024 * 1024, this.maxBytes)
  }

  /**
   * The whole content of the file open as `handle` (whose stat is `st`), from memory when the cached copy is of
   * the same version; null when the file is too big to cache. Rejects when reading fails.
   */
  async contents(path: string, handle: FileHandle, st: BigIntStats): Promise<Buffer | null> {
    if (st.size > BigInt(this.maxFileBytes)) return null
    const hit = this.peek(path, st)
    if (hit) return hit
    const version = versionOf(st)
    const key = `${path}\0${version}`
    let load = this.loading.get(key)
    if (!load) {
      load = readShared(handle, Number(st.size)).finally(() => this.loading.delete(key))
      this.loading.set(key, load)
    }
    const data = await load
    // A file that changed size while being read is served as read, but not kept.
    if (BigInt(data.length) === st.size) this.keep(path, { version, data })
    return data
  }

  /** The cached content of `path` when it is of the version `st` describes, else null. */
  peek(path: string, st: BigIntStats): Buffer | null {
    const hit = this.entries.get(path)
    if (hit?.version !== versionOf(st)) return null
    this.entries.delete(path) // re-insert: Map order is the LRU order
    this.entries.set(path, hit)
    return hit.data
  }

  private keep(path: string, e: Entry): void {
    const old = this.entries.get(path)
    if (old) {
      this.bytes -= old.data.length
      this.entries.delete(path)
    }
    this.entries.set(path, e)
    this.bytes += e.data.length
    for (const [p, victim] of this.entries) {
      if (this.bytes <= this.maxBytes) break
      this.entries.delete(p)
      this.bytes -= victim.data.length
    }
  }

  /** Bytes and files held now (tests, status). */
  stats(): { bytes: number; files: number } {
    return { bytes: this.bytes, files: this.entries.size }
  }
}

/** ctime and mode too: a chmod that makes the file unreadable must not leave it served from memory. */
const versionOf = (st: BigIntStats): string =>
  `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.mode}`

/**
 * The file's bytes in shared memory: TFTP session threads get the cached copy itself through postMessage
 * (a SharedArrayBuffer is shared, not copied), instead of a 1 MiB copy of ipxe.efi per transfer.
 * Fewer bytes than `size` when the file shrank while being read.
 */
async function readShared(handle: FileHandle, size: number): Promise<Buffer> {
  const data = Buffer.from(new SharedArrayBuffer(size))
  let got = 0
  while (got < size) {
    const { bytesRead } = await handle.read(data, got, size - got, got)
    if (bytesRead === 0) break
    got += bytesRead
  }
  return got === size ? data : data.subarray(0, got)
}
