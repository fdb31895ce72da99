/**
 * Zero-copy file bodies: hands (socket, file, range) to worker threads that call sendfile(2) through koffi,
 * the syscall nginx uses. Node's http copies every byte twice in userland (read into a Buffer, write from
 * it) on the one main thread; bench:http measured that path at 0.26–0.45× nginx. Linux only; where koffi or
 * libc cannot be loaded, startSendfilePool returns null and send-file.ts streams as before.
 *
 * Descriptor safety: the main thread dup()s both descriptors synchronously and the worker owns and closes
 * the dups, so the http server destroying the socket (client gone, server closing) never leaves the worker
 * writing into a reused fd number. A socket that closes on the main side cancels its job, which closes the
 * dup and so really ends the connection.
 */
import { createRequire } from 'node:module'
import type { Socket } from 'node:net'
import { Worker } from 'node:worker_threads'
import { type Libc, libc } from '../../net/libc'
import { SENDFILE_WORKER_SOURCE } from './sendfile-worker'

export interface SendfileResult {
  bytes: number
  /** null when every byte was sent; otherwise why not (client gone, cancelled, file truncated). */
  error: string | null
}

export interface SendfileJob {
  socket: Socket
  fileFd: number
  start: number
  count: number
  onProgress(bytes: number): void
}

export interface SendfilePool {
  /** Whether send() would take a body for this socket now; false also starts the threads if need be. */
  accepts(socket: Socket): boolean
  /** Sends the range; resolves when done or failed. Returns null (nothing started) when the socket has no fd. */
  send(job: SendfileJob): Promise<SendfileResult> | null
  /**
   * Starts the threads now and resolves true once one is ready (false: not within timeoutMs, or unusable
   * here). Without it they start on the first large body, which then streams while they load: in a boot
   * that is a node's kernel, sent the slow way while a thread's start competes with it for the CPU.
   */
  warm(timeoutMs: number): Promise<boolean>
  /** Bodies handed to the threads so far. */
  started(): number
  /** Ends every job (their sockets should be destroyed by the caller) and stops the threads. */
  close(): Promise<void>
}

export interface SendfilePoolOptions {
  /** Worker threads; jobs go to the least busy. Default 1 (sendfile's cost is in the kernel). */
  workers?: number
  progressIntervalMs: number
  /** A job whose socket takes no bytes for this long ends (the http idle timeout cannot see the worker). */
  idleTimeoutMs: number
}

type Out =
  | { t: 'ready' }
  | { t: 'progress'; id: number; bytes: number }
  | { t: 'done'; id: number; bytes: number; error: string | null }
  | { t: 'stopped' }

interface Pending {
  thread: Thread
  resolve(r: SendfileResult): void
  onProgress(bytes: number): void
  socket: Socket
  onClose(): void
}

interface Thread {
  worker: Worker
  /** Until the thread has loaded libc, bodies are streamed as without a pool. */
  ready: boolean
  jobs: number
  stopped: Promise<void>
}

const F_DUPFD_CLOEXEC = 1030

/** The fd under a net.Socket (libuv's TCP handle exposes it on Unix); undefined when there is none. */
function socketFd(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd
  return typeof fd === 'number' && fd >= 0 ? fd : undefined
}

