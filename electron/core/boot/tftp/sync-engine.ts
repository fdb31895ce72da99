/**
 * The session worker's own event loop: epoll over the transfers' sockets, through koffi, in a loop that never
 * returns to Node's. Each ACK costs one epoll_wait, one recvfrom and one sendto/sendmmsg plus the session's
 * arithmetic (sync-session.ts), as in a C server; bench:tftp measured lock-step at 2.5x less wall time than
 * the dgram sessions, which paid a libuv turn, a Buffer, an rinfo, a timer refresh and promises per ACK.
 *
 * The thread sleeps in epoll_wait until the nearest session deadline (at most a second), except that a thread
 * with a single transfer first waits up to SPIN_MS on the CPU for its client's next datagram.
 * Messages from the main thread are pulled with receiveMessageOnPort when the pool's eventfd (`wakeFd`, owned
 * and closed by the main thread, after this thread has exited) says one was posted. Events, outcomes, reads
 * and counters go back with postMessage, which needs no turn of this thread's loop.
 *
 * Linux, 64-bit, IPv4 octet transfers; the pool sends anything else to the in-process sessions.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads'
import {
  AF_INET,
  EAGAIN,
  EINTR,
  libc,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  writeSockaddrIn,
  type Libc,
} from '../../net/libc'
import { loadSendLib, MmsgStaging, type SendLib } from '../../net/udp-fast-send'
import { ipToInt } from '../../util/ipv4'
import { errorMessage } from '../../util/result'
import { negotiate } from './options'
import type { FromSessionWorker, ToSessionWorker } from './session-protocol'
import { ChunkedFile, wholeSyncFile, type SyncFile } from './sync-file'
import { SyncSession, type SyncSessionIo } from './sync-session'

const SOCK_DGRAM = 2
const EPOLLIN = 1
const EPOLL_CTL_ADD = 1
const EPOLL_CTL_DEL = 2
const MSG_DONTWAIT = 0x40
/** struct epoll_event is packed on x86-64 (u32 events, u64 data = 12 bytes), naturally aligned elsewhere. */
const EVENT_SIZE = process.arch === 'x64' ? 12 : 16
const EVENT_DATA = process.arch === 'x64' ? 4 : 8
const MAX_EVENTS = 64
/** How long the only transfer of a thread waits for its client's next datagram on the CPU (ms). */
const SPIN_MS = 0.05
/** Session deadlines are looked over at most this often (ms). */
const SCAN_MS = 2
/** The tag of the wake eventfd in epoll's data (session sockets carry their fd). */
const WAKE_TAG = -1
/** Large files come from the main thread in chunks of this size, one ahead of the one being sent. */
const CHUNK = 256 * 1024
/** Staging for one flush: a window of 44 blocks at blksize 1468. */
const BATCH_BYTES = 64 * 1024

interface Sys {
  c: Libc
  send: SendLib
}

/** The syscalls this loop needs, or null where they cannot be loaded (then the worker keeps dgram sessions). */
export function loadSyncSys(): Sys | null {
  if (process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'arm64')) return null
  try {
    const send = loadSendLib()
    return send ? { c: libc(), send } : null
  } catch {
    return null
  }
}

/**
 * A disk file read here with pread(2), a chunk at a time: no round trip to the main thread, which owns the
 * descriptor and closes it only after this session has ended. A read from the page cache takes microseconds;
 * a cold one blocks this thread's other sessions for a disk read, as in C servers.
 */
class DescriptorFile implements SyncFile {
  failure: string | null = null
  private readonly chunk: Buffer = Buffer.allocUnsafe(CHUNK)
  private chunkAt = -1
  private chunkLength = 0
  private scratch: Buffer | null = null

  constructor(
    readonly size: number,
    private readonly fd: number,
    private readonly c: Libc,
  ) {}

