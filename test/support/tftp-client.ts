/**
 * A small packet-level TFTP read client for tests. It behaves like an RFC 1350 / RFC 7440 receiver and lets a
 * test misbehave on purpose: drop DATA it received, drop or repeat ACKs, send late (reordered) ACKs, refuse
 * the OACK like EDK2, and act between blocks (inject a stranger). Everything is bounded in packets and time.
 */
import { createHash } from 'node:crypto'
import dgram from 'node:dgram'
import { decodeTftp, encodeTftp, TFTP_ERROR, type TftpOptions } from '../../electron/core/boot/tftp/packet'

export interface Peer {
  address: string
  port: number
}

export interface TftpGetOptions {
  host?: string
  port: number
  file: string
  mode?: 'octet' | 'netascii'
  options?: TftpOptions
  /** Client retransmission timeout (re-sends its last ACK or the RRQ). Default 500 ms. */
  timeoutMs?: number
  /** Client retransmissions in a row before it gives up. Default 20. */
  retries?: number
  /** Upper bound on the whole get. Default 120 s. */
  overallMs?: number
  /** Pretend this DATA (absolute block; `seen` = 1 the first time it arrives) was lost. */
  dropData?: (block: number, seen: number) => boolean
  /** Do not send this ACK (`attempt` = 1 for the first ACK of that block). Block 0 is the OACK's ACK. */
  dropAck?: (block: number, attempt: number) => boolean
  /** Send every ACK this many extra times. */
  duplicateAcks?: number
  /** After sending ACK n, also send ACK of the returned (older) block, as if a late ACK overtook it. */
  staleAck?: (block: number) => number | null
  /**
   * Acknowledge the last in-order block for every unexpected DATA (EDK2's Mtftp4RrqHandleData does this),
   * instead of once per gap (atftp 0.8).
   */
  ackEveryUnexpected?: boolean
  /** Answer the OACK with ERROR 8 and stop, as EDK2 does after reading tsize. */
  rejectOack?: boolean
  /** Called with each in-order block before it is acknowledged. */
  onData?: (block: number, server: Peer, socket: dgram.Socket) => void | Promise<void>
  /** Keep re-ACKing a repeated final block for this long after the transfer (RFC 1350 dally). Default 0. */
  dallyMs?: number
}

export interface TftpGetResult {
  data: Buffer
  oack: TftpOptions | null
  error: { code: number; message: string } | null
  /** DATA packets that reached the client from the server TID, including duplicates and dropped ones. */
  dataPackets: number
  /** DATA packets for blocks already received. */
  duplicateData: number
  acksSent: number
  /** Packets from a TID other than the server's; each got ERROR 5. */
  strangers: number
  server: Peer | null
  localPort: number
  blocks: number
}

