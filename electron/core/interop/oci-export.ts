/**
 * Rackboot images out as docker-archive tars (`docker save` layout: manifest.json, <config>.json,
 * <layer>/layer.tar), the form `wwctl image import` (Warewulf 4.6; 4.5: `wwctl container import`),
 * `docker load` and `podman load` read. The stored gzip cpio newc rootfs (and modules, and the kernel as
 * /boot/vmlinuz) become one uncompressed tar layer, streamed entry by entry; nothing is held whole.
 *
 * The newc reader is hand-written for the same reason as the writer in ../images/cpio.ts: no maintained
 * package reads newc, and the format is a 110-byte hex header plus 4-byte padding.
 */
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import type { Writable } from 'node:stream'
import { Header, Pax, type HeaderData } from 'tar'
import {
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  checkArchivePath,
} from '../images/cpio'
import type { ImageStore } from '../images/store'
import type { Db } from '../inventory/schema'
import { readDecompressed } from '../images/streams'
import { RackbootError, errorMessage } from '../util/result'
import type { ImagesExported } from '../../ipc/contract'

/** One newc entry header (Documentation/driver-api/early-userspace/buffer-format.rst). */
export interface NewcEntry {
  name: string
  ino: number
  mode: number
  uid: number
  gid: number
  nlink: number
  mtime: number
  size: number
  devMajor: number
  devMinor: number
  rdevMajor: number
  rdevMinor: number
  /** Byte offset of the header in the decompressed stream, for error messages. */
  offset: number
}

const NEWC_HEADER = 110
const NEWC_FIELDS = [
  'ino',
  'mode',
  'uid',
  'gid',
  'nlink',
  'mtime',
  'size',
  'devMajor',
  'devMinor',
  'rdevMajor',
  'rdevMinor',
  'namesize',
  'check',
] as const
const pad4 = (n: number) => (4 - (n % 4)) % 4
/** Longer than PATH_MAX (4096): a symlink target or name this long is corruption, not a file system. */
const MAX_NAME = 65536

/** Exact-length reads over an async stream of chunks, counting the offset. */
class ByteSource {
  private buf: Buffer = Buffer.alloc(0)
  private ended = false
  offset = 0

  constructor(
    private readonly chunks: AsyncIterator<Buffer>,
    private readonly label: string,
  ) {}

  private async fill(n: number): Promise<boolean> {
    while (this.buf.length < n && !this.ended) {
      const r = await this.chunks.next()
      if (r.done === true) this.ended = true
      else if (r.value.length > 0)
        this.buf = this.buf.length === 0 ? r.value : Buffer.concat([this.buf, r.value])
    }
    return this.buf.length >= n
  }

  truncated(what: string): RackbootError {
    return new RackbootError(
      `${this.label}: cpio archive ends early at offset ${this.offset} (inside ${what})`,
      'bad-archive',
      'the file is truncated or corrupt; re-import the image',
    )
  }

  async take(n: number, what: string): Promise<Buffer> {
    if (!(await this.fill(n))) throw this.truncated(what)
    const out = this.buf.subarray(0, n)
    this.buf = this.buf.subarray(n)
    this.offset += n
    return out
  }

  async *stream(n: number, what: string): AsyncGenerator<Buffer> {
    let left = n
    while (left > 0) {
      if (this.buf.length === 0 && !(await this.fill(1))) throw this.truncated(what)
      const piece = this.buf.subarray(0, Math.min(left, this.buf.length))
      this.buf = this.buf.subarray(piece.length)
      this.offset += piece.length
      left -= piece.length
      yield piece
    }
  }

  /** Reads to the end: bytes after the trailer (block padding) are not entries. */
  async drain(): Promise<void> {
    this.buf = Buffer.alloc(0)
    while (!(await this.chunks.next()).done);
  }
}

/**
 * Reads a newc stream ("070701", or "070702" whose checksum is not checked), calling `onEntry` for each
 * entry up to TRAILER!!!. `onEntry` may consume the data; what it leaves is skipped. Malformed input is
 * refused with a RackbootError naming the offset.
 */
