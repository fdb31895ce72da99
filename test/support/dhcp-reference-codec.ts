/**
 * The DHCP codec as it was before the allocation-light rewrite (electron/core/boot/dhcp/packet.ts and
 * options.ts at commit cf2d737): readable, one typed array per option, one string per address. Kept as the
 * oracle the fast codec must agree with exactly, on every input (test/unit/dhcp-codec-reference.test.ts).
 * Not used by the product.
 */
import { err, ok, type Result } from '../../electron/core/util/result'
import { bytesToIp, bytesToText, ipToBytes, textToBytes, writeIp } from '../../electron/core/boot/dhcp/bytes'
import { decodeDomainList, encodeDomainList } from '../../electron/core/boot/dhcp/domain-names'
import {
  type ClasslessRoute,
  type ClientId,
  type ClientMachineId,
  type ClientNdi,
  type DhcpMessageType,
  type DhcpOptions,
  type RawOption,
} from '../../electron/core/boot/dhcp/options'
import { BootOp, MAGIC_COOKIE, type DhcpPacket } from '../../electron/core/boot/dhcp/packet'

/** RFC 1542 §3.1.2 / RFC 2131 §4.1: a reply must be at least a BOOTP-sized 300 bytes. */
const BOOTP_MIN_SIZE = 300
/** RFC 2131 §2: every DHCP host accepts 576-byte IP datagrams (548 bytes of DHCP after IP + UDP). */
const DHCP_MIN_MAX_SIZE = 576
const IP_UDP_HEADERS = 28
const HEADER_SIZE = 236 // op .. file, before the cookie
const OPTIONS_AT = 240
const SNAME_AT = 44
const SNAME_SIZE = 64
const FILE_AT = 108
const FILE_SIZE = 128
/** Largest UDP payload over IPv4; anything bigger was not a datagram we received. */
const MAX_PACKET = 65507

const OPT_PAD = 0
const OPT_END = 255
const OPT_OVERLOAD = 52

/** How one option's bytes map to a typed value. `decode` returns undefined when the bytes don't fit. */
interface Layout<T> {
  decode(data: Uint8Array): T | undefined
  encode(value: T): Uint8Array
}

