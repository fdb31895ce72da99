/**
 * The hand-written hot-path helpers the engine's profile called for (bench/dhcp.ts) must agree exactly with
 * the readable reference implementations they replaced.
 */
import { describe, expect, it } from 'vitest'
import { intToQuad, isZeroIp, quadToInt } from '../../electron/core/boot/dhcp/bytes'
import { clientMac } from '../../electron/core/boot/dhcp/packet'
import { intToIp, ipToInt } from '../../electron/core/util/ipv4'

describe('quadToInt agrees with util/ipv4 ipToInt', () => {
  const cases = [
    '0.0.0.0',
    '255.255.255.255',
    '198.18.30.1',
    '1.2.3.4',
    '01.2.3.4',
    '1.2.3.04',
    '256.1.1.1',
    '1.2.3',
    '1.2.3.4.5',
    '1..3.4',
    '.1.2.3',
    '1.2.3.',
    '',
    'a.b.c.d',
    '1.2.3.4 ',
    ' 1.2.3.4',
    '1.2.3.1000',
    '1.2.3.-1',
    '0.0.0.00',
    '10.0.0.255',
    '999.0.0.0',
    '1e2.0.0.0',
    '0x1.0.0.0',
  ]
  for (const c of cases) it(JSON.stringify(c), () => expect(quadToInt(c)).toBe(ipToInt(c)))

  it('on 20,000 random near-quads', () => {
    let seed = 99
    const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296
    const alphabet = '0123456789..x '
    for (let i = 0; i < 20_000; i++) {
      const s =
        rnd() < 0.5
          ? Array.from({ length: 4 }, () => String(Math.floor(rnd() * 300))).join('.')
          : Array.from(
              { length: 1 + Math.floor(rnd() * 15) },
              () => alphabet[Math.floor(rnd() * alphabet.length)],
            ).join('')
      expect(quadToInt(s), s).toBe(ipToInt(s))
    }
  })

  it('isZeroIp: zero or not an address', () => {
    expect(isZeroIp('0.0.0.0')).toBe(true)
    expect(isZeroIp('garbage')).toBe(true)
    expect(isZeroIp('0.0.0.1')).toBe(false)
  })
})

describe('intToQuad agrees with util/ipv4 intToIp', () => {
  it('on the edges and 20,000 random values', () => {
    let seed = 7
    const values = [0, 1, 255, 256, 0x7fffffff, 0x80000000, 0xffffffff, 0xc6130001]
    for (let i = 0; i < 20_000; i++) values.push((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0))
    for (const v of values) expect(intToQuad(v), String(v)).toBe(intToIp(v))
  })
})

describe('clientMac', () => {
  it('formats every byte value as two lowercase hex digits', () => {
    for (let b = 0; b < 256; b++) {
      const chaddr = Uint8Array.of(b, 255 - b, 0, 0x0a, 0xf0, b)
      const want = Array.from(chaddr, (x) => x.toString(16).padStart(2, '0')).join(':')
      expect(clientMac({ htype: 1, hlen: 6, chaddr })).toBe(want)
    }
    expect(clientMac({ htype: 6, hlen: 6, chaddr: new Uint8Array(6) })).toBeUndefined()
  })
})