export async function tftpGet(o: TftpGetOptions): Promise<TftpGetResult> {
  const host = o.host ?? '127.0.0.1'
  const timeoutMs = o.timeoutMs ?? 500
  const retries = o.retries ?? 20
  const socket = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()))
  const localPort = socket.address().port

  const chunks: Buffer[] = []
  const result: TftpGetResult = {
    data: Buffer.alloc(0),
    oack: null,
    error: null,
    dataPackets: 0,
    duplicateData: 0,
    acksSent: 0,
    strangers: 0,
    server: null,
    localPort,
    blocks: 0,
  }
  let blksize = 512
  let windowsize = 1
  let expected = 1 // next absolute block wanted
  let sinceAck = 0
  let gapAcked = false
  let reackedFor = 0
  let retriesLeft = retries
  let finished = false
  let dallying = false
  const seen = new Map<number, number>()
  const ackAttempts = new Map<number, number>()
  const rrq = encodeTftp({ op: 'rrq', filename: o.file, mode: o.mode ?? 'octet', options: o.options ?? {} })

  let resolveDone!: () => void
  const done = new Promise<void>((r) => (resolveDone = r))
  let timer: NodeJS.Timeout | null = null
  const overall = setTimeout(
    () => finish({ code: -1, message: `test client: overall limit ${o.overallMs ?? 120_000} ms` }),
    o.overallMs ?? 120_000,
  )

  function finish(error: TftpGetResult['error']) {
    if (finished) return
    finished = true
    if (error) result.error = error
    if (timer) clearTimeout(timer)
    clearTimeout(overall)
    resolveDone()
  }
  // dgram sends complete later; closing before they do would silently drop the final ACK.
  let unsent = 0
  const sendTo = (buf: Buffer, to: Peer) => {
    unsent++
    socket.send(buf, to.port, to.address, () => unsent--)
  }
  function ack(block: number) {
    const attempt = (ackAttempts.get(block) ?? 0) + 1
    ackAttempts.set(block, attempt)
    if (o.dropAck?.(block, attempt)) return
    const pkt = encodeTftp({ op: 'ack', block })
    for (let i = 0; i <= (o.duplicateAcks ?? 0); i++) {
      sendTo(pkt, result.server!)
      result.acksSent++
    }
    const stale = o.staleAck?.(block)
    if (stale !== null && stale !== undefined) {
      sendTo(encodeTftp({ op: 'ack', block: stale }), result.server!)
      result.acksSent++
    }
  }
  function arm() {
    if (timer) clearTimeout(timer)
    timer = setTimeout(onTimeout, timeoutMs)
  }
  function onTimeout() {
    if (finished) return
    if (retriesLeft-- <= 0)
      return finish({ code: -1, message: `test client: no answer after ${retries} retries` })
    if (result.server === null) sendTo(rrq, { address: host, port: o.port })
    else ack(expected - 1)
    arm()
  }

  async function handle(msg: Buffer, rinfo: dgram.RemoteInfo) {
    if (finished && !dallying) return
    const from = { address: rinfo.address, port: rinfo.port }
    if (result.server === null) result.server = from
    else if (from.address !== result.server.address || from.port !== result.server.port) {
      result.strangers++
      sendTo(encodeTftp({ op: 'error', code: TFTP_ERROR.unknownTid, message: 'Unknown transfer ID' }), from)
      return
    }
    const d = decodeTftp(msg)
    if (!d.ok) return
    const p = d.value
    if (p.op === 'error') return finish({ code: p.code, message: p.message })
    if (p.op === 'oack') {
      if (expected !== 1) return
      result.oack = p.options
      if (o.rejectOack) {
        sendTo(encodeTftp({ op: 'error', code: TFTP_ERROR.optionNegotiation, message: 'tsize read' }), from)
        return finish(null)
      }
      if (p.options.blksize) blksize = Number(p.options.blksize)
      if (p.options.windowsize) windowsize = Number(p.options.windowsize)
      retriesLeft = retries
      arm()
      ack(0)
      return
    }
    if (p.op !== 'data') return
    result.dataPackets++
    const delta = (p.block - (expected & 0xffff) + 0x10000) & 0xffff
    if (delta === 0) {
      if (dallying) return
      const n = (seen.get(expected) ?? 0) + 1
      seen.set(expected, n)
      if (o.dropData?.(expected, n)) return
      await o.onData?.(expected, result.server, socket)
      chunks.push(Buffer.from(p.data))
      const last = p.data.length < blksize
      expected++
      sinceAck++
      gapAcked = false
      retriesLeft = retries
      arm()
      if (last || sinceAck >= windowsize) {
        sinceAck = 0
        ack(expected - 1)
      }
      if (last) {
        result.blocks = expected - 1
        if (o.dallyMs) {
          dallying = true
          if (timer) clearTimeout(timer)
          setTimeout(() => {
            dallying = false
            finish(null)
          }, o.dallyMs)
        } else finish(null)
      }
    } else if (delta < 0x8000) {
      // A gap: RFC 7440 §4, acknowledge the last block received in order, once per gap.
      if (!gapAcked || o.ackEveryUnexpected) {
        gapAcked = true
        sinceAck = 0
        ack(expected - 1)
      }
    } else {
      result.duplicateData++
      // The server re-sent what we have: our ACK was lost. Answer once per position, the timer does the rest.
      if (dallying || reackedFor !== expected || o.ackEveryUnexpected) {
        reackedFor = expected
        ack(expected - 1)
      }
    }
  }

  let chain = Promise.resolve()
  socket.on('message', (msg, rinfo) => {
    chain = chain
      .then(() => handle(msg, rinfo))
      .catch((e: unknown) => finish({ code: -1, message: String(e) }))
  })
  sendTo(rrq, { address: host, port: o.port })
  arm()
  await done
  await chain
  await until(() => unsent === 0, 5000, 'client sends to flush')
  await new Promise<void>((r) => socket.close(() => r()))
  result.data = Buffer.concat(chunks)
  return result
}

/** Where to send: a Peer, or a server's `{ host, port }` address. */
export type Target = { port: number; address?: string; host?: string }
const targetAddress = (t: Target) => t.address ?? t.host ?? '127.0.0.1'

/** Sends one datagram from a fresh socket and waits for the first answer (or null after `waitMs`). */
export async function exchange(
  to: Target,
  packet: Buffer,
  waitMs = 1000,
): Promise<{ reply: Buffer; from: Peer } | null> {
  const socket = dgram.createSocket('udp4')
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()))
  try {
    return await new Promise((resolve) => {
      const t = setTimeout(() => resolve(null), waitMs)
      socket.once('message', (reply, rinfo) => {
        clearTimeout(t)
        resolve({ reply, from: { address: rinfo.address, port: rinfo.port } })
      })
      socket.send(packet, to.port, targetAddress(to))
    })
  } finally {
    await new Promise<void>((r) => socket.close(() => r()))
  }
}

/** Deterministic bytes that differ per offset and seed, so a misplaced block changes the checksum. */
export function patternBytes(size: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(size)
  let x = (seed * 2654435761) >>> 0 || 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    b[i] = x & 0xff
  }
  return b
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

/** Polls `check` every 10 ms until it holds; throws after `limitMs` (a bound, not a performance claim). */
export async function until(check: () => boolean, limitMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + limitMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${limitMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** A `bindSocket` for the server that records every socket it hands out, so tests can assert all closed. */
export function trackingBinder(host = '127.0.0.1') {
  const open = new Set<dgram.Socket>()
  let created = 0
  const bind = (port: number) =>
    new Promise<dgram.Socket>((resolve, reject) => {
      const s = dgram.createSocket('udp4')
      s.once('error', reject)
      s.bind(port, host, () => {
        s.off('error', reject)
        created++
        open.add(s)
        s.on('close', () => open.delete(s))
        resolve(s)
      })
    })
  return { bind, open, created: () => created }
}
