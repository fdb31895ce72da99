/** Byte helpers shared by the DHCP codec: dotted quads and Latin-1 text (one char per byte, lossless). */
import { ipToInt } from '../../util/ipv4'

export function bytesToIp(b: Uint8Array, at: number): string {
  return `${b[at] ?? 0}.${b[at + 1] ?? 0}.${b[at + 2] ?? 0}.${b[at + 3] ?? 0}`
}

/** Four bytes of a dotted quad; anything that is not one encodes as 0.0.0.0 (the encoder is total). */
export function ipToBytes(ip: string): Uint8Array {
  const n = ipToInt(ip) ?? 0
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff)
}

export function isZeroIp(ip: string): boolean {
  return ipToInt(ip) === 0 || ipToInt(ip) === null
}

export function bytesToText(b: Uint8Array): string {
  let s = ''
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!)
  return s
}

/** Latin-1: chars above U+00FF keep their low byte (callers send ASCII: names, URLs, vendor classes). */
export function textToBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff
  return out
}