export function startSendfilePool(o: SendfilePoolOptions): SendfilePool | null {
  if (process.platform !== 'linux') return null
  let koffiPath: string
  let c: Libc
  try {
    koffiPath = createRequire(import.meta.url).resolve('koffi')
    c = libc()
  } catch {
    return null
  }
  // CLOEXEC: a child spawned mid-transfer (QEMU in the lab) must not inherit and hold the connection open.
  const dupfd = (fd: number) => c.fcntl(fd, F_DUPFD_CLOEXEC, 'int', 0)
  const count = Math.max(1, o.workers ?? 1)
  const threads: Thread[] = []
  const pending = new Map<number, Pending>()
  let nextId = 1
  let closing: Promise<void> | null = null
  let broken = false
  /** warm() callers waiting for a thread to be ready (or to fail). */
  const waiters = new Set<() => void>()
  const wake = () => {
    for (const w of [...waiters]) w()
  }

  const settle = (id: number, r: SendfileResult) => {
    const p = pending.get(id)
    if (!p) return
    pending.delete(id)
    p.socket.off('close', p.onClose)
    p.resolve(r)
  }

  const spawn = (): Thread => {
    const worker = new Worker(SENDFILE_WORKER_SOURCE, { eval: true, workerData: { koffi: koffiPath } })
    worker.unref() // an idle pool never keeps the process alive; close() ends it properly
    let markStopped: () => void = () => undefined
    const thread: Thread = {
      worker,
      ready: false,
      jobs: 0,
      stopped: new Promise((r) => (markStopped = r)),
    }
    worker.on('message', (m: Out) => {
      if (m.t === 'ready') {
        thread.ready = true
        wake()
      } else if (m.t === 'progress') pending.get(m.id)?.onProgress(m.bytes)
      else if (m.t === 'done') {
        thread.jobs--
        settle(m.id, { bytes: m.bytes, error: m.error })
      } else markStopped()
    })
    const fail = (why: string) => {
      markStopped()
      // A thread that never got ready (koffi not loadable there) is not started again: streaming it is.
      if (!thread.ready) broken = true
      const i = threads.indexOf(thread)
      if (i >= 0) threads.splice(i, 1)
      // A dead thread's jobs never report: fail them so their sockets get destroyed. (Their dups stay open
      // until the process ends; this only happens if the thread itself crashed.)
      for (const [id, p] of pending) if (p.thread === thread) settle(id, { bytes: 0, error: why })
      wake()
    }
    worker.on('error', (e) => fail(`sendfile worker failed: ${e.message}`))
    worker.on('exit', () => fail('sendfile worker exited'))
    threads.push(thread)
    return thread
  }

  /** The least busy ready thread; null while none is (closing, not started yet, or unusable here). */
  const pick = (): Thread | null => {
    if (closing || broken) return null
    // Threads start on the first large body; until one is ready, bodies stream as without a pool.
    while (threads.length < count) spawn()
    let best: Thread | null = null
    for (const t of threads) if (t.ready && (!best || t.jobs < best.jobs)) best = t
    return best
  }

  return {
    warm(timeoutMs) {
      return new Promise<boolean>((resolve) => {
        const check = () => {
          if (pick() === null && !closing && !broken && threads.length > 0) return
          clearTimeout(timer)
          waiters.delete(check)
          resolve(pick() !== null)
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          resolve(false)
        }, timeoutMs)
        timer.unref()
        waiters.add(check)
        check()
      })
    },
    started: () => nextId - 1,
    accepts: (socket) => socketFd(socket) !== undefined && pick() !== null,
    send(job) {
      const thread = pick()
      if (!thread) return null
      const sockFd = socketFd(job.socket)
      if (sockFd === undefined) return null
      const sock = dupfd(sockFd)
      if (sock < 0) return null
      const file = dupfd(job.fileFd)
      if (file < 0) {
        c.close(sock)
        return null
      }
      const id = nextId++
      thread.jobs++
      return new Promise<SendfileResult>((resolve) => {
        const onClose = () => thread.worker.postMessage({ t: 'cancel', id })
        pending.set(id, { thread, resolve, onProgress: job.onProgress, socket: job.socket, onClose })
        job.socket.once('close', onClose)
        thread.worker.postMessage({
          t: 'job',
          id,
          sock,
          file,
          start: job.start,
          count: job.count,
          progressMs: o.progressIntervalMs,
          idleMs: o.idleTimeoutMs,
        })
      })
    },
    close() {
      closing ??= (async () => {
        wake()
        await Promise.all(
          threads.map(async (t) => {
            t.worker.postMessage({ t: 'stop' })
            await Promise.race([t.stopped, new Promise((r) => setTimeout(r, 2_000))])
            await t.worker.terminate()
          }),
        )
        for (const id of [...pending.keys()]) settle(id, { bytes: 0, error: 'server closing' })
      })()
      return closing
    },
  }
}
