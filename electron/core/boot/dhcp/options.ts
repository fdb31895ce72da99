/**
 * DHCP option table: which options we decode to typed values, and how each is laid out on the wire.
 * Numbers and layouts are from RFC 2132 unless a field names another RFC. Options whose bytes do not
 * match the layout, and options not in this table, are kept as bytes in `raw` (never dropped), so a
 * server can still log or echo them. Pad (0), end (255) and overload (52) are packet structure and live
 * in packet.ts, not here.
 */
import { bytesToIp, ipToBytes, writeIp } from './bytes'
import { decodeDomainList, encodeDomainList } from './domain-names'

/** Option 53 values (RFC 2132 §9.6; 9 RFC 3203, 10–13 RFC 4388, 14–17 RFC 6926, 18 RFC 7724). */
export const DhcpMessageType = {
  Discover: 1,
  Offer: 2,
  Request: 3,
  Decline: 4,
  Ack: 5,
  Nak: 6,
  Release: 7,
  Inform: 8,
  ForceRenew: 9,
  LeaseQuery: 10,
  LeaseUnassigned: 11,
  LeaseUnknown: 12,
  LeaseActive: 13,
  BulkLeaseQuery: 14,
  LeaseQueryDone: 15,
  ActiveLeaseQuery: 16,
  LeaseQueryStatus: 17,
  Tls: 18,
} as const
export type DhcpMessageType = (typeof DhcpMessageType)[keyof typeof DhcpMessageType]

const MESSAGE_TYPE_NAMES = new Map<number, string>(Object.entries(DhcpMessageType).map(([k, v]) => [v, k]))
export function messageTypeName(t: number | undefined): string {
  return t === undefined ? 'BOOTP' : `DHCP${(MESSAGE_TYPE_NAMES.get(t) ?? String(t)).toUpperCase()}`
}

/** A type-length-value item, for options kept as bytes and for encapsulated sub-options. */
export interface RawOption {
  code: number
  data: Uint8Array
}

/** Option 61 client identifier (RFC 2132 §9.14): type 1 = Ethernet MAC follows, 255 = RFC 4361 IAID+DUID. */
export interface ClientId {
  type: number
  data: Uint8Array
}

/** Option 94 client network interface identifier (RFC 4578 §2.2): type 1 = UNDI, then major.minor. */
export interface ClientNdi {
  type: number
  major: number
  minor: number
}

/** Option 97 client machine identifier (RFC 4578 §2.3): type 0 then a 16-byte GUID (often the SMBIOS UUID). */
export interface ClientMachineId {
  type: number
  id: Uint8Array
}

/** Option 121 entry (RFC 3442 §2): destination as `a.b.c.d/width`, router as dotted quad. */
export interface ClasslessRoute {
  destination: string
  router: string
}

/**
 * Options of one message, decoded. Multi-instance options (RFC 3396) are already concatenated. A typed
 * field is unset when the option was absent or did not fit its layout (then its bytes are in `raw`).
 * Strings are Latin-1, one char per byte, so they round-trip byte for byte; trailing NULs, which some
 * clients send, are stripped.
 */
