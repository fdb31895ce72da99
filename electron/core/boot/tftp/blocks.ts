/** netascii (RFC 1350 / RFC 764): the one conversion a TFTP server makes to the bytes it sends. */

/**
 * RFC 1350 netascii from a Unix file: LF -> CR LF, CR -> CR NUL. Each byte maps on its own, so chunk
 * boundaries need no state.
 */
export function toNetascii(input: Buffer): Buffer {
  let extra = 0
  for (const b of input) if (b === 0x0a || b === 0x0d) extra++
  if (extra === 0) return input
  const out = Buffer.allocUnsafe(input.length + extra)
  let j = 0
  for (const b of input) {
    if (b === 0x0a) {
      out[j++] = 0x0d
      out[j++] = 0x0a
    } else if (b === 0x0d) {
      out[j++] = 0x0d
      out[j++] = 0x00
    } else out[j++] = b
  }
  return out
}
