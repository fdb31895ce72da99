/**
 * Streams one file from disk as an HTTP response: HEAD, a single byte range, validators and conditional
 * requests (range.ts, validators.ts explain the choices). The file is opened once and everything (size,
 * validators, bytes) comes from that one descriptor, so a file renamed over mid-transfer cannot mix versions.
 * Bytes flow through a read stream piped into the response: backpressure from a slow client pauses the disk
 * reads, nothing is buffered whole, and a client that goes away destroys the stream, which closes the fd.
 */
import { constants, promises as fsp } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { decideRange } from './range'
import { notModified, rangeStillValid, validatorsFor } from './validators'
import { replyText } from './reply'
import type { SendfilePool } from './sendfile-pool'

/** Bodies from this size on go to the sendfile threads when there are any; below it a thread hop costs more than the copy. */
const OFFLOAD_MIN = 256 * 1024

/** Read size: 1 MiB gave +40% at 1 and 8 clients over 64 KiB but 261 MiB peak RSS at 32 (bench:http); 256 KiB is the middle, to be re-measured. */
const READ_CHUNK = 256 * 1024

export interface SendProgress {
  status: number
  bytes: number
  total: number | null
  done: boolean
  aborted: boolean
}

export interface SendFileOptions {
  /** What the client asked for, for one-line error replies (`kernel for 52:54:00:..`); never a server path. */
  describe: string
  contentType?: string
  /** Default `no-cache`: clients may keep a copy but must revalidate (a node's image changes under its MAC). */
  cacheControl?: string
  /** Called at the start, at most every progressIntervalMs while streaming, and once with done = true. */
  onProgress?: (p: SendProgress) => void
  progressIntervalMs?: number
  now?: () => number
  /** sendfile(2) threads for large bodies (sendfile-pool.ts); absent or null: stream through this thread. */
  offload?: SendfilePool | null
}

const TYPES: Record<string, string> = {
  '.ipxe': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.cfg': 'text/plain; charset=utf-8',
  '.json': 'application/json',
  '.html': 'text/html; charset=utf-8',
  '.iso': 'application/x-iso9660-image',
}

export function contentTypeFor(name: string): string {
  return TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream'
}

/** Sends `path` for a GET or HEAD request and resolves when the response is finished or abandoned. */
export async function sendFile(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  o: SendFileOptions,
): Promise<SendProgress> {
  const now = o.now ?? Date.now
  const report = (p: SendProgress) => {
    o.onProgress?.(p)
    return p
  }
  const fail = (status: number, line: string) => {
    replyText(res, status, line)
    return report({ status, bytes: 0, total: null, done: true, aborted: false })
  }

  let handle: fsp.FileHandle
  try {
    // O_NONBLOCK: opening a FIFO someone left in a served directory must not park a libuv thread forever.
    handle = await fsp.open(path, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP')
      return fail(404, `${o.describe}: not found`)
    if (code === 'EACCES' || code === 'EPERM') return fail(403, `${o.describe}: not readable by the server`)
    return fail(500, `${o.describe}: cannot open (${code ?? 'error'})`)
  }

  let streaming = false
  try {
    const st = await handle.stat({ bigint: true })
    if (!st.isFile()) return fail(404, `${o.describe}: not a file`)
    const size = Number(st.size)
    const v = validatorsFor(size, st.mtimeNs)
    res.setHeader('ETag', v.etag)
    res.setHeader('Last-Modified', v.lastModified)
    res.setHeader('Accept-Ranges', 'bytes')
    res.setHeader('Cache-Control', o.cacheControl ?? 'no-cache')

    if (notModified(v, header(req, 'if-none-match'), header(req, 'if-modified-since'))) {
      res.writeHead(304).end()
      return report({ status: 304, bytes: 0, total: 0, done: true, aborted: false })
    }

    // Range is defined for GET only (RFC 9110 §14.2); HEAD describes the whole representation.
    const range =
      req.method === 'GET' && rangeStillValid(v, header(req, 'if-range'))
        ? decideRange(header(req, 'range'), size)
        : ({ kind: 'whole' } as const)
    if (range.kind === 'unsatisfiable') {
      res.writeHead(416, { 'Content-Range': `bytes */${size}`, 'Content-Length': 0 }).end()
      return report({ status: 416, bytes: 0, total: 0, done: true, aborted: false })
    }
    const start = range.kind === 'partial' ? range.start : 0
    const end = range.kind === 'partial' ? range.end : size - 1
    const total = end - start + 1
    const status = range.kind === 'partial' ? 206 : 200
    res.statusCode = status
    res.setHeader('Content-Type', o.contentType ?? contentTypeFor(path))
    res.setHeader('Content-Length', total)
    if (status === 206) res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`)

    if (req.method === 'HEAD' || total === 0) {
      res.end()
      return report({ status, bytes: 0, total, done: true, aborted: false })
    }

    const interval = o.progressIntervalMs ?? 250
    let bytes = 0
    let last = now()
    report({ status, bytes, total, done: false, aborted: false })
    if (o.offload && total >= OFFLOAD_MIN) {
      const sent = await offloaded(o.offload, res, handle.fd, start, total, (b) => {
        if (b < total) report({ status, bytes: b, total, done: false, aborted: false })
      })
      if (sent) return report({ status, bytes: sent.bytes, total, done: true, aborted: sent.error !== null })
    }
    const stream = handle.createReadStream({ start, end, highWaterMark: READ_CHUNK })
    streaming = true // from here the stream owns the handle and closes it (autoClose) on end or destroy
    stream.on('data', (chunk: Buffer | string) => {
      bytes += chunk.length
      const t = now()
      if (t - last >= interval && bytes < total) {
        last = t
        report({ status, bytes, total, done: false, aborted: false })
      }
    })
    try {
      await pipeline(stream, res)
      return report({ status, bytes, total, done: true, aborted: false })
    } catch {
      // The client left or the socket failed: pipeline has destroyed the read stream, closing the fd.
      return report({ status, bytes, total, done: true, aborted: true })
    }
  } finally {
    if (!streaming) await handle.close().catch(() => undefined)
  }
}

/**
 * Headers through the ServerResponse (keep-alive bookkeeping stays Node's), the body by the sendfile pool
 * straight from the descriptor to the socket, then an empty end(). Null when the pool cannot take it (no
 * socket fd) and nothing was written yet, so the caller streams instead.
 */
async function offloaded(
  pool: SendfilePool,
  res: ServerResponse,
  fd: number,
  start: number,
  count: number,
  onProgress: (bytes: number) => void,
): Promise<{ bytes: number; error: string | null } | null> {
  const socket = res.socket
  if (!socket || socket.destroyed) return null
  res.flushHeaders()
  // The header bytes must be in the kernel before another thread writes the body behind them.
  const flushed = await new Promise<boolean>((resolve) => socket.write('', (e) => resolve(!e)))
  if (!flushed || socket.destroyed) return { bytes: 0, error: 'the client went away' }
  // Node's idle timer cannot see the worker's writes; the pool applies the idle limit itself.
  const idle = socket.timeout
  socket.setTimeout(0)
  const job = pool.send({ socket, fileFd: fd, start, count, onProgress })
  if (!job) {
    socket.destroy() // headers are out, the body cannot follow through this path any more
    return { bytes: 0, error: 'no socket descriptor for sendfile' }
  }
  const r = await job
  if (r.error !== null) {
    socket.destroy()
    return r
  }
  if (idle) socket.setTimeout(idle)
  res.end() // not awaited: a client that leaves now must not leave this promise pending forever
  return r
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name]
  return Array.isArray(v) ? v.join(', ') : v
}
