/**
 * One read transfer (its own TID, RFC 1350 §4): lock-step (RFC 1350) or windowed (RFC 7440), after RFC 2347
 * option negotiation. The one implementation of the protocol; its driver hands it each datagram and each
 * expired deadline, and it answers at once through `SyncSessionIo`. Drivers: the session threads' epoll loop
 * (sync-engine.ts), and the dgram driver (session.ts) on Node's loop. No promises and no timers in here, so
 * the epoll loop pays no event-loop turn per ACK: bench:tftp measured that turn (libuv wake-up, a Buffer and
 * an rinfo per datagram, a timer refresh, a promise chain) at ~2/3 of the server's CPU per lock-step block.
 *
 * Sending rules, and why:
 * - A duplicate or old ACK never triggers a resend by itself. Resending per duplicate is the Sorcerer's
 *   Apprentice bug (RFC 1123 §4.2.3.1), which doubles traffic for the rest of the transfer. In lock-step only
 *   the deadline resends. With a window, a duplicate of the current ACK is also how a client says "the first
 *   block of your new window never came" (EDK2 repeats its last ACK for every out-of-order block), so it arms
 *   a short probe: if no progress follows within about two round trips, the window is resent, once per
 *   window. A duplicated ACK on a healthy link is followed by progress, which cancels the probe.
 * - An ACK inside the window that was sent means the client lost the next block: the new window starts right
 *   after it (RFC 7440 §4).
 * - Packets from any other address or port get ERROR 5 (never an ERROR for an ERROR: two confused peers
 *   would ping-pong) and change nothing (RFC 1350 §4).
 * - An OACK answered by ERROR 8 is how EDK2 (OVMF) reads tsize before asking again: ended quietly.
 * - Block numbers roll over past 65535: absolute numbers inside, the low 16 bits on the wire.
 * - netascii: the dgram driver converts the file whole first and passes announceSize false (tsize is not
 *   answered); the epoll loop takes octet only, and the pool sends netascii to the main thread.
 */
import type { Logger } from '../../util/logger'
import { negotiate, type Negotiated } from './options'
import { decodeTftp, encodeTftp, TFTP_ERROR, TFTP_OPCODE, type TftpOptions } from './packet'
import type { TftpEvent, TftpOutcome, TftpSessionLimits } from './session'
import type { SyncFile } from './sync-file'

/** Where the session's datagrams go; the engine writes them to the session's socket. */
export interface SyncSessionIo {
  /** Datagrams one flush can hold. */
  readonly capacity: number
  /** Stages one datagram to the peer (head then body, copied). */
  stage(head: Buffer, body?: Buffer): void
  /** Sends what is staged, in order. False when the kernel refused some (a full send buffer): treat as lost. */
  flush(): boolean
  /** One datagram to the peer on its own (an ERROR before the end). */
  send(packet: Buffer): void
  /** Closes the socket (once, at the end). */
  close(): void
}

export interface SyncSessionOptions {
  peer: { address: string; port: number }
  filename: string
  options: TftpOptions
  /** negotiate(options, file.size, limits), when the caller has it already. */
  negotiated?: Negotiated
  /** False for netascii: the size is that of the converted bytes, so tsize is not answered (default true). */
  announceSize?: boolean
  file: SyncFile
  limits: TftpSessionLimits
  io: SyncSessionIo
  logger: Logger
  now: () => number
  onEvent(e: TftpEvent): void
  onMalformed(): void
  onStranger(): void
  onEnd(o: TftpOutcome): void
}

const PROGRESS_BYTES = 1 << 20
const PROGRESS_MS = 250
/** After the kernel refused a send (full buffer), try again this soon rather than after a whole timeout. */
const SEND_RETRY_MS = 2
const MAX_REFUSED_IN_ROW = 500

export class SyncSession {
  readonly negotiated: Negotiated
  private readonly blksize: number
  private readonly windowsize: number
  private readonly timeoutMs: number
  private readonly client: string
  /** The size tsize and events report: null when not announced (netascii). */
  private readonly total: number | null
  private readonly header = Buffer.alloc(4)
  private waitingForOackAck: boolean
  private acked = 0
  private highestSent = 0
  private nextToSend = 1
  /** The last block's number: a short (possibly empty) block ends the transfer. */
  private readonly final: number
  private retriesLeft: number
  /** Retransmission deadline (ms, the engine's clock). */
  private deadline: number
  /** Duplicate-ACK probe deadline in windowed mode, or null. */
  private probeAt: number | null = null
  private probeUsed = false
  /** Waiting for bytes that have not arrived: pump again when they do. */
  private starved = false
  private ended = false
  private lastProgress: { at: number; bytes: number }
  /** Send time of the blocks in flight (slot n % windowsize), for the probe's round-trip estimate (ms). */
  private readonly sentAt: Float64Array
  private srtt: number | null = null
  /** Sends the kernel refused in a row (full buffer); bounded so a stuck socket still runs out of retries. */
  private refusedInRow = 0