export interface DhcpOptions {
  /** 1, RFC 2132 §3.3 */
  subnetMask?: string
  /** 3, RFC 2132 §3.5: default gateways, in order of preference */
  routers?: string[]
  /** 6, RFC 2132 §3.8 */
  dnsServers?: string[]
  /** 12, RFC 2132 §3.14 */
  hostName?: string
  /** 15, RFC 2132 §3.17 */
  domainName?: string
  /** 28, RFC 2132 §5.3 */
  broadcastAddress?: string
  /** 42, RFC 2132 §8.3 */
  ntpServers?: string[]
  /** 43, RFC 2132 §8.4: vendor-specific, meaning set by option 60 (PXE: sub-options, PXE spec 2.1 §2.4); see decodeSubOptions */
  vendorSpecific?: Uint8Array
  /** 50, RFC 2132 §9.1: address the client asks for (SELECTING / INIT-REBOOT) */
  requestedIp?: string
  /** 51, RFC 2132 §9.2: seconds */
  leaseTime?: number
  /** 53, RFC 2132 §9.6 */
  messageType?: DhcpMessageType
  /** 54, RFC 2132 §9.7 */
  serverId?: string
  /** 55, RFC 2132 §9.8: option codes the client wants, in its order of preference */
  parameterRequestList?: number[]
  /** 56, RFC 2132 §9.9: error text in a NAK (or DECLINE) */
  message?: string
  /** 57, RFC 2132 §9.10: largest DHCP message the client accepts (legal minimum 576) */
  maxMessageSize?: number
  /** 58, RFC 2132 §9.11: T1, seconds */
  renewalTime?: number
  /** 59, RFC 2132 §9.12: T2, seconds */
  rebindingTime?: number
  /** 60, RFC 2132 §9.13: e.g. `PXEClient:Arch:00000:UNDI:002001`, `HTTPClient:Arch:00016:UNDI:003001` */
  vendorClassId?: string
  /** 61, RFC 2132 §9.14 */
  clientId?: ClientId
  /** 66, RFC 2132 §9.4: TFTP server (name or dotted quad) when sname is overloaded or unused */
  tftpServerName?: string
  /** 67, RFC 2132 §9.5: boot file when file is overloaded; PXE clients read it too */
  bootFileName?: string
  /**
   * 77, RFC 3004 §4: user classes. iPXE sends the bare string `iPXE` (not RFC 3004 framed); both
   * framings decode to a list. Encoded RFC 3004 framed.
   */
  userClass?: string[]
  /** 82, RFC 3046: relay agent information, kept as bytes and echoed unchanged (RFC 3046 §2.2) */
  relayAgentInfo?: Uint8Array
  /** 93, RFC 4578 §2.1: client system architectures (IANA "Processor Architecture Types"), usually one */
  clientArch?: number[]
  /** 94, RFC 4578 §2.2 */
  clientNdi?: ClientNdi
  /** 97, RFC 4578 §2.3 */
  clientMachineId?: ClientMachineId
  /** 119, RFC 3397: domain search list, RFC 1035 §4.1.4 name compression decoded */
  domainSearch?: string[]
  /** 121, RFC 3442 */
  classlessRoutes?: ClasslessRoute[]
  /** 175, iPXE encapsulated options (sub-option 176 no-pxedhcp, 177 bus id, 16–127 feature flags); see describeIpxe */
  ipxe?: RawOption[]
  /** Options kept as bytes: codes not in this table, and table codes whose bytes did not parse. First-seen order. */
  raw?: RawOption[]
}

/**
 * How one option's bytes map to a typed value. Decoding reads straight from the packet (no copy of the
 * option first) and encoding writes straight into the reply: these run several times per packet under load.
 */
interface Layout<T> {
  /** The value of the `len` bytes at `at` in `b`, or undefined when they don't fit the layout. */
  decode(b: Uint8Array, at: number, len: number): T | undefined
  /** How many bytes `write` puts down for `v` (0: nothing, the option is then left out). */
  size(v: T): number
  /** Writes `v` at `at`; `out` has room for size(v) bytes there. */
  write(out: Uint8Array, at: number, v: T): void
}

/** A copy (a value must not alias the datagram's buffer, which the caller may reuse). */
function copyOf(b: Uint8Array, at: number, len: number): Uint8Array {
  const out = new Uint8Array(len)
  for (let i = 0; i < len; i++) out[i] = b[at + i]!
  return out
}

/** Latin-1 text of `len` bytes at `at` (one char per byte, lossless). */
function latin1(b: Uint8Array, at: number, len: number): string {
  let s = ''
  for (let i = at; i < at + len; i++) s += String.fromCharCode(b[i]!)
  return s
}

