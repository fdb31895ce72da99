/**
 * One read transfer on its own socket (its own TID, RFC 1350 §4), driven by Node's event loop: the protocol
 * is sync-session.ts's (the same code the session threads' epoll loop runs, sync-engine.ts), and this file
 * feeds it the socket's datagrams, a timer for its deadlines and the provider's bytes. It runs on the main
 * thread (tests that inject a socket or a clock; a server with no session threads) and in session threads
 * where the epoll loop is not available (Windows, macOS).
 *
 * octet files are read in 64 KiB chunks just ahead of the client; netascii files are converted whole first
 * (their size is that of the converted bytes; text files, capped at NETASCII_MAX_BYTES).
 */
import type dgram from 'node:dgram'
import type { Logger } from '../../util/logger'
import { silentLogger } from '../../util/logger'
import { errorMessage } from '../../util/result'
import { openUdpBatch } from '../../net/udp-fast-send'
import { toNetascii } from './blocks'
import { readFully, type TftpFile, type TftpPeer } from './files'
import { negotiate, type Negotiated } from './options'
import { encodeTftp, TFTP_ERROR, type TftpOptions } from './packet'
import { ChunkedFile, wholeSyncFile, type SyncFile } from './sync-file'
import { SyncSession } from './sync-session'

export type TftpEvent = {
  kind: 'start' | 'progress' | 'done' | 'failed' | 'aborted'
  /** ip:port of the client */
  client: string
  file: string
  /** bytes the client has acknowledged */
  bytes: number
  /** bytes to send; null when not known up front (netascii) */
  total: number | null
  error?: string
  blksize?: number
  windowsize?: number
}

export interface TftpSessionLimits {
  maxBlksize: number
  maxWindowsize: number
  /** Retransmit after this long without progress (or the client's RFC 2349 timeout, if shorter). */
  timeoutMs: number
  /** Retransmissions in a row before giving up. */
  retries: number
}

export interface TftpSessionOptions {
  /** Bound, not shared: the session owns and closes it. */
  socket: dgram.Socket
  peer: TftpPeer
  filename: string
  mode: 'octet' | 'netascii'
  options: TftpOptions
  /** Opened for this client; the session owns and closes it. */
  file: TftpFile
  limits: TftpSessionLimits
  logger?: Logger
  now?: () => number
  onEvent?: (e: TftpEvent) => void
  /** A datagram from the client that did not decode. */
  onMalformed?: () => void
  /** A datagram from a stranger (another address or port). */
  onStranger?: () => void
}

export type TftpOutcome = { kind: 'done' | 'failed' | 'aborted'; bytes: number; error?: string }

export interface TftpSession {
  readonly negotiated: Negotiated
  /** Settles when the socket and file are closed. Never rejects. */
  readonly outcome: Promise<TftpOutcome>
  /** Ends the transfer now (server shutting down); resolves once closed. */
  abort(reason: string): Promise<TftpOutcome>
}

/** Octet files are read in chunks of this size, one ahead of the one being sent. */
const CHUNK = 64 * 1024
/** Staging bytes per session for batched sends: a whole window at 1468 (44 blocks), fewer at larger blksize. */
const BATCH_BYTES = 64 * 1024
/** netascii is converted in memory before the first block: text files, not images. */
export const NETASCII_MAX_BYTES = 16 * 1024 * 1024

export function startTftpSession(o: TftpSessionOptions): TftpSession {
  return new DgramSession(o)
}

class DgramSession implements TftpSession {
  readonly negotiated: Negotiated
  readonly outcome: Promise<TftpOutcome>
  private resolveOutcome!: (o: TftpOutcome) => void
  private session: SyncSession | null = null
  private readonly logger: Logger
  private readonly now: () => number
  private timer: NodeJS.Timeout | null = null
  private timerAt = Infinity
  /** ERROR datagrams still being sent: the socket closes after them (a close first would drop them). */
  private sending = 0
  private closing: (() => void) | null = null
  private socketClosed: Promise<void> | null = null
  private abortedEarly: string | null = null
  private ended: TftpOutcome | null = null

  constructor(private readonly o: TftpSessionOptions) {
    this.outcome = new Promise((resolve) => (this.resolveOutcome = resolve))
    this.logger = o.logger ?? silentLogger
    this.now = o.now ?? (() => performance.now()) // monotonic: only differences are used
    const total = o.mode === 'octet' ? o.file.size : null
    this.negotiated = negotiate(o.options, total, o.limits)
    o.socket.on('message', (msg, rinfo) => {
      const s = this.session
      if (!s) return // netascii still converting: the client waits for its first block or OACK
      if (rinfo.address === o.peer.address && rinfo.port === o.peer.port) s.onDatagram(msg, msg.length, true)
      else s.onDatagram(msg, msg.length, false, (p) => this.sendAlone(p, rinfo.port, rinfo.address))
      this.schedule()
    })
    o.socket.on('error', (e) => {
      if (this.session) this.session.abort(`socket error: ${e.message}`)
      else this.abortedEarly = `socket error: ${e.message}`
    })
    if (o.mode === 'octet') this.begin(this.chunked(o.file), true)
    else void this.netascii()
  }

