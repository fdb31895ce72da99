/**
 * Worker-thread entry: runs TFTP sessions (session.ts, unchanged) off the main thread, so transfers use a
 * second core. Each session binds its own ephemeral socket here; its file stays on the main thread (the
 * provider may generate it per client) and is read in chunks over messages (one per 64 KiB, not per block).
 *
 * Bundled as its own entry (build/build-node.mjs, electron.vite.config.ts) as `tftp-session-worker.js`;
 * under tsx and vitest session-pool.ts loads this file through tsx's require hook.
 */
import dgram from 'node:dgram'
import { isIPv6 } from 'node:net'
import { parentPort } from 'node:worker_threads'
import { errorMessage } from '../../util/result'
import type { TftpFile } from './files'
import { startTftpSession, type TftpSession } from './session'
import type { FromSessionWorker, ToSessionWorker } from './session-protocol'

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

  const remoteFile = (id: number, size: number): TftpFile => ({
    size,
    read: (offset, length) =>
      new Promise((resolve, reject) => {
        const req = nextRead++
        reads.set(req, { resolve, reject })
        post({ t: 'read', id, req, offset, length })
      }),
    close: async () => {}, // the main thread owns the file and closes it on the outcome
  })

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
      file: remoteFile(m.id, m.size),
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

if (parentPort) main(parentPort)
