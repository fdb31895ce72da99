/**
 * Worker threads that run TFTP sessions, so transfers are not bound to the one main thread (bench:tftp: one
 * JS thread stopped scaling at one core while atftpd and tftpd-hpa used both). The main thread keeps the
 * request port, RRQ decoding, root confinement and the file provider; a worker gets the request and the
 * opened file's bytes: whole (a copy, or the file cache's shared memory), by descriptor (a disk file the thread
 * preads), or in chunks over messages. Events, outcomes and counters come back as messages, so the server's
 * callers see exactly what an in-process session reports.
 *
 * Loading: bundles carry `tftp-session-worker.js` next to the main bundle (or one directory up, for a
 * chunk); from TypeScript sources (tsx, vitest) the worker requires session-worker.ts through tsx's
 * require hook. Where neither is found, startSessionPool returns null and the server runs sessions in-process.
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { isIPv4 } from 'node:net'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { Logger } from '../../util/logger'
import { errorMessage } from '../../util/result'
import { readFully, type TftpFile } from './files'
import type { TftpEvent, TftpOutcome, TftpSessionOptions } from './session'
import type { FromSessionWorker, ToSessionWorker } from './session-protocol'
import { loadSyncSys } from './sync-engine'

/** Plain JS, evaluated by the thread: imports the bundled entry, or the TS source through tsx. */
const BOOT = String.raw`
const { workerData } = require('node:worker_threads')
if (workerData.tsx) {
  require(workerData.tsx).register()
  require(workerData.entry)
} else {
  import(workerData.entry).catch((e) => setImmediate(() => { throw e }))
}
`

/** What a session needs, as in-process (session.ts), with the host to bind instead of a bound socket. */
export type PooledSessionRequest = Pick<
  TftpSessionOptions,
  'peer' | 'filename' | 'mode' | 'options' | 'file' | 'limits' | 'onEvent'
> & { host: string }

export interface PooledSession {
  /** Settles once the worker's socket is closed (the caller closes the file). Never rejects. */
  outcome: Promise<TftpOutcome | { kind: 'unbound'; error: string }>
  abort(reason: string): void
}

export interface SessionPool {
  readonly threads: number
  /** Whether the threads take this transfer; the server runs the others in-process. */
  handles(mode: 'octet' | 'netascii', host: string): boolean
  run(req: PooledSessionRequest): PooledSession
  /** Aborts every session and ends every thread. */
  close(reason: string): Promise<void>
}

export interface SessionPoolOptions {
  threads: number
  /** Let threads run their epoll loop where it loads (default); false keeps them on dgram sessions. */
  epoll?: boolean
  logger: Logger
  onMalformed(): void
  onStranger(): void
}

interface Thread {
  worker: Worker
  sessions: number
  exited: Promise<void>
  /** The eventfd that wakes the thread's epoll loop (sync-engine.ts), written after each message; owned here. */
  wakeFd: number | null
  /** Exited: no session is sent there any more. */
  gone: boolean
}

interface Running {
  thread: Thread
  file: TftpFile
  onEvent?: (e: TftpEvent) => void
  settle(o: TftpOutcome | { kind: 'unbound'; error: string }): void
}

/**
 * Files up to this size are copied to the thread whole; larger ones go by descriptor (disk files, to an epoll
 * thread) or are read in chunks on request. Cached files go whole at any size: they are shared, not copied.
 */
const WHOLE_FILE_BYTES = 4 * 1024 * 1024

/**
 * `length` bytes at `offset` (fewer only at the end of the file) in a buffer of their own, to hand over with
 * postMessage: a cached file's bytes are a view of a larger buffer, and a small Buffer can sit in Node's
 * shared pool, so neither may be transferred itself.
 */
async function transferable(
  file: TftpFile,
  offset: number,
  length: number,
): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await readFully(file, offset, length))
}

const EFD_NONBLOCK = 0o4000
const EFD_CLOEXEC = 0o2000000