  abort(reason: string): Promise<TftpOutcome> {
    if (this.session) this.session.abort(reason)
    else this.abortedEarly ??= reason
    return this.outcome
  }

  /** Octet bytes read from the provider just ahead of the client. */
  private chunked(file: TftpFile): SyncFile {
    const chunked = new ChunkedFile(file.size, CHUNK, (offset, length) => {
      readFully(file, offset, length)
        .then(
          (bytes) => chunked.deliver(offset, bytes, null),
          (e: unknown) => chunked.deliver(offset, null, errorMessage(e)),
        )
        .finally(() => {
          this.session?.onBytes()
          this.schedule()
        })
    })
    return chunked
  }

  private async netascii(): Promise<void> {
    let converted: Buffer
    try {
      if (this.o.file.size > NETASCII_MAX_BYTES / 2)
        throw new Error(
          `${this.o.file.size} bytes is too large for netascii (at most ${NETASCII_MAX_BYTES / 2}); ask for octet`,
        )
      converted = toNetascii(await readFully(this.o.file, 0, this.o.file.size))
    } catch (e) {
      const reason = `cannot read '${this.o.filename}': ${errorMessage(e)}`
      this.logger.warn(`TFTP ${this.o.peer.address}:${this.o.peer.port} '${this.o.filename}': ${reason}`)
      this.sendAlone(encodeTftp({ op: 'error', code: TFTP_ERROR.notDefined, message: reason }))
      this.o.onEvent?.({
        kind: 'failed',
        client: `${this.o.peer.address}:${this.o.peer.port}`,
        file: this.o.filename,
        bytes: 0,
        total: null,
        error: reason,
      })
      this.end({ kind: 'failed', bytes: 0, error: reason })
      return
    }
    this.begin(wholeSyncFile(converted), false)
  }

  private begin(file: SyncFile, announceSize: boolean): void {
    const o = this.o
    const batch = openUdpBatch(o.socket, {
      capacity: Math.min(
        this.negotiated.windowsize,
        Math.max(1, Math.floor(BATCH_BYTES / (this.negotiated.blksize + 4))),
      ),
      // An OACK goes through the batch too; its options are bounded far below this.
      maxDatagram: Math.max(this.negotiated.blksize + 4, 512),
    })
    this.session = new SyncSession({
      peer: o.peer,
      filename: o.filename,
      options: o.options,
      negotiated: this.negotiated,
      announceSize,
      file,
      limits: o.limits,
      logger: this.logger,
      now: this.now,
      io: {
        capacity: batch.capacity,
        stage: (head, body) => void batch.push(head, body),
        // dgram queues what the kernel does not take at once: nothing is refused here.
        flush: () => {
          batch.flush(o.peer)
          return true
        },
        send: (packet) => this.sendAlone(packet),
        close: () => void this.closeSocket(),
      },
      onEvent: (e) => o.onEvent?.(e),
      onMalformed: () => o.onMalformed?.(),
      onStranger: () => o.onStranger?.(),
      onEnd: (outcome) => this.end(outcome),
    })
    if (this.abortedEarly !== null) this.session.abort(this.abortedEarly)
    this.schedule()
  }

  /** One timer, at the session's next deadline; moved only when that comes earlier than the one set. */
  private schedule(): void {
    const s = this.session
    if (!s || s.done) return this.clearTimer()
    const at = s.nextDeadline()
    if (this.timer && this.timerAt <= at) return
    this.clearTimer()
    this.timerAt = at
    this.timer = setTimeout(
      () => {
        this.timer = null
        this.timerAt = Infinity
        s.onDeadline(this.now())
        this.schedule()
      },
      Math.max(0, at - this.now()),
    )
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.timerAt = Infinity
  }

  private sendAlone(packet: Buffer, port = this.o.peer.port, address = this.o.peer.address): void {
    this.sending++
    const done = () => {
      this.sending--
      if (this.sending === 0) this.closing?.()
    }
    try {
      this.o.socket.send(packet, port, address, done)
    } catch {
      done() // the socket is already closed
    }
  }

  /** Closes the socket once the ERRORs being sent have left (at most 100 ms); resolves when it is closed. */
  private closeSocket(): Promise<void> {
    this.socketClosed ??= new Promise<void>((resolve) => {
      let closed = false
      const close = () => {
        if (closed) return
        closed = true
        this.closing = null
        try {
          this.o.socket.close(() => resolve())
        } catch {
          resolve() // already closed
        }
      }
      if (this.sending === 0) return close()
      this.closing = close
      setTimeout(close, 100).unref() // a send that never completes must not hold the socket
    })
    return this.socketClosed
  }

  private end(outcome: TftpOutcome): void {
    if (this.ended) return
    this.ended = outcome
    this.clearTimer()
    const file = this.o.file.close().catch(() => {})
    void Promise.all([this.closeSocket(), file]).then(() => this.resolveOutcome(outcome))
  }
}
