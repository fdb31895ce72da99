/**
 * Where TFTP bytes come from. A `FileProvider` opens a name for one client, so files can be generated per
 * machine; the disk provider serves a directory and never anything outside it.
 */
import { constants, lstatSync, promises as fsp, realpathSync } from 'node:fs'
import path from 'node:path'
import { err, errorMessage, ok, type Result } from '../../util/result'
import { FileCache } from './file-cache'
import { TFTP_ERROR } from './packet'

export interface TftpPeer {
  address: string
  port: number
}

/** An open file; `read` past the end returns fewer bytes (an empty buffer at or after the end). */
export interface TftpFile {
  size: number
  read(offset: number, length: number): Promise<Buffer>
  close(): Promise<void>
  /** The whole content when it is already in shared memory (the file cache): session threads read it in place. */
  shared?: Uint8Array
  /**
   * The open descriptor of a plain file on disk: session threads pread(2) it themselves instead of asking this
   * thread for every chunk. Valid until close(), which the server calls only after the session has ended.
   */
  fd?: number
}

/**
 * `length` bytes at `offset`, fewer only at the end of the file: a provider may return short reads before it.
 */
export async function readFully(file: TftpFile, offset: number, length: number): Promise<Buffer> {
  const parts: Buffer[] = []
  let got = 0
  while (got < length) {
    const chunk = await file.read(offset + got, length - got)
    if (chunk.length === 0) break
    parts.push(chunk)
    got += chunk.length
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, got)
}

/** Becomes a TFTP ERROR packet: `code` is an RFC 1350 error code, `message` goes to the client. */
export interface TftpFileError {
  code: number
  message: string
}

export interface FileProvider {
  open(path: string, client: TftpPeer): Promise<Result<TftpFile, TftpFileError>>
}

const accessViolation = (message: string): { ok: false; error: TftpFileError } =>
  err({ code: TFTP_ERROR.accessViolation, message })
const notFound = (message: string): { ok: false; error: TftpFileError } =>
  err({ code: TFTP_ERROR.fileNotFound, message })

/**
 * Client path -> relative POSIX path. Firmware sends `/pxelinux.0`, `\boot\x.efi`, `./a`; all mean a file
 * under the root. `..` is refused outright (even when it would stay inside) and NUL never reaches the OS.
 */
export function normaliseTftpPath(requested: string): Result<string, TftpFileError> {
  if (requested.includes('\0')) return accessViolation(`'${requested.replaceAll('\0', '\\0')}' contains NUL`)
  const segments = requested
    .replaceAll('\\', '/')
    .split('/')
    .filter((s) => s !== '' && s !== '.')
  if (segments.includes('..')) return accessViolation(`'${requested}' contains '..'`)
  if (segments.length === 0) return notFound(`'${requested}' names no file`)
  return ok(segments.join('/'))
}

/** A whole buffer as a file: for generated per-client files (small ones: it is held in memory). */
export function bufferFile(data: Buffer): TftpFile {
  return {
    size: data.length,
    ...(data.buffer instanceof SharedArrayBuffer ? { shared: data } : {}),
    read: async (offset, length) =>
      data.subarray(Math.min(offset, data.length), Math.min(offset + length, data.length)),
    close: async () => {},
  }
}

/**
 * Serves files under `root`. Symlinks are followed only when their real target is inside the real root;
 * the final component is opened with O_NOFOLLOW so a link swapped in after the check is not followed.
 */
export function diskProvider(root: string, o: { cache?: FileCache | null } = {}): FileProvider {
  // One cache per provider (per served root), never shared through module state; null turns it off.
  const cache = o.cache === undefined ? new FileCache() : o.cache
  return {
    async open(requested) {
      const rel = normaliseTftpPath(requested)
      if (!rel.ok) return rel
      // realpath(3) itself (the .native calls): each is a few cached-dentry lookups. The promise versions
      // cost a thread-pool round trip apiece, which bench:tftp measured as most of the main thread's time
      // per ipxe.efi transfer with 16 clients.
      let realRoot: string
      try {
        realRoot = realpathSync.native(root)
      } catch (e) {
        return err({
          code: TFTP_ERROR.notDefined,
          message: `TFTP root ${root} is unusable: ${errorMessage(e)}`,
        })
      }
      let real: string
      try {
        real = realpathSync.native(path.join(realRoot, rel.value))
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        if (code === 'EACCES') return accessViolation(`'${requested}' is not readable under ${root}`)
        return notFound(`'${requested}' not found under ${root}`)
      }
      if (real !== realRoot && !real.startsWith(realRoot + path.sep)) {
        return accessViolation(`'${requested}' resolves outside ${root}`)
      }
      if (cache) {
        // A cached file of the same version, checked without following a link swapped in since realpath:
        // no open, no stat through the thread pool. Anything else goes the full way below.
        const st = lstatSync(real, { bigint: true, throwIfNoEntry: false })
        const hit = st?.isFile() ? cache.peek(real, st) : null
        if (hit) return ok(bufferFile(hit))
      }
      let handle: fsp.FileHandle
      try {
        handle = await fsp.open(real, constants.O_RDONLY | constants.O_NOFOLLOW)
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        if (code === 'ENOENT') return notFound(`'${requested}' not found under ${root}`)
        return accessViolation(`'${requested}' cannot be opened under ${root}: ${code ?? errorMessage(e)}`)
      }
      const stat = await handle.stat({ bigint: true }).catch(() => null)
      if (!stat?.isFile()) {
        await handle.close()
        return accessViolation(`'${requested}' is not a regular file under ${root}`)
      }
      if (cache) {
        let whole: Buffer | null
        try {
          whole = await cache.contents(real, handle, stat)
        } catch (e) {
          await handle.close()
          return err({
            code: TFTP_ERROR.notDefined,
            message: `'${requested}' cannot be read: ${errorMessage(e)}`,
          })
        }
        if (whole) {
          await handle.close()
          return ok(bufferFile(whole)) // blocks become views of the cached bytes: no reads, no copies
        }
      }
      const size = Number(stat.size)
      let closed = false
      return ok({
        size,
        fd: handle.fd,
        async read(offset, length) {
          const buf = Buffer.allocUnsafe(length)
          const { bytesRead } = await handle.read(buf, 0, length, offset)
          return buf.subarray(0, bytesRead)
        },
        async close() {
          if (closed) return
          closed = true
          await handle.close()
        },
      })
    },
  }
}

/**
 * Several providers as one, first match wins (an overlay over a base root). Only "not found" falls through:
 * an access violation from an earlier layer is final, so a later layer cannot widen what is reachable.
 */
export function compositeProvider(layers: FileProvider[]): FileProvider {
  return {
    async open(requested, client) {
      const misses: string[] = []
      for (const layer of layers) {
        const r = await layer.open(requested, client)
        if (r.ok || r.error.code !== TFTP_ERROR.fileNotFound) return r
        misses.push(r.error.message)
      }
      return notFound(misses.length > 0 ? misses.join('; ') : `'${requested}' not found (no file roots)`)
    },
  }
}

/** Files generated in memory, by normalised name; handy for per-client files and tests. */
export function memoryProvider(
  lookup: (name: string, client: TftpPeer) => Buffer | undefined | Promise<Buffer | undefined>,
): FileProvider {
  return {
    async open(requested, client) {
      const rel = normaliseTftpPath(requested)
      if (!rel.ok) return rel
      const data = await lookup(rel.value, client)
      return data ? ok(bufferFile(data)) : notFound(`'${requested}' not found (generated files)`)
    },
  }
}