export async function readNewc(
  chunks: AsyncIterable<Buffer>,
  label: string,
  onEntry: (e: NewcEntry, data: AsyncIterable<Buffer>) => Promise<void>,
): Promise<void> {
  const src = new ByteSource(chunks[Symbol.asyncIterator](), label)
  for (;;) {
    const offset = src.offset
    const head = (await src.take(NEWC_HEADER, `an entry header at offset ${offset}`)).toString('latin1')
    const magic = head.slice(0, 6)
    if (magic !== '070701' && magic !== '070702')
      throw new RackbootError(
        `${label}: no cpio newc header at offset ${offset} (found ${JSON.stringify(magic)}, expected "070701")`,
        'bad-archive',
        'the image file is not a gzip cpio newc archive, or it is corrupt; re-import the image',
      )
    const f: Record<(typeof NEWC_FIELDS)[number], number> = Object.create(null) as Record<
      (typeof NEWC_FIELDS)[number],
      number
    >
    for (const [i, key] of NEWC_FIELDS.entries()) {
      const hex = head.slice(6 + i * 8, 14 + i * 8)
      if (!/^[0-9a-fA-F]{8}$/.test(hex))
        throw new RackbootError(
          `${label}: cpio header at offset ${offset}: field ${key} is not 8 hex digits (${JSON.stringify(hex)})`,
          'bad-archive',
        )
      f[key] = parseInt(hex, 16)
    }
    if (f.namesize < 1 || f.namesize > MAX_NAME)
      throw new RackbootError(
        `${label}: cpio header at offset ${offset}: name size ${f.namesize} out of range`,
        'bad-archive',
      )
    const nameBytes = await src.take(f.namesize, `the name of the entry at offset ${offset}`)
    if (nameBytes[f.namesize - 1] !== 0 || nameBytes.subarray(0, -1).includes(0))
      throw new RackbootError(
        `${label}: cpio entry at offset ${offset}: the name is not NUL-terminated`,
        'bad-archive',
      )
    const name = nameBytes.subarray(0, -1).toString('utf8')
    await src.take(pad4(NEWC_HEADER + f.namesize), `the name padding at offset ${offset}`)
    if (name === 'TRAILER!!!') {
      await src.drain()
      return
    }
    const entry: NewcEntry = {
      name,
      ino: f.ino,
      mode: f.mode,
      uid: f.uid,
      gid: f.gid,
      nlink: f.nlink,
      mtime: f.mtime,
      size: f.size,
      devMajor: f.devMajor,
      devMinor: f.devMinor,
      rdevMajor: f.rdevMajor,
      rdevMinor: f.rdevMinor,
      offset,
    }
    const data = src.stream(f.size, `the data of '${name}' (entry at offset ${offset})`)
    await onEntry(entry, data)
    for await (const _ of data); // skip what onEntry left
    await src.take(pad4(f.size), `the data padding of '${name}'`)
  }
}

/** Writes tar entries (ustar, pax when a name or number does not fit) into a sink, hashing and counting. */
class TarSink {
  private readonly hash = createHash('sha256')
  bytes = 0

  constructor(private readonly sink: Writable) {
    // Write errors surface through once('drain' | 'finish'); this keeps a late one (after destroy()) from
    // being an uncaught 'error' event.
    sink.on('error', () => {})
  }

