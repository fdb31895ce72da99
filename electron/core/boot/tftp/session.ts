/**
 * One read transfer on its own socket (its own TID, RFC 1350 §4). Lock-step (RFC 1350) or windowed
 * (RFC 7440), after RFC 2347 option negotiation.
 *
 * Sending rules, and why:
 * - A duplicate or old ACK never triggers a resend by itself. Resending per duplicate is the Sorcerer's
 *   Apprentice bug (RFC 1123 §4.2.3.1), which doubles traffic for the rest of the transfer. In lock-step only
 *   the timer resends. With a window, a duplicate of the current ACK is also how a client says "the first
 *   block of your new window never came" (EDK2 repeats its last ACK for every out-of-order block), so it arms
 *   a short probe: if no progress follows within about two round trips, the window is resent, once per
 *   window. A duplicated ACK on a healthy link is followed by progress, which cancels the probe.
 * - An ACK inside the window that was sent means the client lost the next block: the new window starts right
 *   after it (RFC 7440 §4).
 * - Packets from any other address or port get ERROR 5 and change nothing (RFC 1350 §4).
 */
import type dgram from 'node:dgram'
import type { Logger } from '../../util/logger'
import { silentLogger } from '../../util/logger'
import { errorMessage } from '../../util/result'
import { openUdpBatch, type UdpBatch } from '../../net/udp-fast-send'
import { BlockSource, netasciiSource, octetSource } from './blocks'
import type { TftpFile, TftpPeer } from './files'
import { negotiate, type Negotiated } from './options'
import { decodeTftp, encodeTftp, TFTP_ERROR, TFTP_OPCODE, type TftpOptions } from './packet'

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

const PROGRESS_BYTES = 1 << 20
const PROGRESS_MS = 250
/** Staging bytes per session for batched sends: a whole window at 1468 (44 blocks), fewer at larger blksize. */
const BATCH_BYTES = 64 * 1024

export function startTftpSession(o: TftpSessionOptions): TftpSession {
  return new Session(o)
}

class Session implements TftpSession {
  readonly negotiated: Negotiated
  readonly outcome: Promise<TftpOutcome>
  private resolveOutcome!: (o: TftpOutcome) => void
  private readonly blocks: BlockSource
  private readonly total: number | null
  private readonly timeoutMs: number
  private readonly client: string
  private readonly logger: Logger
  private readonly now: () => number
  private readonly blksize: number
  private readonly windowsize: number

  private waitingForOackAck: boolean
  /** Highest block the client acknowledged (absolute, not wrapped at 65536). */
  private acked = 0
  private highestSent = 0
  private nextToSend = 1
  private bytesAcked = 0
  private retriesLeft: number
  private timer: NodeJS.Timeout | null = null
  private pumping = false
  private ended = false
  private lastProgress = { at: 0, bytes: 0 }
  /** Sent blocks not yet acknowledged: length (exact byte count) and send time (round-trip estimate). */
  private readonly sent = new Map<number, { length: number; at: number }>()
  /** Smoothed round trip, block sent -> its ACK (RFC 6298 weights), ms. */
  private srtt: number | null = null
  /** Pending resend after a duplicate ACK in windowed mode; at most one per acknowledged window. */
  private probe: NodeJS.Timeout | null = null
  private probeUsed = false
  /** DATA and OACK leave through here: one sendmmsg per window where the platform allows (net/udp-fast-send.ts). */
  private readonly batch: UdpBatch
  /** DATA header, rewritten per block (the batch copies it). */
  private readonly header = Buffer.alloc(4)