/** An eventfd per thread when this process can run the epoll loop, else null (the threads use dgram). */
function wakeChannel(epoll: boolean): {
  open(): number | null
  wake(fd: number): void
  close(fd: number): void
} {
  const sys = epoll ? loadSyncSys() : null
  const one = Buffer.alloc(8)
  one.writeBigUInt64LE(1n)
  return {
    open: () => {
      const fd = sys ? sys.c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) : -1
      return fd >= 0 ? fd : null
    },
    wake: (fd) => void sys?.c.write(fd, one, 8),
    close: (fd) => void sys?.c.close(fd),
  }
}

function workerEntry(): { entry: string; tsx?: string } | null {
  const here = fileURLToPath(import.meta.url)
  const dir = path.dirname(here)
  if (here.endsWith('.ts')) {
    try {
      const tsx = createRequire(import.meta.url).resolve('tsx/cjs/api')
      return { entry: path.join(dir, 'session-worker.ts'), tsx }
    } catch {
      return null
    }
  }
  for (const candidate of [
    path.join(dir, 'tftp-session-worker.js'),
    path.join(dir, '..', 'tftp-session-worker.js'),
  ])
    if (existsSync(candidate)) return { entry: pathToFileURL(candidate).href }
  return null
}

/**
 * Starts `threads` workers and waits until each has loaded (so the first request is not held up by a thread
 * still compiling); null when the entry is missing or a thread fails to load: the server then stays
 * in-process.
 */