const ip: Layout<string> = {
  decode: (d) => (d.length === 4 ? bytesToIp(d, 0) : undefined),
  encode: (v) => ipToBytes(v),
}
const ipList: Layout<string[]> = {
  decode: (d) => {
    if (d.length === 0 || d.length % 4 !== 0) return undefined
    const out: string[] = []
    for (let i = 0; i < d.length; i += 4) out.push(bytesToIp(d, i))
    return out
  },
  encode: (v) => concat(v.map(ipToBytes)),
}
const u16: Layout<number> = {
  decode: (d) => (d.length === 2 ? (d[0]! << 8) | d[1]! : undefined),
  encode: (v) => Uint8Array.of((v >>> 8) & 0xff, v & 0xff),
}
const u32: Layout<number> = {
  decode: (d) => (d.length === 4 ? ((d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!) >>> 0 : undefined),
  encode: (v) => Uint8Array.of((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff),
}
const text: Layout<string> = {
  decode: (d) => {
    let end = d.length
    while (end > 0 && d[end - 1] === 0) end--
    return bytesToText(d.subarray(0, end))
  },
  encode: (v) => textToBytes(v),
}
const bytes: Layout<Uint8Array> = {
  decode: (d) => new Uint8Array(d),
  encode: (v) => new Uint8Array(v),
}
const u8List: Layout<number[]> = {
  decode: (d) => (d.length === 0 ? undefined : Array.from(d)),
  encode: (v) => Uint8Array.from(v, (n) => n & 0xff),
}
const u16List: Layout<number[]> = {
  decode: (d) => {
    if (d.length === 0 || d.length % 2 !== 0) return undefined
    const out: number[] = []
    for (let i = 0; i < d.length; i += 2) out.push((d[i]! << 8) | d[i + 1]!)
    return out
  },
  encode: (v) => concat(v.map((n) => u16.encode(n))),
}
const messageType: Layout<DhcpMessageType> = {
  decode: (d) => (d.length === 1 && d[0]! >= 1 && d[0]! <= 18 ? (d[0] as DhcpMessageType) : undefined),
  encode: (v) => Uint8Array.of(v),
}
const clientId: Layout<ClientId> = {
  // RFC 2132 §9.14: minimum length 2 (type + at least one byte).
  decode: (d) => (d.length >= 2 ? { type: d[0]!, data: new Uint8Array(d.subarray(1)) } : undefined),
  encode: (v) => concat([Uint8Array.of(v.type & 0xff), v.data]),
}
const clientNdi: Layout<ClientNdi> = {
  decode: (d) => (d.length === 3 ? { type: d[0]!, major: d[1]!, minor: d[2]! } : undefined),
  encode: (v) => Uint8Array.of(v.type & 0xff, v.major & 0xff, v.minor & 0xff),
}
const machineId: Layout<ClientMachineId> = {
  decode: (d) => (d.length >= 1 ? { type: d[0]!, id: new Uint8Array(d.subarray(1)) } : undefined),
  encode: (v) => concat([Uint8Array.of(v.type & 0xff), v.id]),
}
const userClass: Layout<string[]> = {
  decode: (d) => {
    if (d.length === 0) return undefined
    // RFC 3004 §4: a list of (length, data) with every length >= 1 that exactly fills the option.
    const framed: string[] = []
    let i = 0
    while (i < d.length) {
      const len = d[i]!
      if (len === 0 || i + 1 + len > d.length) break
      framed.push(bytesToText(d.subarray(i + 1, i + 1 + len)))
      i += 1 + len
    }
    return i === d.length ? framed : [text.decode(d)!]
  },
  encode: (v) =>
    concat(v.map((s) => textToBytes(s).subarray(0, 255)).flatMap((b) => [Uint8Array.of(b.length), b])),
}
const classlessRoutes: Layout<ClasslessRoute[]> = {
  decode: (d) => {
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
  encode: (v) =>
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
}
const subOptions: Layout<RawOption[]> = {
  decode: (d) => {
    const r = decodeSubOptions(d)
    return r === undefined || r.length === 0 ? undefined : r
  },
  encode: (v) => encodeSubOptions(v),
}
const domainList: Layout<string[]> = { decode: decodeDomainList, encode: encodeDomainList }

/** One row of the table, typed by the field it fills. */
interface OptionSpec {
  code: number
  key: Exclude<keyof DhcpOptions, 'raw'>
  /** Sets the typed field from the bytes; false when the bytes don't fit the layout. */
  decodeInto(target: DhcpOptions, data: Uint8Array): boolean
  /** The option's bytes, or undefined when the field is unset. */
  encodeFrom(source: DhcpOptions): Uint8Array | undefined
}

function spec<K extends Exclude<keyof DhcpOptions, 'raw'>>(
  code: number,
  key: K,
  layout: Layout<NonNullable<DhcpOptions[K]>>,
): OptionSpec {
  return {
    code,
    key,
    decodeInto(target, data) {
      const v = layout.decode(data)
      if (v === undefined) return false
      target[key] = v
      return true
    },
    encodeFrom(source) {
      const v = source[key]
      return v === undefined ? undefined : layout.encode(v as NonNullable<DhcpOptions[K]>)
    },
  }
}

/** Every typed option, in code order. */
const OPTION_TABLE: readonly OptionSpec[] = [
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

const OPTION_BY_CODE: ReadonlyMap<number, OptionSpec> = new Map(OPTION_TABLE.map((s) => [s.code, s]))

function decodeSubOptions(d: Uint8Array): RawOption[] | undefined {
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
function encodeSubOptions(list: readonly RawOption[]): Uint8Array {
  return concat(
    list
      .filter((s) => s.code > 0 && s.code < 255 && s.data.length <= 255)
      .map((s) => concat([Uint8Array.of(s.code, s.data.length), s.data])),
  )
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
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

/** Decodes one DHCP message (the UDP payload). Never throws. */
export function referenceDecode(buf: Uint8Array): Result<DhcpPacket> {
  if (buf.length < HEADER_SIZE)
    return err(`DHCP packet truncated: ${buf.length} bytes, the BOOTP header alone is ${HEADER_SIZE}`)
  if (buf.length > MAX_PACKET)
    return err(`DHCP packet of ${buf.length} bytes is larger than any UDP datagram`)
  if (buf.length < OPTIONS_AT)
    return err(`DHCP packet truncated: ${buf.length} bytes, no room for the magic cookie`)
  const op = buf[0]!
  if (op !== BootOp.Request && op !== BootOp.Reply)
    return err(`DHCP packet op is ${op}: neither BOOTREQUEST (1) nor BOOTREPLY (2)`)
  const hlen = buf[2]!
  if (hlen > 16) return err(`DHCP packet hlen ${hlen} exceeds the 16-byte chaddr field`)
  const cookie = readU32(buf, 236)
  if (cookie !== MAGIC_COOKIE)
    return err(
      `DHCP packet has magic cookie 0x${cookie.toString(16).padStart(8, '0')}, expected 0x63825363 (RFC 2131 §3)`,
    )

  // RFC 3396 §5: the aggregate buffer is options, then file, then sname; each instance of a code is
  // appended in that order.
  const fragments = new Map<number, Uint8Array[]>()
  const order: number[] = []
  const main = scanOptions(buf.subarray(OPTIONS_AT), 'options', fragments, order)
  if (!main.ok) return main
  let overload = 0
  const ov = fragments.get(OPT_OVERLOAD)
  if (ov) {
    const v = concat(ov)
    if (v.length !== 1 || v[0]! < 1 || v[0]! > 3)
      return err(
        `DHCP option 52 (overload) must be one byte 1, 2 or 3; got ${v.length} byte(s) [${Array.from(v).join(',')}]`,
      )
    overload = v[0]!
    fragments.delete(OPT_OVERLOAD)
    order.splice(order.indexOf(OPT_OVERLOAD), 1)
  }
  if (overload & 1) {
    const r = scanOptions(buf.subarray(FILE_AT, FILE_AT + FILE_SIZE), 'file', fragments, order)
    if (!r.ok) return r
  }
  if (overload & 2) {
    const r = scanOptions(buf.subarray(SNAME_AT, SNAME_AT + SNAME_SIZE), 'sname', fragments, order)
    if (!r.ok) return r
  }

  const options: DhcpOptions = { raw: [] }
  for (const code of order) {
    const data = concat(fragments.get(code)!)
    const spec = OPTION_BY_CODE.get(code)
    if (!spec || !spec.decodeInto(options, data)) options.raw!.push({ code, data })
  }

  return ok({
    op,
    htype: buf[1]!,
    hlen,
    hops: buf[3]!,
    xid: readU32(buf, 4),
    secs: (buf[8]! << 8) | buf[9]!,
    flags: (buf[10]! << 8) | buf[11]!,
    ciaddr: bytesToIp(buf, 12),
    yiaddr: bytesToIp(buf, 16),
    siaddr: bytesToIp(buf, 20),
    giaddr: bytesToIp(buf, 24),
    chaddr: new Uint8Array(buf.subarray(28, 28 + hlen)),
    sname: overload & 2 ? '' : cString(buf.subarray(SNAME_AT, SNAME_AT + SNAME_SIZE)),
    file: overload & 1 ? '' : cString(buf.subarray(FILE_AT, FILE_AT + FILE_SIZE)),
    options,
  })
}

/**
 * Walks one option area. Pad is skipped; end stops the area; reaching the area's end without an end
 * option is accepted (some clients omit it). Work is linear in the area's size.
 */
function scanOptions(
  area: Uint8Array,
  where: 'options' | 'file' | 'sname',
  fragments: Map<number, Uint8Array[]>,
  order: number[],
): Result<null> {
  let i = 0
  while (i < area.length) {
    const code = area[i]!
    if (code === OPT_PAD) {
      i++
      continue
    }
    if (code === OPT_END) return ok(null)
    if (i + 1 >= area.length)
      return err(`DHCP option ${code} in the ${where} field has no length byte (offset ${i})`)
    const len = area[i + 1]!
    if (i + 2 + len > area.length)
      return err(
        `DHCP option ${code} in the ${where} field claims ${len} bytes at offset ${i} but only ${area.length - i - 2} remain`,
      )
    if (code === OPT_OVERLOAD && where !== 'options')
      return err(
        `DHCP option 52 (overload) inside the overloaded ${where} field would refer to itself (RFC 2132 §9.3)`,
      )
    let list = fragments.get(code)
    if (!list) {
      list = []
      fragments.set(code, list)
      order.push(code)
    }
    list.push(area.subarray(i + 2, i + 2 + len))
    i += 2 + len
  }
  return ok(null)
}

interface EncodeOptions {
  /**
   * The client's option 57 (maximum DHCP message size). Read as the whole IP datagram, the conservative
   * reading also used by ISC dhcpd: the DHCP payload gets this minus 28 bytes of IP and UDP headers.
   * Values below 576, and an absent value, mean 576 (RFC 2131 §2).
   */
  maxSize?: number
}

/** Options we never drop to fit (53 type, 54 server id, 51 lease, 56 NAK text, 82 relay info must be echoed). */
const NEVER_DROP = new Set([53, 54, 51, 56, 82])
/**
 * When a reply does not fit the client's size, options go in this order: first every raw option
 * (highest code first), then these, last whatever typed option remains (highest code first). The
 * list keeps to the end what a PXE client cannot boot without: 67/66 boot file and server, 175 for
 * iPXE, 60 (HTTPClient echo), 1 netmask.
 */
const DROP_ORDER: readonly number[] = [119, 121, 42, 28, 15, 12, 59, 58, 6, 3, 43, 97, 1, 60, 175, 66, 67]

/**
 * Encodes a message. Total: it never throws. Options 53 and 54 go first, the rest in code order; an
 * option over 255 bytes is split into consecutive instances (RFC 3396 §7); whole options are dropped
 * (DROP_ORDER) rather than truncated when the message would exceed the client's size; the result is
 * padded to 300 bytes (BOOTP minimum). A header `file` over 127 bytes (or `sname` over 63) does not fit
 * with its NUL: the field is left empty and the name goes in option 67 (66) unless that is set.
 * We never overload sname/file on encode (clients that read option 67 but not overloads exist).
 */
export function referenceEncode(p: DhcpPacket, opts: EncodeOptions = {}): Uint8Array {
  const options: DhcpOptions = { ...p.options }
  const file = textToBytes(p.file)
  const sname = textToBytes(p.sname)
  if (file.length >= FILE_SIZE && options.bootFileName === undefined) options.bootFileName = p.file
  if (sname.length >= SNAME_SIZE && options.tftpServerName === undefined) options.tftpServerName = p.sname

  const items = optionItems(options)
  const limit =
    Math.max(DHCP_MIN_MAX_SIZE, Math.min(opts.maxSize ?? DHCP_MIN_MAX_SIZE, 65535)) - IP_UDP_HEADERS
  let size = OPTIONS_AT + 1 + items.reduce((n, it) => n + framedSize(it.data.length), 0)
  for (const code of size <= limit ? [] : dropSequence(items)) {
    if (size <= limit) break
    const at = items.findIndex((it) => it.code === code)
    size -= framedSize(items[at]!.data.length)
    items.splice(at, 1)
  }

  const out = new Uint8Array(Math.max(BOOTP_MIN_SIZE, size))
  out[0] = p.op & 0xff
  out[1] = p.htype & 0xff
  out[2] = Math.min(p.hlen, 16) & 0xff
  out[3] = p.hops & 0xff
  writeU32(out, 4, p.xid)
  out[8] = (p.secs >>> 8) & 0xff
  out[9] = p.secs & 0xff
  out[10] = (p.flags >>> 8) & 0xff
  out[11] = p.flags & 0xff
  writeIp(out, 12, p.ciaddr)
  writeIp(out, 16, p.yiaddr)
  writeIp(out, 20, p.siaddr)
  writeIp(out, 24, p.giaddr)
  out.set(p.chaddr.subarray(0, 16), 28)
  if (sname.length < SNAME_SIZE) out.set(sname, SNAME_AT)
  if (file.length < FILE_SIZE) out.set(file, FILE_AT)
  writeU32(out, 236, MAGIC_COOKIE)
  let at = OPTIONS_AT
  for (const it of items) {
    // RFC 3396 §7: split into 255-byte instances, in order; a zero-length option is one empty instance.
    let from = 0
    do {
      const chunk = it.data.subarray(from, from + 255)
      out[at] = it.code
      out[at + 1] = chunk.length
      out.set(chunk, at + 2)
      at += 2 + chunk.length
      from += 255
    } while (from < it.data.length)
  }
  out[at] = OPT_END
  return out
}

/** Typed fields (table wins over a raw option of the same code), then raw ones; 53 and 54 first. */
function optionItems(options: DhcpOptions): RawOption[] {
  const items: RawOption[] = []
  const seen = new Set<number>()
  // Only the fields that are set (a reply has ~12 of the table's ~60): the table lookup per key is cheaper.
  for (const key of Object.keys(options)) {
    const spec = OPTION_BY_KEY_REF.get(key)
    if (spec === undefined) continue
    const data = spec.encodeFrom(options)
    // Typed options all have a minimum length of 1 (RFC 2132 §2); an empty list or string is "unset".
    if (data === undefined || data.length === 0) continue
    items.push({ code: spec.code, data })
    seen.add(spec.code)
  }
  for (const r of options.raw ?? []) {
    // Pad, end and overload are structure, not content; a code can only appear once.
    if (r.code <= 0 || r.code >= 255 || r.code === OPT_OVERLOAD || seen.has(r.code)) continue
    items.push({ code: r.code, data: r.data })
    seen.add(r.code)
  }
  const rank = (c: number) => (c === 53 ? 0 : c === 54 ? 1 : 2)
  return items.sort((a, b) => rank(a.code) - rank(b.code) || a.code - b.code)
}

const TYPED_CODES: ReadonlySet<number> = new Set(OPTION_TABLE.map((s) => s.code))
const OPTION_BY_KEY_REF: ReadonlyMap<string, OptionSpec> = new Map(OPTION_TABLE.map((s) => [s.key, s]))

function dropSequence(items: readonly RawOption[]): number[] {
  const typed = TYPED_CODES
  const present = new Set(items.map((it) => it.code))
  const raw = items.filter((it) => !typed.has(it.code)).map((it) => it.code)
  const listed = DROP_ORDER.filter((c) => present.has(c))
  const rest = items.map((it) => it.code).filter((c) => typed.has(c) && !DROP_ORDER.includes(c))
  return [...raw.sort((a, b) => b - a), ...listed, ...rest.sort((a, b) => b - a)].filter(
    (c) => !NEVER_DROP.has(c),
  )
}

function framedSize(len: number): number {
  return len === 0 ? 2 : len + 2 * Math.ceil(len / 255)
}

function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0
}

function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 24) & 0xff
  b[at + 1] = (v >>> 16) & 0xff
  b[at + 2] = (v >>> 8) & 0xff
  b[at + 3] = v & 0xff
}

function cString(b: Uint8Array): string {
  const nul = b.indexOf(0)
  return bytesToText(nul < 0 ? b : b.subarray(0, nul))
}
