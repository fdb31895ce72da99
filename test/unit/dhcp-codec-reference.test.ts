/**
 * The allocation-light codec (packet.ts, options.ts) must behave exactly as the readable one it replaced
 * (test/support/dhcp-reference-codec.ts): the same result or the same error for every input, and the same
 * bytes for every packet it encodes, on the golden fixtures, mutations of them, generated packets and
 * packets full of nonsense values. Seeded, so a failure names a reproducible case.
 */
import { isDeepStrictEqual } from 'node:util'
import { describe, expect, it } from 'vitest'
import { decodePacket, encodePacket, type DhcpPacket } from '../../electron/core/boot/dhcp'
import { genPacket, mutate, nonsensePacket, prng, seeds } from '../support/dhcp-fuzz'
import { referenceDecode, referenceEncode } from '../support/dhcp-reference-codec'

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

function sameDecode(bytes: Uint8Array, what: string): DhcpPacket | null {
  const fast = decodePacket(bytes)
  const ref = referenceDecode(bytes)
  // isDeepStrictEqual first (also compares prototypes: a Buffer is not a Uint8Array); expect() shows the diff.
  if (!isDeepStrictEqual(fast, ref)) expect(fast, `${what}: ${hex(bytes)}`).toStrictEqual(ref)
  if (!isDeepStrictEqual(fast, ref)) throw new Error(`${what}: decoders differ on ${hex(bytes)}`)
  return ref.ok ? ref.value : null
}

/** True when the packet took the encoder's direct path (it returns a Buffer, the general path a Uint8Array). */
function sameEncode(p: DhcpPacket, maxSize: number | undefined, what: string): boolean {
  const fast = encodePacket(p, { maxSize })
  const ref = referenceEncode(p, { maxSize })
  if (Buffer.compare(fast, ref) !== 0) expect(hex(fast), what).toBe(hex(ref))
  return Buffer.isBuffer(fast)
}

const SIZES = [undefined, 0, 576, 600, 1500, 65535]

describe('DHCP codec agrees with the reference codec', () => {
  it('decodes every fixture packet, 40,000 mutations and Buffers/views of them exactly alike', () => {
    const pool = seeds()
    for (const [i, p] of pool.entries()) sameDecode(p, `fixture ${i}`)
    const r = prng(0xc0dec)
    for (let i = 0; i < 40_000; i++) {
      const m = mutate(r, pool)
      const p = sameDecode(r.int(4) === 0 ? Buffer.from(m) : m, `mutation ${i}`)
      if (p && i % 4 === 0) void sameEncode(p, r.pick(SIZES), `re-encoding mutation ${i}`)
    }
    // A view at an offset into a larger buffer (how dgram hands out pooled memory).
    const big = new Uint8Array(pool[0]!.length + 17)
    big.set(pool[0]!, 17)
    sameDecode(big.subarray(17), 'view at offset 17')
  })

  it('encodes 4,000 generated packets byte for byte alike, at every client size', () => {
    const r = prng(0xe4c0de)
    let direct = 0
    for (let i = 0; i < 4_000; i++) if (sameEncode(genPacket(r), r.pick(SIZES), `generated ${i}`)) direct++
    // Both encoder paths are exercised.
    expect(direct).toBeGreaterThan(200)
    expect(direct).toBeLessThan(3_800)
  })

  it('encodes 4,000 packets of nonsense values byte for byte alike', () => {
    const r = prng(0xbad)
    let direct = 0
    for (let i = 0; i < 4_000; i++)
      if (sameEncode(nonsensePacket(r), r.pick(SIZES), `nonsense ${i}`)) direct++
    expect(direct).toBeGreaterThan(100)
  })
})
