/**
 * A streaming cpio "newc" (SVR4, magic 070701, no CRC) writer: the format the Linux kernel unpacks as an
 * initramfs (Documentation/driver-api/early-userspace/buffer-format.rst) and the format of Warewulf
 * overlays. Entries go out one by one into a Writable with backpressure; file data is streamed, never
 * held whole in memory.
 *
 * Why hand-written: the npm packages found (cpio-stream) pack only the old "odc" format and are not
 * maintained; newc is 110 bytes of hex header plus 4-byte padding, small enough to own.
 */
import { createReadStream } from 'node:fs'
import { once } from 'node:events'
import type { Readable, Writable } from 'node:stream'
import { RackbootError } from '../util/result'

/** File type bits of st_mode (sys/stat.h), as newc carries them in c_mode. */
export const S_IFMT = 0o170000
export const S_IFDIR = 0o040000
export const S_IFREG = 0o100000
export const S_IFLNK = 0o120000
export const S_IFCHR = 0o020000
export const S_IFBLK = 0o060000
export const S_IFIFO = 0o010000

/** newc stores sizes in 8 hex digits: a file must be under 4 GiB. */
export const CPIO_MAX_FILE_SIZE = 0xffffffff

export interface CpioMeta {
  /** Relative, normalised path inside the archive: `etc/passwd`, never `/etc` or `a/../b`. */
  path: string
  /** Permission bits including setuid/setgid/sticky (0o7777); the type bits are added by the writer. */
  mode: number
  uid: number
  gid: number
  /** Seconds since the epoch. */
  mtime: number
}

export interface CpioFile extends CpioMeta {
  size: number
  /** A file path to stream from, an open Readable, or bytes. */
  data: string | Readable | Buffer
  /** Other names of the same inode (hard links). They are written first with no data; `path` comes last
   * and carries the data, as GNU cpio does, which GNU cpio, busybox cpio and the kernel all accept. */
  links?: string[]
}

export interface CpioDevice extends CpioMeta {
  type: 'char' | 'block'
  major: number
  minor: number
}

export interface CpioWriterOptions {
  /** Device nodes are refused unless allowed: a boot image rarely needs them (devtmpfs provides /dev). */
  allowDevices?: boolean
  signal?: AbortSignal
  /** Called after each chunk of file data with that chunk's length, for progress. */
  onData?: (bytes: number, path: string) => void
}

/** Returns the reason a path may not go into an archive, or null when it is fine. */
export function checkArchivePath(path: string): string | null {
  if (path.length === 0) return 'empty path'
  if (path.includes('\0')) return 'path contains a NUL byte'
  if (path.startsWith('/')) return 'absolute path'
  for (const part of path.split('/')) {
    if (part === '..') return "path contains '..'"
    if (part === '' || part === '.') return 'path is not normalised (empty or "." component)'
  }
  return null
}

const hex8 = (n: number) => n.toString(16).padStart(8, '0')
const pad4 = (n: number) => (4 - (n % 4)) % 4
const ZEROS = Buffer.alloc(4)

interface HeaderFields {
  ino: number
  mode: number
  uid: number
  gid: number
  nlink: number
  mtime: number
  size: number
  rdevMajor?: number
  rdevMinor?: number
}

/** Header plus NUL-terminated name, padded to 4 bytes. */
function header(name: string, f: HeaderFields): Buffer {
  const nameBytes = Buffer.from(name + '\0', 'utf8')
  const fields = [
    f.ino,
    f.mode,
    f.uid,
    f.gid,
    f.nlink,
    f.mtime,
    f.size,
    0, // c_devmajor: the kernel pairs it with c_ino to find hard links; one device per archive.
    0, // c_devminor
    f.rdevMajor ?? 0,
    f.rdevMinor ?? 0,
    nameBytes.length,
    0, // c_check: only used by the "070702" CRC variant
  ]
  for (const [i, v] of fields.entries())
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
      throw new RackbootError(`cpio: field ${i} of '${name}' out of range: ${v}`, 'cpio-range')
  const head = Buffer.from('070701' + fields.map(hex8).join(''), 'ascii')
  return Buffer.concat([head, nameBytes, ZEROS.subarray(0, pad4(head.length + nameBytes.length))])
}

export class CpioWriter {
  private nextIno = 1
  private finished = false
  private readonly seen = new Set<string>()

  constructor(
    private readonly sink: Writable,
    private readonly opts: CpioWriterOptions = {},
  ) {}

  async directory(e: CpioMeta): Promise<void> {
    // nlink 2 is what a fresh empty directory has; nothing reads it back.
    await this.put(this.header(e, S_IFDIR, 2, 0))
  }

