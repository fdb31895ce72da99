/**
 * A firmware-like TFTP read (RFC 1350 lock-step with RFC 2347/2348/2349 options, RFC 7440 windows when the
 * firmware asks for them and the server's OACK grants them): one ephemeral socket per
 * attempt, bound to the node's own address; the file is hashed as it arrives, never kept. A lost packet is
 * covered by the server's retransmission and the client re-ACKing its last block when the server is silent
 * (the RFC 1350 rule; no Sorcerer's Apprentice: a duplicate DATA is re-ACKed once, never answered twice).
 */
import { createHash } from 'node:crypto'
import { createSocket, type Socket } from 'node:dgram'
import { decodeTftp, encodeTftp, TFTP_ERROR, type TftpOptions } from '../boot/tftp/packet'

export interface TftpFetch {
  bytes: number
  sha256: string
  /** RRQs sent (the EDK2 tsize probe counts as one). */
  attempts: number
}

export interface TftpFetchOptions {
  server: string
  port: number
  localAddress: string
  file: string
  blksize: number
  /** RFC 7440 windowsize to ask for (EDK2: 4); absent = lock-step. The OACK decides: no answer = 1. */
  windowsize?: number
  /** EDK2: ask with tsize, refuse the OACK with ERROR 8, then ask again. */
  tsizeProbe: boolean
  /** Silence before the client re-ACKs (and, before the first answer, re-sends the RRQ). */
  timeoutMs: number
  /** Silent timeouts in a row before an attempt is abandoned. */
  retries: number
  /** Whole-file attempts before giving up. */
  attempts: number
  signal: AbortSignal
}

export type TftpOutcome = { ok: true; value: TftpFetch } | { ok: false; error: string }

export async function tftpFetch(o: TftpFetchOptions): Promise<TftpOutcome> {
  let last = 'no attempt'
  let attempts = 0
  if (o.tsizeProbe) {
    attempts++
    const probe = await attempt(o, { tsize: '0', blksize: String(o.blksize), ...windowOption(o) }, true)
    if (!probe.ok) last = probe.error
  }
  for (let i = 0; i < o.attempts && !o.signal.aborted; i++) {
    attempts++
    const r = await attempt(
      o,
      { blksize: String(o.blksize), ...(o.tsizeProbe ? { tsize: '0' } : {}), ...windowOption(o) },
      false,
    )
    if (r.ok) return { ok: true, value: { ...r.value, attempts } }
    last = r.error
  }
  return { ok: false, error: `TFTP ${o.file} from ${o.server}: ${last} (after ${attempts} RRQs)` }
}

const windowOption = (o: TftpFetchOptions): TftpOptions =>
  o.windowsize && o.windowsize > 1 ? { windowsize: String(o.windowsize) } : {}

type AttemptResult = { ok: true; value: { bytes: number; sha256: string } } | { ok: false; error: string }

function attempt(o: TftpFetchOptions, options: TftpOptions, abortAfterOack: boolean): Promise<AttemptResult> {
  return new Promise((resolve) => {
    const socket: Socket = createSocket('udp4')
    const hash = createHash('sha256')
    let bytes = 0
    let blksize = 512
    /** Blocks per ACK (RFC 7440 §4: the receiver ACKs the last block of each window, or the final one). */
    let window = 1
    let expected = 1
    let server: { address: string; port: number } | null = null
    let lastSent: Buffer = encodeTftp({ op: 'rrq', filename: o.file, mode: 'octet', options })
    let silent = 0
    let timer: NodeJS.Timeout | null = null
    let finished = false
    /** Sends not yet handed to the kernel: closing before they are would drop the final ACK (or ERROR 8). */
    let inflight = 0
    const tx = (b: Buffer, port: number, address: string) => {
      inflight++
      socket.send(b, port, address, () => {
        if (--inflight === 0 && finished) socket.close()
      })
    }
    const finish = (r: AttemptResult) => {
      if (finished) return
      finished = true
      if (timer) clearTimeout(timer)
      o.signal.removeEventListener('abort', onAbort)
      if (inflight === 0) socket.close()
      resolve(r)
    }
    const onAbort = () => finish({ ok: false, error: 'aborted' })
    o.signal.addEventListener('abort', onAbort)
    const send = (b: Buffer) => {
      lastSent = b
      tx(b, server?.port ?? o.port, server?.address ?? o.server)
    }
    const arm = () => {
      if (timer) clearTimeout(timer)
      timer = setTimeout(() => {
        if (++silent > o.retries) return finish({ ok: false, error: `no answer after ${silent - 1} retries` })
        send(lastSent)
        arm()
      }, o.timeoutMs)
    }
    socket.on('error', (e) => finish({ ok: false, error: e.message }))
    socket.on('message', (buf, rinfo) => {
      if (server && (rinfo.port !== server.port || rinfo.address !== server.address)) {
        tx(
          encodeTftp({ op: 'error', code: TFTP_ERROR.unknownTid, message: 'unknown TID' }),
          rinfo.port,
          rinfo.address,
        )
        return
      }
      const r = decodeTftp(buf)
      if (!r.ok) return
      const p = r.value
      server ??= { address: rinfo.address, port: rinfo.port }
      if (p.op === 'error') return finish({ ok: false, error: `server error ${p.code}: ${p.message}` })
      if (p.op === 'oack') {
        if (expected !== 1) return
        silent = 0
        if (abortAfterOack) {
          tx(
            encodeTftp({ op: 'error', code: TFTP_ERROR.optionNegotiation, message: 'tsize read' }),
            server.port,
            server.address,
          )
          return finish({ ok: true, value: { bytes: 0, sha256: '' } })
        }
        blksize = Number(p.options.blksize ?? 512)
        window = Math.max(1, Number(p.options.windowsize ?? 1))
        send(encodeTftp({ op: 'ack', block: 0 }))
        arm()
        return
      }
      if (p.op !== 'data') return
      if (p.block === expected % 65536) {
        silent = 0
        hash.update(p.data)
        bytes += p.data.length
        expected++
        const last = p.data.length < blksize
        if (last || (expected - 1) % window === 0) send(encodeTftp({ op: 'ack', block: p.block }))
        else lastSent = encodeTftp({ op: 'ack', block: p.block }) // re-sent on silence: "send from here on"
        if (last) return finish({ ok: true, value: { bytes, sha256: hash.digest('hex') } })
        arm()
      } else if (p.block === (expected - 1) % 65536) {
        // A retransmitted block we already have: our ACK was lost; re-ACK it (once per duplicate).
        tx(encodeTftp({ op: 'ack', block: p.block }), server.port, server.address)
      }
    })
    socket.bind({ address: o.localAddress, port: 0 }, () => {
      send(lastSent)
      arm()
    })
  })
}