  bytes(offset: number, length: number): Buffer | null {
    if (this.failure !== null) return null
    if (offset < this.chunkAt || offset + length > this.chunkAt + this.chunkLength) {
      const at = offset - (offset % 4096) // page aligned, with the block inside the chunk when it fits
      const want = Math.min(CHUNK, this.size - at)
      if (!this.readAt(this.chunk, want, at)) return null
      this.chunkAt = at
      this.chunkLength = want
      if (offset + length > at + want) {
        // A block larger than what the chunk holds after its offset: read it on its own.
        if (!this.scratch || this.scratch.length < length) this.scratch = Buffer.allocUnsafe(length)
        return this.readAt(this.scratch, length, offset) ? this.scratch.subarray(0, length) : null
      }
    }
    const from = offset - this.chunkAt
    return this.chunk.subarray(from, from + length)
  }

  release(): void {}

  private readAt(into: Buffer, length: number, offset: number): boolean {
    let got = 0
    while (got < length) {
      const n = this.c.pread(this.fd, got === 0 ? into : into.subarray(got), length - got, offset + got)
      if (n < 0) {
        if (this.c.errno() === EINTR) continue
        this.failure = this.c.strerror(this.c.errno())
        return false
      }
      if (n === 0) {
        this.failure = `the file shrank: nothing to read at byte ${offset + got} of ${this.size}`
        return false
      }
      got += n
    }
    return true
  }
}

interface Entry {
  id: number
  fd: number
  session: SyncSession
  /** The client's address (host order) and port: datagrams from anywhere else are a stranger's. */
  peerAddress: number
  peerPort: number
  /** One datagram from the session's socket to any address (ERROR 5 to a stranger). */
  sendTo(packet: Buffer, address: number, port: number): void
}

/**
 * Runs until the main thread says 'stop' and every session has ended; then returns (the thread exits).
 * `wakeFd` is the pool's eventfd for this thread.
 */