  async symlink(e: CpioMeta & { target: string }): Promise<void> {
    const target = Buffer.from(e.target, 'utf8')
    if (target.length === 0)
      throw new RackbootError(`cpio: symlink '${e.path}' has an empty target`, 'cpio-entry')
    await this.put(this.header({ ...e, mode: 0o777 }, S_IFLNK, 1, target.length))
    await this.put(target)
    await this.put(ZEROS.subarray(0, pad4(target.length)))
  }

  async device(e: CpioDevice): Promise<void> {
    if (!this.opts.allowDevices)
      throw new RackbootError(
        `cpio: refusing ${e.type} device '${e.path}' (${e.major}:${e.minor})`,
        'cpio-device',
        'device nodes are only written when allowDevices is set',
      )
    const type = e.type === 'char' ? S_IFCHR : S_IFBLK
    await this.put(this.header(e, type, 1, 0, e.major, e.minor))
  }

  async fifo(e: CpioMeta): Promise<void> {
    await this.put(this.header(e, S_IFIFO, 1, 0))
  }

  async file(e: CpioFile): Promise<void> {
    if (!Number.isInteger(e.size) || e.size < 0 || e.size > CPIO_MAX_FILE_SIZE)
      throw new RackbootError(
        `cpio: '${e.path}' is ${e.size} bytes; newc archives hold files under 4 GiB`,
        'too-large',
      )
    const links = e.links ?? []
    const nlink = links.length + 1
    const ino = this.nextIno++
    for (const link of links) await this.put(this.header({ ...e, path: link }, S_IFREG, nlink, 0, 0, 0, ino))
    await this.put(this.header(e, S_IFREG, nlink, e.size, 0, 0, ino))
    const written = await this.copyData(e)
    if (written !== e.size)
      throw new RackbootError(
        `cpio: '${e.path}' gave ${written} bytes, expected ${e.size}: the file changed during the import`,
        'cpio-size',
      )
    await this.put(ZEROS.subarray(0, pad4(e.size)))
  }

  /** Writes the `TRAILER!!!` entry and ends the sink. */
  async finish(): Promise<void> {
    if (this.finished) return
    this.finished = true
    await this.put(header('TRAILER!!!', { ino: 0, mode: 0, uid: 0, gid: 0, nlink: 1, mtime: 0, size: 0 }))
    this.sink.end()
  }

  private header(
    e: CpioMeta,
    type: number,
    nlink: number,
    size: number,
    rdevMajor = 0,
    rdevMinor = 0,
    ino?: number,
  ): Buffer {
    if (this.finished) throw new RackbootError(`cpio: '${e.path}' added after finish()`, 'cpio-entry')
    const why = checkArchivePath(e.path)
    if (why !== null) throw new RackbootError(`cpio: refusing entry '${e.path}': ${why}`, 'path-traversal')
    if (this.seen.has(e.path)) throw new RackbootError(`cpio: duplicate entry '${e.path}'`, 'cpio-entry')
    this.seen.add(e.path)
    return header(e.path, {
      ino: ino ?? this.nextIno++,
      mode: type | (e.mode & 0o7777),
      uid: e.uid,
      gid: e.gid,
      nlink,
      mtime: Math.max(0, Math.floor(e.mtime)),
      size,
      rdevMajor,
      rdevMinor,
    })
  }

  private async copyData(e: CpioFile): Promise<number> {
    if (Buffer.isBuffer(e.data)) {
      await this.put(e.data)
      return e.data.length
    }
    const source =
      typeof e.data === 'string' ? createReadStream(e.data, { highWaterMark: 256 << 10 }) : e.data
    let written = 0
    try {
      for await (const chunk of source) {
        const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string)
        // Stop at the declared size: writing more would corrupt every following header.
        const room = e.size - written
        if (buf.length > room) {
          written += buf.length
          break
        }
        await this.put(buf)
        written += buf.length
        this.opts.onData?.(buf.length, e.path)
      }
    } finally {
      source.destroy()
    }
    return written
  }

  private async put(buf: Buffer): Promise<void> {
    this.opts.signal?.throwIfAborted()
    if (buf.length === 0) return
    if (this.sink.destroyed) throw new RackbootError('cpio: output stream closed early', 'cpio-output')
    if (this.sink.write(buf)) return
    // Wait for drain, but not forever: a sink destroyed by a failing pipeline never drains.
    const stop = new AbortController()
    const signal = this.opts.signal ? AbortSignal.any([this.opts.signal, stop.signal]) : stop.signal
    try {
      await Promise.race([
        once(this.sink, 'drain', { signal }),
        once(this.sink, 'close', { signal }).then(() => {
          throw new RackbootError('cpio: output stream closed early', 'cpio-output')
        }),
      ])
    } finally {
      stop.abort()
    }
  }
}
