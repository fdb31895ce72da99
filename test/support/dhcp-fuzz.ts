/**
 * Mutation fuzzing of DHCP packets, shared by the codec fuzz and the server-handler fuzz. Seeded PRNG, so a
 * failure names a reproducible case. Mutations start from the real-client golden fixtures: bit flips,
 * truncations, length-byte changes, inserted overload options, splices and plain random bytes.
 */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { OPTION_TABLE, type DhcpOptions, type DhcpPacket } from '../../electron/core/boot/dhcp'
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

const TEXT = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:-_./ \u00e9\u00ff'
const CHARS = [...TEXT]
const LABEL_CHARS = [...'abcdefghijk0123-']

/** A packet with a random subset of every typed option, valid values, and a few raw options. */
export function genPacket(r: Rng): DhcpPacket {
  const ip = () => `${r.int(256)}.${r.int(256)}.${r.int(256)}.${r.int(256)}`
  const ips = () => Array.from({ length: 1 + r.int(4) }, ip)
  const str = (max: number, min = 1) =>
    Array.from({ length: min + r.int(max - min + 1) }, () => r.pick(CHARS)).join('')
  const bytes = (max: number, min = 0) =>
    Uint8Array.from({ length: min + r.int(max - min + 1) }, () => r.int(256))
  const label = () => Array.from({ length: 1 + r.int(12) }, () => r.pick(LABEL_CHARS)).join('')
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

/**
 * A packet with values no real caller sends (bad addresses, empty and oversized lists, negative, fractional
 * and huge numbers, chars above U+00FF, raw codes 0/52/255 and raw duplicates of typed codes): the encoder
 * is total, and its fast path must fall back to the same bytes as the reference on all of it.
 */
export function nonsensePacket(r: Rng): DhcpPacket {
  const p = genPacket(r)
  const o = p.options as Record<string, unknown>
  const num = () => r.pick([-1, 0.5, NaN, 2 ** 40, -(2 ** 31), 65536, 256, Infinity])
  const badIp = () => r.pick(['', 'x', '1.2.3', '256.0.0.1', '01.2.3.4', '1.2.3.4 ', '\u0100.1.1.1'])
  for (const key of Object.keys(o)) {
    if (key === 'raw' || r.int(3) !== 0) continue
    const v = o[key]
    if (typeof v === 'number') o[key] = num()
    else if (typeof v === 'string')
      o[key] = r.pick([badIp(), '', 'é\u0101\uffff', 'x'.repeat(256 + r.int(300))])
    else if (Array.isArray(v)) o[key] = r.pick([[], v.concat(v, v, v, v, v, v, v, v, v, v, v)])
  }
  if (r.int(2)) p.ciaddr = badIp()
  if (r.int(2)) p.file = r.pick(['x'.repeat(127), 'x'.repeat(128), 'y'.repeat(200), 'é\u0101'])
  if (r.int(2)) p.sname = r.pick(['s'.repeat(63), 's'.repeat(64), 'z'.repeat(90)])
  if (r.int(2)) p.xid = num()
  if (r.int(2)) p.hlen = r.pick([0, 16, 17, 255, -1])
  const typedCode = r.pick(OPTION_TABLE).code
  p.options.raw = [
    ...(p.options.raw ?? []),
    ...r.pick([
      [],
      [{ code: 0, data: new Uint8Array(2) }],
      [{ code: 52, data: Uint8Array.of(1) }],
      [{ code: 255, data: new Uint8Array(1) }],
      [{ code: typedCode, data: Uint8Array.of(9) }],
      [
        { code: 224, data: new Uint8Array(0) },
        { code: 224, data: new Uint8Array(3) },
      ],
      [{ code: 250, data: new Uint8Array(600) }],
    ]),
  ]
  if (r.int(4) === 0) delete p.options.raw
  return p
}
