/**
 * Option 119 domain search list (RFC 3397): a run of RFC 1035 §3.1 names in which a name may end in a
 * pointer (RFC 1035 §4.1.4) to an earlier name; offsets count from the start of the option's data
 * (after RFC 3396 concatenation). Decoding is bounded: every pointer must point backwards, and a name
 * may not exceed 255 bytes, so a hostile option cannot loop.
 */
import { bytesToText, textToBytes } from './bytes'

const MAX_NAME = 255

/** Names in order (without the trailing dot), or undefined when the bytes are not a valid list. */
export function decodeDomainList(d: Uint8Array): string[] | undefined {
  const names: string[] = []
  let i = 0
  while (i < d.length) {
    const name = readName(d, i)
    if (!name) return undefined
    names.push(name.text)
    i = name.next
  }
  return names.length > 0 ? names : undefined
}

function readName(d: Uint8Array, start: number): { text: string; next: number } | undefined {
  const labels: string[] = []
  let at = start
  let next = -1 // where the caller continues: after the first pointer, or after the root label
  let length = 0
  let segment = start // first byte of the labels being read; a pointer must land before it
  for (;;) {
    if (at >= d.length) return undefined
    const len = d[at]!
    if (len === 0) {
      if (next < 0) next = at + 1
      break
    }
    if ((len & 0xc0) === 0xc0) {
      if (at + 1 >= d.length) return undefined
      const target = ((len & 0x3f) << 8) | d[at + 1]!
      if (next < 0) next = at + 2
      // Strictly before the segment being read: segments only move backwards, so the walk ends.
      if (target >= segment) return undefined
      at = segment = target
      continue
    }
    if ((len & 0xc0) !== 0) return undefined // 0x40 and 0x80 label types are reserved (RFC 6891)
    if (at + 1 + len > d.length) return undefined
    length += len + 1
    if (length > MAX_NAME) return undefined
    labels.push(bytesToText(d.subarray(at + 1, at + 1 + len)))
    at += 1 + len
  }
  return { text: labels.join('.'), next }
}

/**
 * Encodes names with suffix compression, as dnsmasq and ISC do. Total: a name with a label over 63
 * bytes or a total over 255 is skipped (it could not be decoded by anyone).
 */
export function encodeDomainList(names: readonly string[]): Uint8Array {
  const out: number[] = []
  const suffixAt = new Map<string, number>()
  for (const name of names) {
    const labels = name.split('.').filter((l) => l.length > 0)
    if (labels.some((l) => l.length > 63) || labels.reduce((n, l) => n + l.length + 1, 1) > MAX_NAME) continue
    for (let k = 0; k < labels.length; k++) {
      // Case-sensitive on purpose: decode(encode(x)) must give back x exactly.
      const suffix = labels.slice(k).join('.')
      const at = suffixAt.get(suffix)
      if (at !== undefined) {
        out.push(0xc0 | (at >> 8), at & 0xff)
        break
      }
      if (out.length < 0x4000) suffixAt.set(suffix, out.length)
      const b = textToBytes(labels[k]!)
      out.push(b.length, ...b)
      if (k === labels.length - 1) out.push(0)
    }
    if (labels.length === 0) out.push(0)
  }
  return Uint8Array.from(out)
}