  async entry(h: HeaderData, data?: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<void> {
    const header = new Header(h)
    const block = Buffer.alloc(512)
    if (header.encode(block, 0))
      await this.put(
        new Pax({
          path: h.path,
          linkpath: h.linkpath,
          size: h.size,
          uid: h.uid,
          gid: h.gid,
          mtime: h.mtime,
        }).encode(),
      )
    await this.put(block)
    const size = h.size ?? 0
    let written = 0
    if (data !== undefined)
      for await (const chunk of data) {
        written += chunk.length
        await this.put(chunk)
      }
    if (written !== size)
      throw new RackbootError(`tar: '${h.path}' gave ${written} bytes, expected ${size}`, 'internal')
    await this.put(Buffer.alloc((512 - (size % 512)) % 512))
  }

  /** Two zero blocks end a tar; then the sink is ended and flushed. Returns the hex sha256 of all bytes. */
  async finish(): Promise<string> {
    await this.put(Buffer.alloc(1024))
    this.sink.end()
    if (!this.sink.writableFinished) await once(this.sink, 'finish')
    return this.hash.digest('hex')
  }

  private async put(buf: Buffer): Promise<void> {
    if (buf.length === 0) return
    this.hash.update(buf)
    this.bytes += buf.length
    if (!this.sink.write(buf)) await once(this.sink, 'drain')
  }
}

/** Strips `./` and `/` prefixes (other writers use them); null for the root itself. */
function archivePath(name: string, label: string, offset: number): string | null {
  let p = name
  while (p.startsWith('./') || p.startsWith('/')) p = p.startsWith('/') ? p.slice(1) : p.slice(2)
  p = p.replace(/\/+$/, '')
  if (p === '' || p === '.') return null
  const why = checkArchivePath(p)
  if (why !== null)
    throw new RackbootError(`${label}: cpio entry at offset ${offset} '${name}': ${why}`, 'path-traversal')
  return p
}

async function readAll(data: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of data) parts.push(c)
  return Buffer.concat(parts)
}

/** One layer from several cpio streams: paths already written, hard link groups, skipped entries. */
class LayerBuilder {
  /** 'dir' or 'other' for every path written, so a later stream does not turn a symlink into a directory. */
  readonly written = new Map<string, 'dir' | 'other'>()
  readonly notes: string[] = []

  constructor(private readonly tar: TarSink) {}

  async addCpio(path: string, label: string): Promise<void> {
    // Hard links: newc repeats the inode; GNU cpio and ours put the data on the last name, others on the
    // first. The first name with data becomes the tar file, every other name a tar hard link to it.
    const groups = new Map<string, { target: string | null; pending: HeaderData[] }>()
    const chunks = readDecompressed(path, { label })
    await readNewc(chunks, label, async (e, data) => {
      const p = archivePath(e.name, label, e.offset)
      if (p === null) return
      const base: HeaderData = {
        path: p,
        mode: e.mode & 0o7777,
        uid: e.uid,
        gid: e.gid,
        mtime: new Date(e.mtime * 1000),
      }
      const type = e.mode & S_IFMT
      if (type === S_IFDIR) {
        if (this.written.has(p)) return // already there (or a symlink standing for it): keep that
        await this.put({ ...base, path: `${p}/`, type: 'Directory', size: 0 }, p, 'dir')
      } else if (type === S_IFLNK) {
        const target = (await readAll(data)).toString('utf8')
        if (target.length === 0 || target.length > 4096)
          throw new RackbootError(
            `${label}: symlink '${p}' (entry at offset ${e.offset}) has a target of ${target.length} bytes`,
            'bad-archive',
          )
        await this.put({ ...base, mode: 0o777, type: 'SymbolicLink', linkpath: target, size: 0 }, p)
      } else if (type === S_IFCHR || type === S_IFBLK) {
        await this.put(
          {
            ...base,
            type: type === S_IFCHR ? 'CharacterDevice' : 'BlockDevice',
            devmaj: e.rdevMajor,
            devmin: e.rdevMinor,
            size: 0,
          },
          p,
        )
      } else if (type === S_IFIFO) {
        await this.put({ ...base, type: 'FIFO', size: 0 }, p)
      } else if (type === S_IFREG) {
        if (e.nlink <= 1) {
          await this.put({ ...base, type: 'File', size: e.size }, p, 'other', data)
          return
        }
        const key = `${e.devMajor}:${e.devMinor}:${e.ino}`
        const g = groups.get(key) ?? { target: null, pending: [] }
        groups.set(key, g)
        if (g.target !== null) {
          await this.put({ ...base, type: 'Link', linkpath: g.target, size: 0 }, p)
        } else if (e.size > 0) {
          await this.put({ ...base, type: 'File', size: e.size }, p, 'other', data)
          g.target = p
          for (const h of g.pending)
            await this.put({ ...h, type: 'Link', linkpath: p, size: 0 }, h.path ?? '')
          g.pending = []
        } else g.pending.push(base)
      } else this.notes.push(`${label}: skipped '${p}' (a socket or unknown file type ${type.toString(8)})`)
    })
    // Groups whose names all had no data are empty files linked together.
    for (const g of groups.values()) {
      const [first, ...rest] = g.pending
      if (first === undefined) continue
      await this.put({ ...first, type: 'File', size: 0 }, first.path ?? '')
      for (const h of rest)
        await this.put({ ...h, type: 'Link', linkpath: first.path, size: 0 }, h.path ?? '')
    }
  }