  constructor(private readonly o: TftpSessionOptions) {
    this.outcome = new Promise((resolve) => (this.resolveOutcome = resolve))
    this.logger = o.logger ?? silentLogger
    this.now = o.now ?? Date.now
    this.client = `${o.peer.address}:${o.peer.port}`
    this.total = o.mode === 'octet' ? o.file.size : null
    this.negotiated = negotiate(o.options, this.total, o.limits)
    this.blksize = this.negotiated.blksize
    this.windowsize = this.negotiated.windowsize
    // The shorter of ours and the client's RFC 2349 timeout: an early retransmission costs one duplicate
    // packet, while waiting out a client's 255 s would hold a transfer slot for 20 minutes.
    this.timeoutMs = Math.min(this.negotiated.timeoutMs ?? Infinity, o.limits.timeoutMs)
    this.retriesLeft = o.limits.retries
    const bytes = o.mode === 'octet' ? octetSource(o.file) : netasciiSource(o.file)
    this.blocks = new BlockSource(bytes, this.blksize, Math.max(this.windowsize, 8))
    this.waitingForOackAck = Object.keys(this.negotiated.oack).length > 0
    this.header.writeUInt16BE(TFTP_OPCODE.data, 0)
    this.batch = openUdpBatch(o.socket, {
      capacity: Math.min(this.windowsize, Math.max(1, Math.floor(BATCH_BYTES / (this.blksize + 4)))),
      // An OACK goes through the batch too; its options are bounded far below this.
      maxDatagram: Math.max(this.blksize + 4, 512),
    })

    o.socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo))
    o.socket.on('error', (e) => this.finish('failed', `socket error: ${e.message}`))
    this.lastProgress.at = this.now()
    this.emit('start')
    if (this.waitingForOackAck) this.sendOack()
    else void this.pump()
    this.armTimer()
  }

  abort(reason: string): Promise<TftpOutcome> {
    this.finish('aborted', reason)
    return this.outcome
  }

  private emit(kind: TftpEvent['kind'], error?: string): void {
    this.o.onEvent?.({
      kind,
      client: this.client,
      file: this.o.filename,
      bytes: this.bytesAcked,
      total: this.total,
      blksize: this.blksize,
      windowsize: this.windowsize,
      ...(error === undefined ? {} : { error }),
    })
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.ended) return
    const decoded = decodeTftp(msg)
    if (rinfo.address !== this.o.peer.address || rinfo.port !== this.o.peer.port) {
      this.o.onStranger?.()
      // Never answer an ERROR with an ERROR: two confused peers would ping-pong forever.
      if (!decoded.ok || decoded.value.op !== 'error') {
        this.send(
          encodeTftp({ op: 'error', code: TFTP_ERROR.unknownTid, message: 'Unknown transfer ID' }),
          rinfo,
        )
      }
      return
    }
    if (!decoded.ok) {
      this.o.onMalformed?.()
      return
    }
    const p = decoded.value
    if (p.op === 'ack') this.onAck(p.block)
    else if (p.op === 'error') {
      // ERROR 8 right after our OACK is how EDK2 (OVMF) reads tsize before asking again: not a failure.
      const quiet = p.code === TFTP_ERROR.optionNegotiation && this.waitingForOackAck
      if (!quiet)
        this.logger.warn(
          `TFTP ${this.client} '${this.o.filename}': client sent ERROR ${p.code} '${p.message}'`,
        )
      this.finish('aborted', `client sent ERROR ${p.code}: ${p.message}`)
    }
    // Anything else from the client (DATA, a repeated RRQ) has no meaning in a read transfer: ignore.
  }

  private onAck(wire: number): void {
    if (this.waitingForOackAck) {
      if (wire !== 0) return
      this.waitingForOackAck = false
      this.progressMade()
      void this.pump()
      return
    }
    // Map the 16-bit number onto the absolute block just above what is acknowledged (rollover past 65535).
    const delta = (wire - (this.acked & 0xffff) + 0x10000) & 0xffff
    const k = this.acked + delta
    if (delta === 0) return this.onDuplicateAck()
    if (k > this.highestSent) return // old, or a block not sent yet: the timer handles loss
    const sentAt = this.sent.get(k)?.at
    if (sentAt !== undefined) {
      const sample = this.now() - sentAt
      this.srtt = this.srtt === null ? sample : 0.875 * this.srtt + 0.125 * sample
    }
    for (let b = this.acked + 1; b <= k; b++) this.bytesAcked += this.sentLength(b)
    this.acked = k
    this.blocks.release(k)
    const final = this.blocks.final
    if (final !== null && k >= final) {
      this.finish('done')
      return
    }
    this.progressMade()
    // A partial window ACK means block k+1 was lost: resume from there (RFC 7440 §4).
    this.nextToSend = k + 1
    this.maybeProgressEvent()
    void this.pump()
  }

  private sentLength(block: number): number {
    const n = this.sent.get(block)?.length ?? 0
    this.sent.delete(block)
    return n
  }

  private onDuplicateAck(): void {
    if (this.windowsize === 1 || this.highestSent <= this.acked || this.probe || this.probeUsed) return
    const delay = Math.min(this.timeoutMs / 2, Math.max(20, 2 * (this.srtt ?? 0) + 5))
    this.probe = setTimeout(() => {
      this.probe = null
      if (this.ended) return
      this.probeUsed = true
      this.nextToSend = this.acked + 1
      void this.pump()
    }, delay)
  }

  private maybeProgressEvent(): void {
    const t = this.now()
    if (
      this.bytesAcked - this.lastProgress.bytes >= PROGRESS_BYTES ||
      t - this.lastProgress.at >= PROGRESS_MS
    ) {
      this.lastProgress = { at: t, bytes: this.bytesAcked }
      this.emit('progress')
    }
  }

  private progressMade(): void {
    if (this.probe) clearTimeout(this.probe)
    this.probe = null
    this.probeUsed = false
    this.retriesLeft = this.o.limits.retries
    this.armTimer()
  }

  /** Called on every ACK: refreshing the one timer is much cheaper than clearing and creating one. */
  private armTimer(): void {
    if (this.timer) this.timer.refresh()
    else this.timer = setTimeout(() => this.onTimeout(), this.timeoutMs)
  }

  private onTimeout(): void {
    this.timer = null
    if (this.ended) return
    if (this.retriesLeft <= 0) {
      const what = this.waitingForOackAck ? 'OACK' : `block ${this.acked + 1}`
      const reason = `no ACK for ${what} after ${this.o.limits.retries} retransmissions of ${this.timeoutMs} ms`
      this.sendThenFinish(
        encodeTftp({ op: 'error', code: TFTP_ERROR.notDefined, message: reason }),
        'failed',
        reason,
      )
      return
    }
    this.retriesLeft--
    this.armTimer()
    if (this.waitingForOackAck) this.sendOack()
    else {
      this.nextToSend = this.acked + 1
      void this.pump()
    }
  }

  private sendOack(): void {
    if (this.ended) return
    this.batch.push(encodeTftp({ op: 'oack', options: this.negotiated.oack }))
    this.batch.flush(this.o.peer)
  }

  /**
   * Sends blocks from nextToSend up to the window edge. Only one loop runs; ACKs and timeouts move
   * nextToSend and the running loop follows, so a block read that was overtaken is not sent.
   */
  private async pump(): Promise<void> {
    if (this.pumping) return
    this.pumping = true
    try {
      while (!this.ended && !this.waitingForOackAck) {
        const n = this.nextToSend
        if (n > this.acked + this.windowsize) break
        const final = this.blocks.final
        if (final !== null && n > final) break
        let data: Buffer | null | undefined = this.blocks.ready(n)
        if (data === undefined) {
          // Blocks already staged go out before waiting for the disk.
          this.batch.flush(this.o.peer)
          data = await this.blocks.get(n)
          if (this.ended) return
        }
        if (data === null) break
        if (this.nextToSend !== n) continue
        this.sent.set(n, { length: data.length, at: this.now() })
        this.header.writeUInt16BE(n & 0xffff, 2)
        if (!this.batch.push(this.header, data)) {
          this.batch.flush(this.o.peer)
          this.batch.push(this.header, data)
        }
        if (n > this.highestSent) this.highestSent = n
        this.nextToSend = n + 1
      }
      // A lost block is the retransmit timer's job: no per-send completion is awaited.
      if (!this.ended) this.batch.flush(this.o.peer)
    } catch (e) {
      const reason = `cannot read '${this.o.filename}': ${errorMessage(e)}`
      this.sendThenFinish(
        encodeTftp({ op: 'error', code: TFTP_ERROR.notDefined, message: reason }),
        'failed',
        reason,
      )
    } finally {
      this.pumping = false
    }
  }

  private send(packet: Buffer, to: { address: string; port: number }): void {
    if (this.ended) return
    this.o.socket.send(packet, to.port, to.address) // no callback: the synchronous path, as in pump()
  }

  /** dgram sends complete asynchronously; closing first would drop the ERROR. */
  private sendThenFinish(packet: Buffer, kind: TftpOutcome['kind'], reason: string): void {
    if (this.ended) return
    let done = false
    const close = () => {
      if (done) return
      done = true
      this.finish(kind, reason)
    }
    this.o.socket.send(packet, this.o.peer.port, this.o.peer.address, close)
    setTimeout(close, 100).unref()
  }

  private finish(kind: TftpOutcome['kind'], error?: string): void {
    if (this.ended) return
    this.ended = true
    if (this.timer) clearTimeout(this.timer)
    if (this.probe) clearTimeout(this.probe)
    this.timer = null
    this.probe = null
    this.sent.clear()
    if (kind === 'done')
      this.logger.info(`TFTP ${this.client} '${this.o.filename}': sent ${this.bytesAcked} bytes`)
    else if (kind === 'failed') this.logger.warn(`TFTP ${this.client} '${this.o.filename}': ${error}`)
    this.emit(kind, error)
    const outcome: TftpOutcome = { kind, bytes: this.bytesAcked, ...(error === undefined ? {} : { error }) }
    const closeSocket = new Promise<void>((resolve) => {
      try {
        this.o.socket.close(() => resolve())
      } catch {
        resolve() // already closed
      }
    })
    const closeFile = this.o.file.close().catch(() => {})
    void Promise.all([closeSocket, closeFile]).then(() => this.resolveOutcome(outcome))
  }
}