export function runSyncEngine(port: MessagePort, sys: Sys, wakeFd: number): void {
  const { c } = sys
  const post = (m: FromSessionWorker, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer)
  const logger = {
    debug: () => {},
    info: (msg: string) => post({ t: 'log', level: 'info', msg }),
    warn: (msg: string) => post({ t: 'log', level: 'warn', msg }),
    error: (msg: string) => post({ t: 'log', level: 'error', msg }),
  }
  const ep = c.epoll_create1(SOCK_CLOEXEC)
  if (ep < 0) throw new Error(`epoll_create1 failed: ${c.strerror(c.errno())}`)
  const event = Buffer.alloc(EVENT_SIZE)
  const watch = (fd: number, tag: number): boolean => {
    event.writeUInt32LE(EPOLLIN, 0)
    event.writeBigInt64LE(BigInt(tag), EVENT_DATA) // read back as the low 32 bits (fds and -1 fit)
    return c.epoll_ctl(ep, EPOLL_CTL_ADD, fd, event) === 0
  }
  watch(wakeFd, WAKE_TAG)

  const byFd = new Map<number, Entry>()
  const byId = new Map<number, Entry>()
  /** Read requests to the main thread: request number -> the file and offset. */
  const reads = new Map<number, { file: ChunkedFile; offset: number; wake(): void }>()
  let nextRead = 0
  let stopping: string | null = null
  /**
   * Read once per wake-up (a clock read per ACK cost as much as the session's own work); monotonic, so a
   * wall-clock step (NTP at boot) cannot hold or fire every deadline.
   */
  let clock = performance.now()
  /**
   * Aborts that overtook their start: the pool posts a small file's start only once it has read it, so an
   * abort or stop can come first.
   */
  const earlyAborts = new Map<number, string>()

  const events = Buffer.alloc(EVENT_SIZE * MAX_EVENTS)
  const rbuf = Buffer.allocUnsafe(65536)
  const from = Buffer.alloc(16)
  const fromLen = Buffer.alloc(4)
  const counter = Buffer.alloc(8)
  const address = Buffer.alloc(16)

  const openSocket = (host: string): number | string => {
    const hostAddress = ipToInt(host)
    if (hostAddress === null) return `'${host}' is not an IPv4 address`
    const fd = c.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)
    if (fd < 0) return `socket(): ${c.strerror(c.errno())}`
    if (c.bind(fd, writeSockaddrIn(address, hostAddress, 0), 16) !== 0) {
      const e = c.strerror(c.errno())
      c.close(fd)
      return `bind ${host}:0: ${e}`
    }
    return fd
  }

  const start = (m: Extract<ToSessionWorker, { t: 'start' }>): void => {
    const early = earlyAborts.get(m.id)
    earlyAborts.delete(m.id)
    if (stopping !== null) return post({ t: 'unbound', id: m.id, error: stopping })
    const peerAddress = ipToInt(m.peer.address)
    if (peerAddress === null)
      return post({ t: 'unbound', id: m.id, error: `'${m.peer.address}' is not an IPv4 address` })
    const fd = openSocket(m.host)
    if (typeof fd === 'string') return post({ t: 'unbound', id: m.id, error: fd })
    let session: SyncSession | null = null
    let file: SyncFile
    if (m.bytes) file = wholeSyncFile(m.bytes)
    else if (m.fd !== undefined) file = new DescriptorFile(m.size, m.fd, c)
    else {
      const remote = new ChunkedFile(m.size, CHUNK, (offset, length) => {
        const req = nextRead++
        reads.set(req, { file: remote, offset, wake: () => session?.onBytes() })
        post({ t: 'read', id: m.id, req, offset, length })
      })
      file = remote
    }
    // Negotiated here too (the session does the same), so the staging fits the blocks exactly: packed
    // full-size datagrams are what lets a window leave as one GSO send.
    const negotiated = negotiate(m.options, file.size, m.limits) // the bytes at hand: tsize matches what is sent
    const datagram = Math.max(negotiated.blksize + 4, 512)
    const staging = new MmsgStaging(
      fd,
      sys.send,
      Math.max(1, Math.min(negotiated.windowsize, Math.floor(BATCH_BYTES / datagram))),
      datagram,
      negotiated.blksize + 4,
    )
    staging.setPeer(peerAddress, m.peer.port)
    const sendTo = (packet: Buffer, to: number, toPort: number): void =>
      void c.sendto(fd, packet, packet.length, 0, writeSockaddrIn(address, to, toPort), 16)
    let closed = false
    const io: SyncSessionIo = {
      capacity: staging.capacity,
      stage: (head, body) => void staging.push(head, body),
      flush: () => {
        const count = staging.pending()
        const sent = staging.send()
        staging.clear()
        return sent === count
      },
      send: (packet) => sendTo(packet, peerAddress, m.peer.port),
      close: () => {
        if (closed) return
        closed = true
        c.epoll_ctl(ep, EPOLL_CTL_DEL, fd, null)
        c.close(fd)
      },
    }
    session = new SyncSession({
      peer: m.peer,
      filename: m.filename,
      options: m.options,
      negotiated,
      file,
      limits: m.limits,
      io,
      logger,
      now: () => clock,
      onEvent: (e) => post({ t: 'event', id: m.id, event: e }),
      onMalformed: () => post({ t: 'malformed' }),
      onStranger: () => post({ t: 'stranger' }),
      onEnd: (outcome) => {
        byFd.delete(fd)
        byId.delete(m.id)
        post({ t: 'outcome', id: m.id, outcome })
      },
    })
    if (session.done) return
    const entry: Entry = { id: m.id, fd, session, peerAddress, peerPort: m.peer.port, sendTo }
    byFd.set(fd, entry)
    byId.set(m.id, entry)
    watch(fd, fd)
    if (early !== undefined) entry.session.abort(early)
  }

  const onMessage = (m: ToSessionWorker): void => {
    switch (m.t) {
      case 'start':
        return start(m)
      case 'data': {
        const r = reads.get(m.req)
        reads.delete(m.req)
        if (!r) return
        const bytes = m.bytes ? Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength) : null
        r.file.deliver(r.offset, bytes, m.error ?? null)
        r.wake()
        return
      }
      case 'abort': {
        const e = byId.get(m.id)
        if (e) e.session.abort(m.reason)
        else earlyAborts.set(m.id, m.reason)
        return
      }
      case 'stop':
        stopping = m.reason
        for (const e of [...byId.values()]) e.session.abort(m.reason)
        return
    }
  }

  const drainMessages = (): void => {
    c.read(wakeFd, counter, 8) // resets the eventfd; messages posted after this wake it again
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port))
      onMessage(m.message as ToSessionWorker)
  }

  /** Takes one datagram from the entry's socket and hands it to its session; false when there was none. */
  const receive = (entry: Entry): boolean => {
    fromLen.writeUInt32LE(16, 0)
    const got = c.recvfrom(entry.fd, rbuf, rbuf.length, MSG_DONTWAIT, from, fromLen)
    if (got < 0) {
      const e = c.errno()
      if (e !== EAGAIN && e !== EINTR) entry.session.abort(`receive failed: ${c.strerror(e)}`)
      return false
    }
    if (from.readUInt16LE(0) !== AF_INET) return true
    const fromAddress = from.readUInt32BE(4)
    const fromPort = from.readUInt16BE(2)
    if (fromAddress === entry.peerAddress && fromPort === entry.peerPort)
      entry.session.onDatagram(rbuf, got, true)
    else entry.session.onDatagram(rbuf, got, false, (p) => entry.sendTo(p, fromAddress, fromPort))
    return true
  }
  const deadlines = (): void => {
    for (const e of [...byId.values()]) if (e.session.nextDeadline() <= clock) e.session.onDeadline(clock)
  }
  /** The earliest session deadline as of the last scan, and when to scan again. */
  let next = Infinity
  let nextScan = 0
  /** The entry whose datagram the last wake-up brought, while it is the thread's only one (see the spin). */
  let active: Entry | null = null

  try {
    post({ t: 'ready', sync: true })
    for (;;) {
      if (stopping !== null && byId.size === 0) break
      // The earliest deadline, looked for at most every SCAN_MS: with 32 lock-step transfers on a thread,
      // walking them all before every wait cost a tenth of the time per block. A deadline fires up to
      // SCAN_MS late (the shortest is the 20 ms window probe).
      if (clock >= nextScan) {
        next = Infinity
        for (const e of byId.values()) {
          const d = e.session.nextDeadline()
          if (d < next) next = d
        }
        nextScan = clock + SCAN_MS
        if (next < nextScan) next = nextScan
      }
      // One transfer on this thread, its client answering: wait for its next datagram briefly on the CPU
      // before sleeping in epoll_wait. A lock-step round trip is ~30 µs on a fast link, about what a sleep
      // and wake-up cost; with more transfers the wake-ups batch and the CPU is better left to others.
      if (byId.size === 1 && active !== null && byId.has(active.id)) {
        const until = performance.now() + SPIN_MS
        let got = false
        do got = receive(active)
        while (!got && performance.now() < until)
        if (got) {
          clock = performance.now()
          if (next <= clock) {
            deadlines()
            nextScan = clock
          }
          continue
        }
      }
      const timeout =
        byId.size === 0 ? 1000 : Math.max(0, Math.min(1000, Math.ceil(Math.min(next, nextScan) - clock)))
      const n = c.epoll_wait(ep, events, MAX_EVENTS, timeout)
      clock = performance.now()
      if (n < 0 && c.errno() !== EINTR) throw new Error(`epoll_wait failed: ${c.strerror(c.errno())}`)
      active = null
      for (let i = 0; i < n; i++) {
        const tag = events.readInt32LE(i * EVENT_SIZE + EVENT_DATA)
        if (tag === WAKE_TAG) {
          drainMessages()
          continue
        }
        const entry = byFd.get(tag)
        // One datagram per readiness: epoll is level-triggered, so a second one wakes the next wait at once.
        if (entry && receive(entry)) active = entry
      }
      if (next <= clock) {
        deadlines()
        nextScan = clock // find the next one on the next turn
      }
    }
  } catch (e) {
    // A failed loop must not leave sessions hanging: end them, report, and let the thread exit.
    const reason = `session thread loop failed: ${errorMessage(e)}`
    for (const entry of [...byId.values()]) entry.session.abort(reason)
    post({ t: 'log', level: 'error', msg: reason })
  } finally {
    c.close(ep)
    post({ t: 'stopped' })
    port.close()
  }
}