  constructor(private readonly o: SyncSessionOptions) {
    this.client = `${o.peer.address}:${o.peer.port}`
    this.total = o.announceSize === false ? null : o.file.size
    this.negotiated = o.negotiated ?? negotiate(o.options, this.total, o.limits)
    this.blksize = this.negotiated.blksize
    this.windowsize = this.negotiated.windowsize
    this.timeoutMs = Math.min(this.negotiated.timeoutMs ?? Infinity, o.limits.timeoutMs)
    this.retriesLeft = o.limits.retries
    this.final = Math.floor(o.file.size / this.blksize) + 1
    this.sentAt = new Float64Array(this.windowsize)
    this.waitingForOackAck = Object.keys(this.negotiated.oack).length > 0
    this.header.writeUInt16BE(TFTP_OPCODE.data, 0)
    const now = o.now()
    this.deadline = now + this.timeoutMs
    this.lastProgress = { at: now, bytes: 0 }
    this.emit('start')
    if (this.waitingForOackAck) this.sendOack()
    else this.pump()
  }

  get done(): boolean {
    return this.ended
  }

  /** The earliest time the engine must call onDeadline. */
  nextDeadline(): number {
    return this.probeAt !== null && this.probeAt < this.deadline ? this.probeAt : this.deadline
  }

  /**
   * One datagram, the first `length` bytes of `buf`: from the peer, or from a stranger (another address or
   * port), who is answered through `reply`.
   */
  onDatagram(buf: Buffer, length: number, fromPeer: boolean, reply?: (packet: Buffer) => void): void {
    if (this.ended) return
    // The common case without an object: an ACK from the client is exactly 4 bytes.
    if (fromPeer && length === 4 && buf[0] === 0 && buf[1] === TFTP_OPCODE.ack)
      return this.onAck((buf[2]! << 8) | buf[3]!)
    const msg = buf.subarray(0, length)
    if (!fromPeer) {
      this.o.onStranger()
      const decoded = decodeTftp(msg)
      if (!decoded.ok || decoded.value.op !== 'error')
        reply?.(encodeTftp({ op: 'error', code: TFTP_ERROR.unknownTid, message: 'Unknown transfer ID' }))
      return
    }
    const decoded = decodeTftp(msg)
    if (!decoded.ok) return this.o.onMalformed()
    const p = decoded.value
    if (p.op === 'ack') this.onAck(p.block)
    else if (p.op === 'error') {
      const quiet = p.code === TFTP_ERROR.optionNegotiation && this.waitingForOackAck
      if (!quiet)
        this.o.logger.warn(
          `TFTP ${this.client} '${this.o.filename}': client sent ERROR ${p.code} '${p.message}'`,
        )
      this.finish('aborted', `client sent ERROR ${p.code}: ${p.message}`)
    }
  }

  /** Bytes the session was starved of may have arrived (or failed). */
  onBytes(): void {
    if (this.ended || !this.starved) return
    this.starved = false
    this.pump()
  }

  onDeadline(now: number): void {
    if (this.ended) return
    if (this.probeAt !== null && now >= this.probeAt) {
      this.probeAt = null
      this.probeUsed = true
      this.nextToSend = this.acked + 1
      this.pump()
      if (this.ended) return // the resend failed the session (a read error)
    }
    if (now < this.deadline) return
    if (this.retriesLeft <= 0) {
      const what = this.waitingForOackAck ? 'OACK' : `block ${this.acked + 1}`
      const reason = `no ACK for ${what} after ${this.o.limits.retries} retransmissions of ${this.timeoutMs} ms`
      this.fail(reason)
      return
    }
    this.retriesLeft--
    this.deadline = now + this.timeoutMs
    if (this.waitingForOackAck) this.sendOack()
    else {
      this.nextToSend = this.acked + 1
      this.pump()
    }
  }

  abort(reason: string): void {
    this.finish('aborted', reason)
  }

