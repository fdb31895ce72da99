/**
 * Option negotiation for a read request (pure). RFC 2347: the server answers only options it accepts, in an
 * OACK; an option it does not like is left out, never refused, so a sloppy client still boots.
 */
import type { TftpOptions } from './packet'

/** RFC 2348: blksize is 8..65464 octets. */
export const BLKSIZE_MIN = 8
export const BLKSIZE_MAX = 65464
/** Fits one DATA packet (4 + 1468 + 8 UDP + 20 IPv4) in a 1500-byte Ethernet MTU. */
export const DEFAULT_MAX_BLKSIZE = 1468
/** RFC 7440 allows 1..65535; beyond 64 a burst only overflows receive buffers. */
export const MAX_WINDOWSIZE = 64

/** Largest blksize whose DATA packet fits `mtu` unfragmented: IPv4 20 + UDP 8 + TFTP header 4 bytes. */
export function blksizeForMtu(mtu: number): number {
  return Math.max(BLKSIZE_MIN, Math.min(BLKSIZE_MAX, Math.floor(mtu) - 32))
}

export interface NegotiationLimits {
  /** Largest block we send; clamped into RFC 2348's range. */
  maxBlksize: number
  maxWindowsize: number
}

export interface Negotiated {
  blksize: number
  windowsize: number
  /** RFC 2349 timeout the client asked for (1..255 s), in ms; null when it did not ask. */
  timeoutMs: number | null
  /** What goes into the OACK; empty means send no OACK and start with DATA 1 (RFC 2347). */
  oack: TftpOptions
}

const integer = (v: string | undefined): number | null =>
  v !== undefined && /^\d{1,10}$/.test(v) ? Number(v) : null

/**
 * @param transferSize bytes the client will receive, or null when unknown up front (netascii: tsize is then
 *   left out rather than answered wrong).
 */
export function negotiate(
  requested: TftpOptions,
  transferSize: number | null,
  limits: NegotiationLimits,
): Negotiated {
  const cap = Math.max(BLKSIZE_MIN, Math.min(BLKSIZE_MAX, Math.floor(limits.maxBlksize)))
  const maxWindow = Math.max(1, Math.min(65535, Math.floor(limits.maxWindowsize)))
  const out: Negotiated = { blksize: 512, windowsize: 1, timeoutMs: null, oack: {} }
  const accepted: [string, string][] = []
  // Answer in the client's order; some firmware compares positions.
  for (const name of Object.keys(requested)) {
    const n = integer(requested[name])
    switch (name) {
      case 'blksize': // RFC 2348: the server may answer a smaller value; below 8 is invalid, so ignore it
        if (n !== null && n >= BLKSIZE_MIN) {
          out.blksize = Math.min(n, cap)
          accepted.push([name, String(out.blksize)])
        }
        break
      case 'tsize': // RFC 2349: in an RRQ the client sends 0 and the server answers the size. Any value is
        // taken as the question: atftp 0.8 `--option "tsize enable"` sends the word "enable".
        if (transferSize !== null) accepted.push([name, String(transferSize)])
        break
      case 'timeout': // RFC 2349: 1..255 seconds, echoed as is
        if (n !== null && n >= 1 && n <= 255) {
          out.timeoutMs = n * 1000
          accepted.push([name, String(n)])
        }
        break
      case 'windowsize': // RFC 7440: 1..65535, the server may answer smaller
        if (n !== null && n >= 1 && n <= 65535) {
          out.windowsize = Math.min(n, maxWindow)
          accepted.push([name, String(out.windowsize)])
        }
        break
    }
  }
  out.oack = Object.fromEntries(accepted)
  return out
}