/** Latin-1: chars above U+00FF keep their low byte (callers send ASCII: names, URLs, vendor classes). */
function writeLatin1(out: Uint8Array, at: number, s: string, max = s.length): void {
  for (let i = 0; i < max; i++) out[at + i] = s.charCodeAt(i) & 0xff
}

/** For layouts too involved to write twice (sizes, then bytes) and rare on the hot path: via a byte copy. */
function viaBytes<T>(decode: (d: Uint8Array) => T | undefined, encode: (v: T) => Uint8Array): Layout<T> {
  return {
    decode: (b, at, len) => decode(b.subarray(at, at + len)),
    size: (v) => encode(v).length,
    write: (out, at, v) => out.set(encode(v), at),
  }
}

const ip: Layout<string> = {
  decode: (b, at, len) => (len === 4 ? bytesToIp(b, at) : undefined),
  size: () => 4,
  write: (out, at, v) => writeIp(out, at, v),
}
const ipList: Layout<string[]> = {
  decode: (b, at, len) => {
    if (len === 0 || len % 4 !== 0) return undefined
    const out: string[] = []
    for (let i = at; i < at + len; i += 4) out.push(bytesToIp(b, i))
    return out
  },
  size: (v) => 4 * v.length,
  write: (out, at, v) => {
    for (let i = 0; i < v.length; i++) writeIp(out, at + 4 * i, v[i]!)
  },
}
const u16: Layout<number> = {
  decode: (b, at, len) => (len === 2 ? (b[at]! << 8) | b[at + 1]! : undefined),
  size: () => 2,
  write: (out, at, v) => {
    out[at] = (v >>> 8) & 0xff
    out[at + 1] = v & 0xff
  },
}
const u32: Layout<number> = {
  decode: (b, at, len) =>
    len === 4 ? ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0 : undefined,
  size: () => 4,
  write: (out, at, v) => {
    out[at] = (v >>> 24) & 0xff
    out[at + 1] = (v >>> 16) & 0xff
    out[at + 2] = (v >>> 8) & 0xff
    out[at + 3] = v & 0xff
  },
}
const text: Layout<string> = {
  decode: (b, at, len) => {
    let end = len
    while (end > 0 && b[at + end - 1] === 0) end--
    return latin1(b, at, end)
  },
  size: (v) => v.length,
  write: (out, at, v) => writeLatin1(out, at, v),
}
const bytes: Layout<Uint8Array> = {
  decode: copyOf,
  size: (v) => v.length,
  write: (out, at, v) => out.set(v, at),
}
const u8List: Layout<number[]> = {
  decode: (b, at, len) => {
    if (len === 0) return undefined
    const out: number[] = []
    for (let i = at; i < at + len; i++) out.push(b[i]!)
    return out
  },
  size: (v) => v.length,
  write: (out, at, v) => {
    for (let i = 0; i < v.length; i++) out[at + i] = v[i]! & 0xff
  },
}
const u16List: Layout<number[]> = {
  decode: (b, at, len) => {
    if (len === 0 || len % 2 !== 0) return undefined
    const out: number[] = []
    for (let i = at; i < at + len; i += 2) out.push((b[i]! << 8) | b[i + 1]!)
    return out
  },
  size: (v) => 2 * v.length,
  write: (out, at, v) => {
    for (let i = 0; i < v.length; i++) u16.write(out, at + 2 * i, v[i]!)
  },
}
const messageType: Layout<DhcpMessageType> = {
  decode: (b, at, len) => (len === 1 && b[at]! >= 1 && b[at]! <= 18 ? (b[at] as DhcpMessageType) : undefined),
  size: () => 1,
  write: (out, at, v) => {
    out[at] = v
  },
}
const clientId: Layout<ClientId> = {
  // RFC 2132 §9.14: minimum length 2 (type + at least one byte).
  decode: (b, at, len) => (len >= 2 ? { type: b[at]!, data: copyOf(b, at + 1, len - 1) } : undefined),
  size: (v) => 1 + v.data.length,
  write: (out, at, v) => {
    out[at] = v.type & 0xff
    out.set(v.data, at + 1)
  },
}
const clientNdi: Layout<ClientNdi> = {
  decode: (b, at, len) => (len === 3 ? { type: b[at]!, major: b[at + 1]!, minor: b[at + 2]! } : undefined),
  size: () => 3,
  write: (out, at, v) => {
    out[at] = v.type & 0xff
    out[at + 1] = v.major & 0xff
    out[at + 2] = v.minor & 0xff
  },
}
const machineId: Layout<ClientMachineId> = {
  decode: (b, at, len) => (len >= 1 ? { type: b[at]!, id: copyOf(b, at + 1, len - 1) } : undefined),
  size: (v) => 1 + v.id.length,
  write: (out, at, v) => {
    out[at] = v.type & 0xff
    out.set(v.id, at + 1)
  },
}
const userClass: Layout<string[]> = {
  decode: (b, at, len) => {
    if (len === 0) return undefined
    // RFC 3004 §4: a list of (length, data) with every length >= 1 that exactly fills the option.
    const framed: string[] = []
    let i = 0
    while (i < len) {
      const n = b[at + i]!
      if (n === 0 || i + 1 + n > len) break
      framed.push(latin1(b, at + i + 1, n))
      i += 1 + n
    }
    return i === len ? framed : [text.decode(b, at, len)!]
  },
  // Each class framed by its length, cut at 255 bytes.
  size: (v) => {
    let n = 0
    for (const s of v) n += 1 + Math.min(255, s.length)
    return n
  },
  write: (out, at, v) => {
    for (const s of v) {
      const n = Math.min(255, s.length)
      out[at] = n
      writeLatin1(out, at + 1, s, n)
      at += 1 + n
    }
  },
}
const classlessRoutes: Layout<ClasslessRoute[]> = viaBytes(
  (d) => {
    const out: ClasslessRoute[] = []
    let i = 0
    while (i < d.length) {
      const width = d[i]!
      if (width > 32) return undefined
      const significant = Math.ceil(width / 8)
      if (i + 1 + significant + 4 > d.length) return undefined
      const dest = new Uint8Array(4)
      dest.set(d.subarray(i + 1, i + 1 + significant))
      out.push({ destination: `${bytesToIp(dest, 0)}/${width}`, router: bytesToIp(d, i + 1 + significant) })
      i += 1 + significant + 4
    }
    return out.length > 0 ? out : undefined
  },
  (v) =>
    concat(
      v.map((r) => {
        const [addr = '0.0.0.0', w = '0'] = r.destination.split('/')
        const width = Math.min(32, Math.max(0, Number.parseInt(w, 10) || 0))
        return concat([
          Uint8Array.of(width),
          ipToBytes(addr).subarray(0, Math.ceil(width / 8)),
          ipToBytes(r.router),
        ])
      }),
    ),
)
/** Sub-options that can be framed: codes 1–254 with at most 255 bytes (encodeSubOptions skips the rest). */
const framable = (s: RawOption) => s.code > 0 && s.code < 255 && s.data.length <= 255
const subOptions: Layout<RawOption[]> = {
  decode: (b, at, len) => {
    const r = decodeSubOptions(b.subarray(at, at + len))
    return r === undefined || r.length === 0 ? undefined : r
  },
  size: (v) => {
    let n = 0
    for (const s of v) if (framable(s)) n += 2 + s.data.length
    return n
  },
  write: (out, at, v) => {
    for (const s of v) {
      if (!framable(s)) continue
      out[at] = s.code
      out[at + 1] = s.data.length
      out.set(s.data, at + 2)
      at += 2 + s.data.length
    }
  },
}
const domainList: Layout<string[]> = viaBytes(decodeDomainList, encodeDomainList)

