/**
 * Fuzz and property tests for the DHCP codec. Seeded PRNG, so a failure names a reproducible case.
 * Mutations start from the real-client golden fixtures: bit flips, truncations, length-byte changes,
 * inserted overload options, splices and plain random bytes. Work per packet is bounded by the
 * decoder's construction (linear scans, backward-only 119 pointers); a hang would time the test out.
 */
import { isDeepStrictEqual } from 'node:util'
import { describe, expect, it } from 'vitest'
import { decodePacket, encodePacket } from '../../electron/core/boot/dhcp'
import { genPacket, prng, seeds, mutate } from '../support/dhcp-fuzz'

describe('DHCP codec fuzz', () => {
  it('decodes 100,000 mutated and random packets without throwing; decoded ones re-encode and re-decode', () => {
    const pool = seeds()
    expect(pool.length).toBeGreaterThan(20)
    const r = prng(0x5eed)
    let decoded = 0
    for (let i = 0; i < 100_000; i++) {
      const m = mutate(r, pool)
      let res: ReturnType<typeof decodePacket>
      try {
        res = decodePacket(m)
      } catch (e) {
        throw new Error(`decodePacket threw on case ${i} (${Buffer.from(m).toString('hex')}): ${String(e)}`, {
          cause: e,
        })
      }
      if (!res.ok) {
        if (typeof res.error !== 'string' || res.error.length === 0)
          throw new Error(`case ${i}: error without a reason`)
        continue
      }
      decoded++
      const again = decodePacket(encodePacket(res.value, { maxSize: r.pick([0, 576, 1500, 65535]) }))
      if (!again.ok) throw new Error(`case ${i}: our own encoding failed to decode: ${again.error}`)
    }
    // The mutations must exercise the success path too, not only error exits.
    expect(decoded).toBeGreaterThan(20_000)
  })

  it('decode is idempotent through encode for every fixture packet (no size limit)', () => {
    for (const p of seeds()) {
      const a = decodePacket(p)
      if (!a.ok) throw new Error(a.error)
      const b = decodePacket(encodePacket(a.value, { maxSize: 65535 }))
      expect(b.ok && b.value).toEqual(a.value)
    }
  })
})

describe('DHCP codec round trip', () => {
  it('decode(encode(p)) equals p for 5,000 generated packets', () => {
    const r = prng(42)
    let checked = 0
    for (let i = 0; i < 5_000; i++) {
      const p = genPacket(r)
      const back = decodePacket(encodePacket(p, { maxSize: 65535 }))
      if (!back.ok) throw new Error(`case ${i}: ${back.error}`)
      // isDeepStrictEqual first: expect().toEqual on every case is slow; it only runs to show a diff.
      if (!isDeepStrictEqual(back.value, p)) expect(back.value, `case ${i}`).toEqual(p)
      checked++
    }
    expect(checked).toBe(5_000)
  })
})
