/**
 * Worker-thread entry: runs TFTP sessions off the main thread, so transfers use a second core. Where the pool
 * passes an eventfd and the syscalls load (Linux, 64-bit, koffi), the thread runs the epoll loop of
 * sync-engine.ts and never returns to Node's loop; elsewhere it runs the dgram sessions of session.ts (below).
 * Each session binds its own ephemeral socket here; a file that is not sent whole stays on the main thread
 * (the provider may generate it per client) and is read over messages in 256 KiB chunks, not per block.
 *
 * Bundled as its own entry (build/build-node.mjs, electron.vite.config.ts) as `tftp-session-worker.js`;
 * under tsx and vitest session-pool.ts loads this file through tsx's require hook.
 */
import dgram from 'node:dgram'
import { isIPv6 } from 'node:net'
import { parentPort, workerData } from 'node:worker_threads'
import { errorMessage } from '../../util/result'
import type { TftpFile } from './files'
import { startTftpSession, type TftpSession } from './session'
import type { FromSessionWorker, ToSessionWorker } from './session-protocol'
import { loadSyncSys, runSyncEngine } from './sync-engine'

const REMOTE_CHUNK = 256 * 1024

function main(port: NonNullable<typeof parentPort>): void {
  const post = (m: FromSessionWorker, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer)
  const sessions = new Map<number, TftpSession>()
  /** Reads waiting for the main thread, by request number. */
  const reads = new Map<number, { resolve(b: Buffer): void; reject(e: Error): void }>()
  let nextRead = 0
  /** Start messages whose socket is still binding, so an abort that overtakes them is not lost. */
  const aborted = new Map<number, string>()
  /** Set by 'stop': a socket that finishes binding afterwards is closed at once, so the thread can exit. */
  let stopping = false

  const ask = (id: number, offset: number, length: number): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const req = nextRead++
      reads.set(req, { resolve, reject })
      post({ t: 'read', id, req, offset, length })
    })

  /**
   * A large file read from the main thread in 256 KiB chunks, the next one asked for while the current one is
   * being sent: a message round trip per 64 KiB block-source read stalled windows on a busy machine.
   */
  const remoteFile = (id: number, size: number): TftpFile => {
    type Chunk = { offset: number; data: Promise<Buffer> }
    const fetch = (offset: number): Chunk => {
      const data = ask(id, offset, Math.min(REMOTE_CHUNK, size - offset))
      data.catch(() => {}) // a read-ahead nobody waits for must not become an unhandled rejection
      return { offset, data }
    }
    let current: Chunk | null = null
    let next: Chunk | null = null
    return {
      size,
      async read(offset, length) {
        if (offset >= size) return Buffer.alloc(0)
        if (!current || offset < current.offset || offset >= current.offset + REMOTE_CHUNK) {
          current = next?.offset === Math.floor(offset / REMOTE_CHUNK) * REMOTE_CHUNK ? next : null
          current ??= fetch(Math.floor(offset / REMOTE_CHUNK) * REMOTE_CHUNK)
          next = null
        }
        const chunk = current
        const following = chunk.offset + REMOTE_CHUNK
        if (!next && following < size) next = fetch(following)
        const data = await chunk.data
        // Short at the chunk's end: the block source reads on for the rest.
        return data.subarray(offset - chunk.offset, Math.min(offset - chunk.offset + length, data.length))
      },
      close: async () => {}, // the main thread owns the file and closes it on the outcome
    }
  }

  const wholeFile = (bytes: Uint8Array): TftpFile => {
    const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    return {
      size: data.length,
      read: async (offset, length) => data.subarray(Math.min(offset, data.length), offset + length),
      close: async () => {},
    }
  }

  const bind = (host: string): Promise<dgram.Socket> =>
    new Promise((resolve, reject) => {
      const family = isIPv6(host) ? 6 : 4
      const socket = dgram.createSocket({
        type: family === 6 ? 'udp6' : 'udp4',
        lookup: (address, _options, callback) => callback(null, address, family),
      })
      socket.once('error', reject)
      socket.bind(0, host, () => {
        socket.off('error', reject)
        resolve(socket)
      })
    })

  async function start(m: Extract<ToSessionWorker, { t: 'start' }>): Promise<void> {
    let socket: dgram.Socket
    try {
      socket = await bind(m.host)
    } catch (e) {
      post({ t: 'unbound', id: m.id, error: errorMessage(e) })
      return
    }
    if (stopping) {
      socket.close()
      return // the pool settles what it never heard back from
    }
    const session = startTftpSession({
      socket,
      peer: m.peer,
      filename: m.filename,
      mode: m.mode,
      options: m.options,
      file: m.bytes ? wholeFile(m.bytes) : remoteFile(m.id, m.size),
      limits: m.limits,
      logger: {
        info: (msg) => post({ t: 'log', level: 'info', msg }),
        warn: (msg) => post({ t: 'log', level: 'warn', msg }),
        error: (msg) => post({ t: 'log', level: 'error', msg }),
      },
      onEvent: (event) => post({ t: 'event', id: m.id, event }),
      onMalformed: () => post({ t: 'malformed' }),
      onStranger: () => post({ t: 'stranger' }),
    })
    sessions.set(m.id, session)
    const reason = aborted.get(m.id)
    if (reason !== undefined) void session.abort(reason)
    const outcome = await session.outcome
    sessions.delete(m.id)
    aborted.delete(m.id)
    post({ t: 'outcome', id: m.id, outcome })
  }

  port.on('message', (m: ToSessionWorker) => {
    switch (m.t) {
      case 'start':
        void start(m)
        break
      case 'data': {
        const r = reads.get(m.req)
        reads.delete(m.req)
        if (!r) break
        if (m.error !== undefined) r.reject(new Error(m.error))
        else r.resolve(Buffer.from(m.bytes!.buffer, m.bytes!.byteOffset, m.bytes!.byteLength))
        break
      }
      case 'abort': {
        const s = sessions.get(m.id)
        if (s) void s.abort(m.reason)
        else aborted.set(m.id, m.reason)
        break
      }
      case 'stop':
        stopping = true
        // Every session ends (each closes its socket), then the thread exits on its own: nothing is left open.
        void Promise.all([...sessions.values()].map((s) => s.abort(m.reason))).then(() => {
          for (const r of reads.values()) r.reject(new Error(m.reason))
          reads.clear()
          post({ t: 'stopped' })
          port.close()
        })
        break
    }
  })
  post({ t: 'ready' })
}

if (parentPort) {
  // The pool passes an eventfd when it can wake a blocked thread; then the sessions run in the epoll loop,
  // else (no koffi, not Linux) on this thread's Node loop with dgram sockets.
  const wakeFd = (workerData as { wakeFd?: unknown } | null)?.wakeFd
  const sys = typeof wakeFd === 'number' ? loadSyncSys() : null
  if (sys && typeof wakeFd === 'number') runSyncEngine(parentPort, sys, wakeFd)
  else main(parentPort)
}
