/**
 * Mutation fuzzing of DHCP packets, shared by the codec fuzz and the server-handler fuzz. Seeded PRNG, so a
 * failure names a reproducible case. Mutations start from the real-client golden fixtures: bit flips,
 * truncations, length-byte changes, inserted overload options, splices and plain random bytes.
 */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { readPcapUdp } from './pcap'

const FIXTURES = join(import.meta.dirname, '../fixtures/dhcp')

export function prng(seed: number) {
  let s = seed >>> 0
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number) => Math.floor(next() * n)
  return { next, int, pick: <T>(xs: readonly T[]): T => xs[int(xs.length)]! }
}
export type Rng = ReturnType<typeof prng>

export function seeds(): Uint8Array[] {
  const out: Uint8Array[] = []
  for (const f of readdirSync(FIXTURES)
    .filter((n) => n.endsWith('.pcap'))
    .sort())
    for (const d of readPcapUdp(join(FIXTURES, f))) out.push(d.payload)
  return out
}

/** Offsets of option code bytes in the main option area (for length-byte mutations). */
function optionOffsets(b: Uint8Array): number[] {
  const at: number[] = []
  for (let i = 240; i + 1 < b.length && b[i] !== 255;) {
    if (b[i] === 0) {
      i++
      continue
    }
    at.push(i)
    i += 2 + b[i + 1]!
  }
  return at
}

export function mutate(r: Rng, pool: readonly Uint8Array[]): Uint8Array {
  const src = r.pick(pool)
  const b = new Uint8Array(src)
  switch (r.int(7)) {
    case 0: {
      for (let n = 1 + r.int(8); n > 0; n--) b[r.int(b.length)]! ^= 1 << r.int(8)
      return b
    }
    case 1:
      return b.subarray(0, r.int(b.length + 1))
    case 2: {
      const offs = optionOffsets(b)
      if (offs.length > 0) b[r.pick(offs) + 1] = r.pick([0, 1, 2, 254, 255, r.int(256)])
      return b
    }
    case 3: {
      // Insert an overload option (maybe bogus) at the start of the options, and junk into file/sname.
      const ov = r.pick([
        [52, 1, 1 + r.int(3)],
        [52, 1, r.int(256)],
        [52, 2, 1, 3],
        [52, 0],
      ])
      const out = new Uint8Array(b.length + ov.length)
      out.set(b.subarray(0, 240))
      out.set(ov, 240)
      out.set(b.subarray(240), 240 + ov.length)
      if (r.int(2))
        for (let i = 44; i < 236; i++) out[i] = r.int(4) === 0 ? r.pick([52, 255, 0, 1]) : r.int(256)
      return out
    }
    case 4: {
      const other = r.pick(pool)
      const cut = 240 + r.int(Math.max(1, b.length - 240))
      const from = 240 + r.int(Math.max(1, other.length - 240))
      const out = new Uint8Array(cut + Math.max(0, other.length - from))
      out.set(b.subarray(0, cut))
      out.set(other.subarray(from), cut)
      return out
    }
    case 5: {
      const out = new Uint8Array(r.int(700))
      for (let i = 0; i < out.length; i++) out[i] = r.int(256)
      if (out.length >= 240 && r.int(2)) out.set([99, 130, 83, 99], 236)
      if (out.length >= 1 && r.int(2)) out[0] = 1 + r.int(2)
      if (out.length >= 3 && r.int(2)) out[2] = 6
      return out
    }
    default: {
      // Random option soup after a valid header.
      const n = r.int(400)
      const out = new Uint8Array(240 + n)
      out.set(b.subarray(0, 240))
      for (let i = 240; i < out.length; i++)
        out[i] = r.int(3) === 0 ? r.pick([52, 119, 121, 175, 77, 0, 255]) : r.int(256)
      return out
    }
  }
}