  async put(
    h: HeaderData,
    path: string,
    kind: 'dir' | 'other' = 'other',
    data?: AsyncIterable<Buffer>,
  ): Promise<void> {
    await this.tar.entry(h, data)
    this.written.set(path, kind)
  }
}

export interface ExportableImage {
  name: string
  /** rootfs.cpio.gz of the store. */
  rootfs: string
  /** The kernel, put in the image as /boot/vmlinuz-<kernelVersion> (or /boot/vmlinuz when the version is
   * unknown) unless the rootfs has that path already. Warewulf 4.6 finds kernels by that name
   * (/boot/vmlinuz-<version> or /lib/modules/<version>/vmlinuz), as does `rackboot images import`. */
  kernel?: string
  kernelVersion?: string | null
  /** modules.cpio.gz, merged into the layer (it holds lib/modules/<version>/…). */
  modules?: string
  /** OCI architecture name; amd64 when unknown. */
  arch?: string | null
  /** The config's `created` time; now when absent. */
  created?: Date
}

export interface ArchiveWritten {
  bytes: number
  sha256: string
  /** Entries that had no tar equivalent (sockets). */
  notes: string[]
}

/**
 * Writes `image` as a docker-archive tar at `out` (via a temp file renamed into place, so a failure leaves
 * no output). Malformed stored archives are refused with a RackbootError naming file and offset.
 */