/** One row of the table, typed by the field it fills. */
export interface OptionSpec {
  code: number
  key: Exclude<keyof DhcpOptions, 'raw'>
  /** Sets the typed field from the `len` bytes at `at`; false when they don't fit the layout. */
  decodeInto(target: DhcpOptions, b: Uint8Array, at: number, len: number): boolean
  /** The option's size on the wire (before any RFC 3396 split); 0 when the field is unset or empty. */
  sizeFrom(source: DhcpOptions): number
  /** Writes the field's sizeFrom(source) bytes at `at`. */
  writeFrom(source: DhcpOptions, out: Uint8Array, at: number): void
  /** The option's bytes, or undefined when the field is unset. */
  encodeFrom(source: DhcpOptions): Uint8Array | undefined
}

function spec<K extends Exclude<keyof DhcpOptions, 'raw'>>(
  code: number,
  key: K,
  layout: Layout<NonNullable<DhcpOptions[K]>>,
): OptionSpec {
  type V = NonNullable<DhcpOptions[K]>
  return {
    code,
    key,
    decodeInto(target, b, at, len) {
      const v = layout.decode(b, at, len)
      if (v === undefined) return false
      target[key] = v
      return true
    },
    sizeFrom(source) {
      const v = source[key]
      return v === undefined ? 0 : layout.size(v as V)
    },
    writeFrom(source, out, at) {
      layout.write(out, at, source[key] as V)
    },
    encodeFrom(source) {
      const v = source[key]
      if (v === undefined) return undefined
      const out = new Uint8Array(layout.size(v as V))
      layout.write(out, 0, v as V)
      return out
    },
  }
}

