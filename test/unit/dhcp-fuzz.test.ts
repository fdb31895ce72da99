/**
 * Fuzz and property tests for the DHCP codec. Seeded PRNG, so a failure names a reproducible case.
 * Mutations start from the real-client golden fixtures: bit flips, truncations, length-byte changes,
 * inserted overload options, splices and plain random bytes. Work per packet is bounded by the
 * decoder's construction (linear scans, backward-only 119 pointers); a hang would time the test out.
 */
import { isDeepStrictEqual } from 'node:util'
import { describe, expect, it } from 'vitest'
import {
  OPTION_TABLE,
  decodePacket,
  encodePacket,
  type DhcpOptions,
  type DhcpPacket,
} from '../../electron/core/boot/dhcp'
import { prng, seeds, mutate, type Rng } from '../support/dhcp-fuzz'

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

const TEXT = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:-_./ \u00e9\u00ff'

function genPacket(r: Rng): DhcpPacket {
  const ip = () => `${r.int(256)}.${r.int(256)}.${r.int(256)}.${r.int(256)}`
  const ips = () => Array.from({ length: 1 + r.int(4) }, ip)
  const str = (max: number, min = 1) =>
    Array.from({ length: min + r.int(max - min + 1) }, () => r.pick([...TEXT])).join('')
  const bytes = (max: number, min = 0) =>
    Uint8Array.from({ length: min + r.int(max - min + 1) }, () => r.int(256))
  const label = () => Array.from({ length: 1 + r.int(12) }, () => r.pick([...'abcdefghijk0123-'])).join('')
  const name = () => Array.from({ length: 1 + r.int(3) }, label).join('.')
  const route = () => {
    const width = r.int(33)
    const octets = [0, 0, 0, 0].map((_, i) => (i < Math.ceil(width / 8) ? r.int(256) : 0))
    return { destination: `${octets.join('.')}/${width}`, router: ip() }
  }
  const all: Required<Omit<DhcpOptions, 'raw'>> = {
    subnetMask: ip(),
    routers: ips(),
    dnsServers: ips(),
    hostName: str(40),
    domainName: str(40),
    broadcastAddress: ip(),
    ntpServers: ips(),
    vendorSpecific: bytes(300, 1),
    requestedIp: ip(),
    leaseTime: r.int(2 ** 32),
    messageType: (1 + r.int(18)) as DhcpOptions['messageType'] & number,
    serverId: ip(),
    parameterRequestList: Array.from({ length: 1 + r.int(30) }, () => r.int(256)),
    message: str(80),
    maxMessageSize: r.int(65536),
    renewalTime: r.int(2 ** 32),
    rebindingTime: r.int(2 ** 32),
    vendorClassId: str(60),
    clientId: { type: r.int(256), data: bytes(20, 1) },
    tftpServerName: str(40),
    bootFileName: str(300),
    userClass: Array.from({ length: 1 + r.int(3) }, () => str(20)),
    relayAgentInfo: bytes(60, 1),
    clientArch: Array.from({ length: 1 + r.int(3) }, () => r.int(65536)),
    clientNdi: { type: r.int(256), major: r.int(256), minor: r.int(256) },
    clientMachineId: { type: r.int(256), id: bytes(16) },
    domainSearch: Array.from({ length: 1 + r.int(5) }, name),
    classlessRoutes: Array.from({ length: 1 + r.int(4) }, route),
    ipxe: Array.from({ length: 1 + r.int(6) }, () => ({ code: 1 + r.int(254), data: bytes(8) })),
  }
  const options: DhcpOptions = {}
  for (const spec of OPTION_TABLE) if (r.int(2)) Object.assign(options, { [spec.key]: all[spec.key] })
  const typed = new Set(OPTION_TABLE.map((s) => s.code))
  const rawCodes = [...new Set(Array.from({ length: r.int(4) }, () => 1 + r.int(254)))]
    .filter((c) => !typed.has(c) && c !== 52)
    .sort((a, b) => a - b)
  options.raw = rawCodes.map((code) => ({ code, data: bytes(300) }))
  const hlen = r.int(17)
  return {
    op: 1 + r.int(2),
    htype: r.int(256),
    hlen,
    hops: r.int(256),
    xid: r.int(2 ** 32),
    secs: r.int(65536),
    flags: r.int(65536),
    ciaddr: ip(),
    yiaddr: ip(),
    siaddr: ip(),
    giaddr: ip(),
    chaddr: bytes(hlen, hlen),
    sname: r.int(2) ? str(63, 0) : '',
    file: r.int(2) ? str(127, 0) : '',
    options,
  }
}

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