export async function startSessionPool(o: SessionPoolOptions): Promise<SessionPool | null> {
  const entry = workerEntry()
  if (!entry || o.threads < 1) {
    if (!entry) o.logger.warn('TFTP: the session worker entry (tftp-session-worker.js) was not found')
    return null
  }
  const running = new Map<number, Running>()
  let nextId = 0
  let closed = false
  const wakes = wakeChannel(o.epoll !== false)
  /** Whether the threads run the epoll loop (they said so when ready), which takes IPv4 octet only. */
  let sync = false
  const post = (thread: Thread, m: ToSessionWorker, transfer?: ArrayBuffer[]): void => {
    thread.worker.postMessage(m, transfer)
    if (thread.wakeFd !== null) wakes.wake(thread.wakeFd)
  }

  const onMessage = (thread: Thread, m: FromSessionWorker): void => {
    switch (m.t) {
      case 'read': {
        const r = running.get(m.id)
        if (!r) return
        const answer = (reply: ToSessionWorker, transfer?: ArrayBuffer[]) => post(thread, reply, transfer)
        transferable(r.file, m.offset, m.length).then(
          (bytes) => answer({ t: 'data', req: m.req, bytes }, [bytes.buffer]),
          (e: unknown) => answer({ t: 'data', req: m.req, error: errorMessage(e) }),
        )
        return
      }
      case 'event':
        running.get(m.id)?.onEvent?.(m.event)
        return
      case 'outcome':
      case 'unbound': {
        const r = running.get(m.id)
        if (!r) return
        running.delete(m.id)
        r.thread.sessions--
        r.settle(m.t === 'outcome' ? m.outcome : { kind: 'unbound', error: m.error })
        return
      }
      case 'malformed':
        return o.onMalformed()
      case 'stranger':
        return o.onStranger()
      case 'log':
        return o.logger[m.level](m.msg)
      default:
        return
    }
  }

  const failSessions = (thread: Thread, error: string): void => {
    for (const [id, r] of running)
      if (r.thread === thread) {
        running.delete(id)
        r.settle({ kind: 'failed', bytes: 0, error })
      }
  }

  const threads: Thread[] = []
  const loaded: Promise<string | null>[] = []
  for (let i = 0; i < o.threads; i++) {
    const wakeFd = wakes.open()
    const worker = new Worker(BOOT, { eval: true, workerData: { ...entry, wakeFd } })
    const thread: Thread = {
      worker,
      sessions: 0,
      exited: new Promise((resolve) =>
        worker.once('exit', () => {
          // Forgotten before it is closed, so no later post() writes to a descriptor number now reused.
          const fd = thread.wakeFd
          thread.wakeFd = null
          if (fd !== null) wakes.close(fd)
          thread.gone = true
          // A thread that ended on its own (its loop failed): its sessions end with it, and none start there.
          // On close() the sessions were aborted, and close() settles what is left as aborted.
          if (!closed) failSessions(thread, 'the session thread ended')
          resolve()
        }),
      ),
      wakeFd,
      gone: false,
    }
    loaded.push(
      new Promise((resolve) => {
        const onReady = (m: FromSessionWorker) => {
          if (m.t !== 'ready') return
          if (m.sync) sync = true
          worker.off('message', onReady)
          resolve(null)
        }
        worker.on('message', onReady)
        worker.once('error', (e) => resolve(e.message))
        worker.once('exit', (code) => resolve(`exited with code ${code} before it was ready`))
      }),
    )
    worker.on('message', (m: FromSessionWorker) => onMessage(thread, m))
    worker.on('error', (e) => {
      o.logger.error(`TFTP session thread ${i} failed: ${e.message}`)
      // Its sessions are gone with it: fail them so their slots and files are released.
      failSessions(thread, `session thread failed: ${e.message}`)
    })
    threads.push(thread)
  }
  const failures = (await Promise.all(loaded)).filter((e) => e !== null)
  if (failures.length > 0) {
    o.logger.warn(`TFTP: a session thread did not start (${failures[0]})`)
    await Promise.all(threads.map((t) => t.worker.terminate()))
    return null
  }

  return {
    threads: threads.length,
    // With every thread gone (each loop failed), the server serves in-process rather than refusing.
    handles: (mode, host) => threads.some((t) => !t.gone) && (!sync || (mode === 'octet' && isIPv4(host))),
    run(req) {
      const id = nextId++
      const alive = threads.filter((t) => !t.gone)
      if (alive.length === 0)
        return {
          outcome: Promise.resolve({ kind: 'unbound', error: 'no TFTP session thread is running' }),
          abort: () => {},
        }
      const thread = alive.reduce((a, b) => (b.sessions < a.sessions ? b : a))
      thread.sessions++
      let settle!: Running['settle']
      const outcome = new Promise<TftpOutcome | { kind: 'unbound'; error: string }>((r) => (settle = r))
      running.set(id, { thread, file: req.file, settle, ...(req.onEvent ? { onEvent: req.onEvent } : {}) })
      const start: ToSessionWorker = {
        t: 'start',
        id,
        host: req.host,
        peer: req.peer,
        filename: req.filename,
        mode: req.mode,
        options: req.options,
        size: req.file.size,
        limits: req.limits,
      }
      if (req.file.shared)
        post(thread, { ...start, bytes: req.file.shared }) // shared memory: no copy
      else if (req.file.size > WHOLE_FILE_BYTES)
        post(thread, sync && req.file.fd !== undefined ? { ...start, fd: req.file.fd } : start)
      else
        // Small files (ipxe.efi, generated scripts) go over whole, copied once and handed to the thread.
        void transferable(req.file, 0, req.file.size).then(
          (bytes) => post(thread, { ...start, bytes }, [bytes.buffer]),
          (e: unknown) => {
            // The session reads again and reports the failure the usual way (ERROR to the client, failed).
            o.logger.warn(`TFTP '${req.filename}': reading it whole failed (${errorMessage(e)})`)
            post(thread, start)
          },
        )
      return {
        outcome,
        abort: (reason) => {
          if (running.has(id)) post(thread, { t: 'abort', id, reason })
        },
      }
    },
    async close(reason) {
      if (closed) return
      closed = true
      for (const t of threads) post(t, { t: 'stop', reason })
      // Each thread ends its sessions and exits by itself; a thread that does not within 5 s is terminated.
      await Promise.all(
        threads.map(async (t) => {
          const timer = setTimeout(() => void t.worker.terminate(), 5000)
          await t.exited
          clearTimeout(timer)
        }),
      )
      for (const r of running.values()) r.settle({ kind: 'aborted', bytes: 0, error: reason })
      running.clear()
    },
  }
}