/** Every typed option, in code order. */
export const OPTION_TABLE: readonly OptionSpec[] = [
  spec(1, 'subnetMask', ip),
  spec(3, 'routers', ipList),
  spec(6, 'dnsServers', ipList),
  spec(12, 'hostName', text),
  spec(15, 'domainName', text),
  spec(28, 'broadcastAddress', ip),
  spec(42, 'ntpServers', ipList),
  spec(43, 'vendorSpecific', bytes),
  spec(50, 'requestedIp', ip),
  spec(51, 'leaseTime', u32),
  spec(53, 'messageType', messageType),
  spec(54, 'serverId', ip),
  spec(55, 'parameterRequestList', u8List),
  spec(56, 'message', text),
  spec(57, 'maxMessageSize', u16),
  spec(58, 'renewalTime', u32),
  spec(59, 'rebindingTime', u32),
  spec(60, 'vendorClassId', text),
  spec(61, 'clientId', clientId),
  spec(66, 'tftpServerName', text),
  spec(67, 'bootFileName', text),
  spec(77, 'userClass', userClass),
  spec(82, 'relayAgentInfo', bytes),
  spec(93, 'clientArch', u16List),
  spec(94, 'clientNdi', clientNdi),
  spec(97, 'clientMachineId', machineId),
  spec(119, 'domainSearch', domainList),
  spec(121, 'classlessRoutes', classlessRoutes),
  spec(175, 'ipxe', subOptions),
]

export const OPTION_BY_CODE: ReadonlyMap<number, OptionSpec> = new Map(OPTION_TABLE.map((s) => [s.code, s]))
export const OPTION_BY_KEY: ReadonlyMap<string, OptionSpec> = new Map(OPTION_TABLE.map((s) => [s.key, s]))

/**
 * Decodes encapsulated sub-options (options 43 and 175, and 82's sub-options): TLVs with pad (0) and
 * end (255) as in RFC 2132 §2. Undefined when a sub-option runs past the end.
 */
export function decodeSubOptions(d: Uint8Array): RawOption[] | undefined {
  const out: RawOption[] = []
  let i = 0
  while (i < d.length) {
    const code = d[i]!
    if (code === 0) {
      i++
      continue
    }
    if (code === 255) break
    if (i + 1 >= d.length) return undefined
    const len = d[i + 1]!
    if (i + 2 + len > d.length) return undefined
    out.push({ code, data: new Uint8Array(d.subarray(i + 2, i + 2 + len)) })
    i += 2 + len
  }
  return out
}