  private onAck(wire: number): void {
    if (this.waitingForOackAck) {
      if (wire !== 0) return
      this.waitingForOackAck = false
      this.progressMade()
      this.pump()
      return
    }
    const delta = (wire - (this.acked & 0xffff) + 0x10000) & 0xffff
    const k = this.acked + delta
    if (delta === 0) return this.onDuplicateAck()
    if (k > this.highestSent) return
    if (this.windowsize > 1) {
      // Only the probe uses the round trip, and only windowed transfers probe.
      const sample = this.o.now() - this.sentAt[k % this.windowsize]!
      this.srtt = this.srtt === null ? sample : 0.875 * this.srtt + 0.125 * sample
    }
    this.acked = k
    if (k >= this.final) return this.finish('done')
    this.o.file.release(k * this.blksize)
    this.progressMade()
    this.nextToSend = k + 1
    this.maybeProgressEvent()
    this.pump()
  }

  private onDuplicateAck(): void {
    if (this.windowsize === 1 || this.highestSent <= this.acked || this.probeAt !== null || this.probeUsed)
      return
    this.probeAt = this.o.now() + Math.min(this.timeoutMs / 2, Math.max(20, 2 * (this.srtt ?? 0) + 5))
  }

  private progressMade(): void {
    this.probeAt = null
    this.probeUsed = false
    this.retriesLeft = this.o.limits.retries
    this.refusedInRow = 0
    this.deadline = this.o.now() + this.timeoutMs
  }

  private bytesAcked(): number {
    return Math.min(this.acked * this.blksize, this.o.file.size)
  }

  private maybeProgressEvent(): void {
    const t = this.o.now()
    const bytes = this.bytesAcked()
    if (bytes - this.lastProgress.bytes >= PROGRESS_BYTES || t - this.lastProgress.at >= PROGRESS_MS) {
      this.lastProgress = { at: t, bytes }
      this.emit('progress')
    }
  }

  private sendOack(): void {
    this.o.io.stage(encodeTftp({ op: 'oack', options: this.negotiated.oack }))
    this.o.io.flush()
  }

  /** Sends from nextToSend to the window's edge, in batches of the io's capacity. */
  private pump(): void {
    if (this.ended || this.waitingForOackAck) return
    const edge = Math.min(this.acked + this.windowsize, this.final)
    let staged = 0
    const now = this.o.now()
    while (this.nextToSend <= edge) {
      const n = this.nextToSend
      const offset = (n - 1) * this.blksize
      const data = this.o.file.bytes(offset, Math.min(this.blksize, this.o.file.size - offset))
      if (data === null) {
        const failure = this.o.file.failure
        if (failure !== null) return this.fail(`cannot read '${this.o.filename}': ${failure}`)
        this.starved = true
        break
      }
      this.header.writeUInt16BE(n & 0xffff, 2)
      this.o.io.stage(this.header, data)
      this.sentAt[n % this.windowsize] = now
      if (n > this.highestSent) this.highestSent = n
      this.nextToSend = n + 1
      if (++staged === this.o.io.capacity) {
        staged = 0
        if (!this.o.io.flush()) return this.sendRefused()
      }
    }
    if (staged > 0 && !this.o.io.flush()) this.sendRefused()
  }

  /** The kernel's send buffer was full: what did not go out counts as lost; try again very soon. */
  private sendRefused(): void {
    this.nextToSend = this.acked + 1
    this.deadline = Math.min(this.deadline, this.o.now() + SEND_RETRY_MS)
    // Not the client's silence: this retry does not count against it, up to about a second of refusals.
    if (++this.refusedInRow <= MAX_REFUSED_IN_ROW) this.retriesLeft++
  }

  private fail(reason: string): void {
    this.o.io.send(encodeTftp({ op: 'error', code: TFTP_ERROR.notDefined, message: reason }))
    this.finish('failed', reason)
  }

  private emit(kind: TftpEvent['kind'], error?: string): void {
    this.o.onEvent({
      kind,
      client: this.client,
      file: this.o.filename,
      bytes: this.bytesAcked(),
      total: this.total,
      blksize: this.blksize,
      windowsize: this.windowsize,
      ...(error === undefined ? {} : { error }),
    })
  }

  private finish(kind: TftpOutcome['kind'], error?: string): void {
    if (this.ended) return
    this.ended = true
    if (kind === 'done')
      this.o.logger.info(`TFTP ${this.client} '${this.o.filename}': sent ${this.bytesAcked()} bytes`)
    else if (kind === 'failed') this.o.logger.warn(`TFTP ${this.client} '${this.o.filename}': ${error}`)
    this.emit(kind, error)
    this.o.io.close()
    this.o.onEnd({ kind, bytes: this.bytesAcked(), ...(error === undefined ? {} : { error }) })
  }
}
