/**
 * The Range request header (RFC 9110 §14.1.2, §14.2), reduced to what a boot server needs: one byte range.
 * Pure; never throws on what a client sends.
 *
 * Decisions, as RFC 9110 §14.2 allows ("a server MAY ignore the Range header field"):
 * - a header that does not parse, uses another unit, or asks for several ranges (`bytes=0-1,5-9`) is ignored:
 *   the whole file is sent with 200. Multipart/byteranges buys a boot client nothing and costs code.
 * - a single range that cannot be satisfied (first byte at or past the end, `-0`, any range of an empty file)
 *   answers 416 with `Content-Range: bytes *\/size` (§15.5.17).
 * - a last byte past the end is clamped to the end (§14.1.2).
 */

export type RangeDecision =
  | { kind: 'whole' }
  | { kind: 'partial'; start: number; end: number /* inclusive */ }
  | { kind: 'unsatisfiable' }

const SINGLE = /^bytes[ \t]*=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)[ \t]*$/i

export function decideRange(header: string | undefined, size: number): RangeDecision {
  if (header === undefined) return { kind: 'whole' }
  const m = SINGLE.exec(header)
  if (!m) return { kind: 'whole' }
  const [, first = '', last = ''] = m
  if (first === '' && last === '') return { kind: 'whole' }
  // Digits beyond 2^53 cannot be a real offset; treat them as "past the end" rather than lose precision.
  const num = (s: string) => (s.length > 15 ? Number.MAX_SAFE_INTEGER : Number(s))
  if (first === '') {
    // Suffix range `-n`: the last n bytes (§14.1.2); n = 0 or an empty file is unsatisfiable.
    const n = num(last)
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' }
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 }
  }
  const start = num(first)
  if (last !== '' && num(last) < start) return { kind: 'whole' } // invalid syntax per §14.1.1: ignore
  if (start >= size) return { kind: 'unsatisfiable' }
  const end = last === '' ? size - 1 : Math.min(num(last), size - 1)
  return { kind: 'partial', start, end }
}