/** Sub-options as TLVs; codes 0 and 255 and data over 255 bytes cannot be framed and are skipped. */
export function encodeSubOptions(list: readonly RawOption[]): Uint8Array {
  return concat(
    list
      .filter((s) => s.code > 0 && s.code < 255 && s.data.length <= 255)
      .map((s) => concat([Uint8Array.of(s.code, s.data.length), s.data])),
  )
}

/** iPXE feature flags, sub-options 0x10–0x29 of option 175 (iPXE include/ipxe/features.h). */
export const IPXE_FEATURES: Readonly<Record<number, string>> = {
  0x10: 'pxe-ext',
  0x11: 'iscsi',
  0x12: 'aoe',
  0x13: 'http',
  0x14: 'https',
  0x15: 'tftp',
  0x16: 'ftp',
  0x17: 'dns',
  0x18: 'bzimage',
  0x19: 'multiboot',
  0x1a: 'slam',
  0x1b: 'srp',
  0x20: 'nbi',
  0x21: 'pxe',
  0x22: 'elf',
  0x23: 'comboot',
  0x24: 'efi',
  0x25: 'fcoe',
  0x26: 'vlan',
  0x27: 'menu',
  0x28: 'sdi',
  0x29: 'nfs',
}
/** Option 175 sub-option 176: "don't wait for ProxyDHCP" (iPXE include/ipxe/dhcp.h DHCP_EB_NO_PXEDHCP). */
export const IPXE_NO_PXEDHCP = 176
/** Option 175 sub-option 177: network device bus id (byte 0 bus type: 1 PCI, then vendor and device ids). */
export const IPXE_BUS_ID = 177

export interface IpxeInfo {
  /** Feature names iPXE announced (sub-options 0x10–0x7f), e.g. `http`, `https`, `efi`. Unknown codes as `feature-0xNN`. */
  features: string[]
  /** Sub-option 176 value, when present. */
  noPxeDhcp?: number
  /** Sub-option 177 (`{ busType: 1, vendor, device }` for PCI). */
  busId?: { busType: number; vendor?: number; device?: number }
}

/** What iPXE's option 175 says about it. */
export function describeIpxe(sub: readonly RawOption[]): IpxeInfo {
  const info: IpxeInfo = { features: [] }
  for (const s of sub) {
    if (s.code >= 0x10 && s.code <= 0x7f) {
      info.features.push(IPXE_FEATURES[s.code] ?? `feature-0x${s.code.toString(16).padStart(2, '0')}`)
    } else if (s.code === IPXE_NO_PXEDHCP && s.data.length >= 1) {
      info.noPxeDhcp = s.data[0]!
    } else if (s.code === IPXE_BUS_ID && s.data.length >= 1) {
      info.busId =
        s.data.length >= 5
          ? {
              busType: s.data[0]!,
              vendor: (s.data[1]! << 8) | s.data[2]!,
              device: (s.data[3]! << 8) | s.data[4]!,
            }
          : { busType: s.data[0]! }
    }
  }
  return info
}

/**
 * Option 97's GUID as the text `dmidecode` and `-uuid` show. On the wire the first three fields are
 * little-endian (SMBIOS 2.6+ / EFI GUID byte order): QEMU `-uuid 00112233-4455-6677-8899-…` arrives
 * from both iPXE and EDK2 as 33 22 11 00 55 44 77 66 88 99 … (golden fixtures). Undefined when the
 * option is not type 0 with 16 bytes.
 */
export function machineUuid(id: ClientMachineId | undefined): string | undefined {
  if (!id || id.type !== 0 || id.id.length !== 16) return undefined
  const b = id.id
  const hex = (from: number, to: number, reverse = false) => {
    const part = Array.from(b.subarray(from, to), (x) => x.toString(16).padStart(2, '0'))
    return (reverse ? part.reverse() : part).join('')
  }
  return `${hex(0, 4, true)}-${hex(4, 6, true)}-${hex(6, 8, true)}-${hex(8, 10)}-${hex(10, 16)}`
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}