export async function writeDockerArchive(image: ExportableImage, out: string): Promise<ArchiveWritten> {
  const work = await mkdtemp(join(tmpdir(), 'rackboot-oci-export-'))
  const partial = join(dirname(out), `.${basename(out)}.tmp-${process.pid}-${Date.now()}`)
  try {
    const layerFile = join(work, 'layer.tar')
    const layerOut = createWriteStream(layerFile)
    const layerTar = new TarSink(layerOut)
    const builder = new LayerBuilder(layerTar)
    let layerSha: string
    try {
      await builder.addCpio(image.rootfs, image.rootfs)
      const kernelPath =
        image.kernelVersion != null && /^[A-Za-z0-9._+~-]+$/.test(image.kernelVersion)
          ? `boot/vmlinuz-${image.kernelVersion}`
          : 'boot/vmlinuz'
      if (image.kernel !== undefined && !builder.written.has(kernelPath)) {
        const k = await stat(image.kernel)
        if (!builder.written.has('boot'))
          await builder.put(
            { path: 'boot/', type: 'Directory', mode: 0o755, uid: 0, gid: 0, mtime: k.mtime },
            'boot',
            'dir',
          )
        await builder.put(
          { path: kernelPath, type: 'File', mode: 0o644, uid: 0, gid: 0, size: k.size, mtime: k.mtime },
          kernelPath,
          'other',
          createReadStream(image.kernel) as AsyncIterable<Buffer>,
        )
      }
      if (image.modules !== undefined) await builder.addCpio(image.modules, image.modules)
      layerSha = await layerTar.finish()
    } finally {
      layerOut.destroy()
    }

    const config = Buffer.from(
      JSON.stringify({
        architecture: image.arch ?? 'amd64',
        os: 'linux',
        created: (image.created ?? new Date()).toISOString(),
        config: { Cmd: ['/sbin/init'] },
        rootfs: { type: 'layers', diff_ids: [`sha256:${layerSha}`] },
        history: [{ created_by: 'rackboot export warewulf' }],
      }),
    )
    const configName = `${createHash('sha256').update(config).digest('hex')}.json`
    const layerName = `${layerSha}/layer.tar`
    const manifest = Buffer.from(
      JSON.stringify([{ Config: configName, RepoTags: [`${image.name}:latest`], Layers: [layerName] }]),
    )
    const mtime = image.created ?? new Date()
    const outStream = createWriteStream(partial, { flags: 'wx' })
    const outer = new TarSink(outStream)
    let sha256: string
    try {
      const file = (path: string, bytes: Buffer) =>
        outer.entry({ path, type: 'File', mode: 0o644, uid: 0, gid: 0, size: bytes.length, mtime }, [bytes])
      await outer.entry({
        path: `${layerSha}/`,
        type: 'Directory',
        mode: 0o755,
        uid: 0,
        gid: 0,
        mtime,
        size: 0,
      })
      await outer.entry(
        { path: layerName, type: 'File', mode: 0o644, uid: 0, gid: 0, size: layerTar.bytes, mtime },
        createReadStream(layerFile) as AsyncIterable<Buffer>,
      )
      await file(configName, config)
      await file('manifest.json', manifest)
      sha256 = await outer.finish()
    } finally {
      outStream.destroy()
    }
    await rename(partial, out)
    return { bytes: outer.bytes, sha256, notes: builder.notes }
  } catch (e) {
    await rm(partial, { force: true })
    if (e instanceof RackbootError) throw e
    throw new RackbootError(
      `cannot write the image '${image.name}' to ${out}: ${errorMessage(e)}`,
      'export-failed',
    )
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

/** Defined in the contract (pure, so the renderer can import it); produced here. */
export type { ImagesExported }

export const KERNEL_INITRD_NOTE = 'kernel+initrd images are not OCI images: copy vmlinuz and initrd by hand'

/** Writes `<dir>/<name>.tar` for every image a node names, in name order. */
export async function exportNodeImages(db: Db, store: ImageStore, dir: string): Promise<ImagesExported> {
  const names = [...new Set(db.nodes.map((n) => n.image).filter((n): n is string => n !== null))].sort()
  const out: ImagesExported = { written: [], skipped: [] }
  // Names Rackboot did not know at a Warewulf import stay in the node's passthrough and go back out in
  // nodes.conf; say that the server must already have them.
  const kept = new Set<string>()
  for (const n of db.nodes) {
    const fields = n.image === null ? n.extra.warewulf?.fields : undefined
    const name = fields?.['image name'] ?? fields?.['container name']
    if (typeof name === 'string' && name !== '' && !names.includes(name)) kept.add(name)
  }
  for (const name of [...kept].sort())
    out.skipped.push({
      name,
      reason:
        'Rackboot does not have this image (the name came from Warewulf); the server must already have it',
    })
  let made = false
  for (const name of names) {
    const m = await store.get(name)
    const rootfs = store.artifactPath(name, 'image')
    if (m === null || rootfs === null) {
      out.skipped.push({ name, reason: `not in the image store; import it with \`rackboot images import\`` })
      continue
    }
    if (m.kind === 'kernel-initrd') {
      out.skipped.push({ name, reason: KERNEL_INITRD_NOTE })
      continue
    }
    if (!made) {
      await mkdir(dir, { recursive: true }).catch((e: unknown) => {
        throw new RackbootError(`cannot create ${dir}: ${errorMessage(e)}`, 'export-failed')
      })
      made = true
    }
    const path = join(dir, `${name}.tar`)
    const r = await writeDockerArchive(
      {
        name,
        rootfs,
        // A kernel found in the image is still in its rootfs (/boot); only a supplied one is added.
        kernel: m.artifacts.kernel.origin.startsWith('image:')
          ? undefined
          : (store.artifactPath(name, 'kernel') ?? undefined),
        modules: store.artifactPath(name, 'modules') ?? undefined,
        kernelVersion: m.kernelVersion,
        arch: m.arch,
        created: Number.isNaN(Date.parse(m.createdAt)) ? undefined : new Date(m.createdAt),
      },
      path,
    )
    out.written.push({ name, path, bytes: r.bytes, sha256: r.sha256 })
  }
  return out
}
