/** Byte helpers shared by the DHCP codec: dotted quads and Latin-1 text (one char per byte, lossless). */

export function bytesToIp(b: Uint8Array, at: number): string {
  return `${b[at] ?? 0}.${b[at + 1] ?? 0}.${b[at + 2] ?? 0}.${b[at + 3] ?? 0}`
}

/**
 * Strict dotted quad to its 32-bit value, or null: the same rules as util/ipv4's ipToInt (four decimal parts,
 * 0-255, no leading zeros), by hand because it runs several times per packet and the regex version was the
 * encoder's top cost under load (bench/dhcp.ts profile).
 */
export function quadToInt(ip: string): number | null {
  let n = 0
  let part = 0
  let digits = 0
  let dots = 0
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i)
    if (c === 46) {
      if (digits === 0 || dots === 3) return null
      n = n * 256 + part
      part = 0
      digits = 0
      dots++
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return null // leading zero
      part = part * 10 + (c - 48)
      if (++digits > 3 || part > 255) return null
    } else return null
  }
  if (dots !== 3 || digits === 0) return null
  return (n * 256 + part) >>> 0
}

/** Four bytes of a dotted quad; anything that is not one encodes as 0.0.0.0 (the encoder is total). */
export function ipToBytes(ip: string): Uint8Array {
  const n = quadToInt(ip) ?? 0
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff)
}

/** Writes a dotted quad's four bytes at `at` (0.0.0.0 for anything that is not one). */
export function writeIp(out: Uint8Array, at: number, ip: string): void {
  const n = quadToInt(ip) ?? 0
  out[at] = n >>> 24
  out[at + 1] = (n >>> 16) & 0xff
  out[at + 2] = (n >>> 8) & 0xff
  out[at + 3] = n & 0xff
}

/** The dotted quad of a 32-bit value (util/ipv4 intToIp's output, without an array per call). */
export function intToQuad(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`
}

export function isZeroIp(ip: string): boolean {
  return ip === '0.0.0.0' || !quadToInt(ip)
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
