/**
 * DHCPv4 / BOOTP packet codec: the fixed header of RFC 2131 §2 (from BOOTP, RFC 951), the magic cookie
 * and the options of RFC 2132, option overload (52, RFC 2132 §9.3) and long options split across
 * several instances (RFC 3396). `decodePacket` never throws: bad input from the wire is an error
 * result saying what was wrong and where. `encodePacket` is total.
 */
import { err, ok, type Result } from '../../util/result'
import { bytesToIp, textToBytes, writeIp } from './bytes'
import { OPTION_BY_CODE, OPTION_TABLE, type DhcpOptions, type OptionSpec, type RawOption } from './options'

/** op field, RFC 951. */
export const BootOp = { Request: 1, Reply: 2 } as const

/** flags field, RFC 2131 §2 figure 2: the leftmost bit asks the server to broadcast its reply. */
export const BROADCAST_FLAG = 0x8000

export const MAGIC_COOKIE = 0x63825363 // RFC 2131 §3: 99.130.83.99
export const DHCP_SERVER_PORT = 67
export const DHCP_CLIENT_PORT = 68
/** PXE spec 2.1 §2.2.4: where a PXE client sends its boot-server REQUEST after a ProxyDHCP offer. */
export const PXE_PROXY_PORT = 4011

/** RFC 1542 §3.1.2 / RFC 2131 §4.1: a reply must be at least a BOOTP-sized 300 bytes. */
export const BOOTP_MIN_SIZE = 300
/** RFC 2131 §2: every DHCP host accepts 576-byte IP datagrams (548 bytes of DHCP after IP + UDP). */
export const DHCP_MIN_MAX_SIZE = 576
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

export interface DhcpPacket {
  /** 1 BOOTREQUEST (client to server), 2 BOOTREPLY */
  op: number
  /** hardware type, 1 = Ethernet (RFC 1700 "Hardware Type") */
  htype: number
  /** hardware address length, 6 for Ethernet */
  hlen: number
  /** relay hops, RFC 1542 §4.1.1 */
  hops: number
  /** transaction id the client chose; a reply carries the same one */
  xid: number
  /** seconds since the client began acquiring */
  secs: number
  /** bit 15 is BROADCAST_FLAG; the rest must be zero (RFC 2131 §2) */
  flags: number
  /** client's address, only when it is BOUND, RENEWING, REBINDING or INFORMing (RFC 2131 table 5) */
  ciaddr: string
  /** "your" address: what the server gives the client */
  yiaddr: string
  /** next server to use in bootstrap (TFTP), RFC 2131 §2 */
  siaddr: string
  /** relay agent address (RFC 1542) */
  giaddr: string
  /** client hardware address: the first `hlen` bytes (at most 16) of the chaddr field */
  chaddr: Uint8Array
  /** server host name; empty when absent or when it carried options (overload 2 or 3) */
  sname: string
  /** boot file name; empty when absent or when it carried options (overload 1 or 3) */
  file: string
  options: DhcpOptions
}

/** Client MAC in `aa:bb:cc:dd:ee:ff` form for Ethernet (htype 1, hlen 6), else undefined. */
export function clientMac(p: Pick<DhcpPacket, 'htype' | 'hlen' | 'chaddr'>): string | undefined {
  if (p.htype !== 1 || p.hlen !== 6 || p.chaddr.length < 6) return undefined
  const c = p.chaddr
  return `${HEX[c[0]!]}:${HEX[c[1]!]}:${HEX[c[2]!]}:${HEX[c[3]!]}:${HEX[c[4]!]}:${HEX[c[5]!]}`
}
/** Two lowercase hex digits per byte value (clientMac runs several times per packet). */
const HEX: readonly string[] = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'))

/**
 * Decodes one DHCP message (the UDP payload). Never throws. Allocation-light, as it runs once per packet:
 * options are located first (code, offset, length into `buf`) and each decoded straight from the packet;
 * only an option split into several instances (RFC 3396) is copied together first.
 */
export function decodePacket(buf: Uint8Array): Result<DhcpPacket> {
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
  // appended in that order. `spans` holds (code, offset, length) triples in that order.
  const spans: number[] = []
  const main = scanOptions(buf, OPTIONS_AT, buf.length, 'options', spans)
  if (main !== null) return err(main)
  let overload = 0
  let overloadBytes: number[] | null = null
  for (let i = 0; i < spans.length; i += 3) {
    if (spans[i] !== OPT_OVERLOAD) continue
    overloadBytes ??= []
    for (let k = 0; k < spans[i + 2]!; k++) overloadBytes.push(buf[spans[i + 1]! + k]!)
    spans[i] = -1 // structure, not content: not an option of the message
  }
  if (overloadBytes !== null) {
    const v = overloadBytes
    if (v.length !== 1 || v[0]! < 1 || v[0]! > 3)
      return err(
        `DHCP option 52 (overload) must be one byte 1, 2 or 3; got ${v.length} byte(s) [${v.join(',')}]`,
      )
    overload = v[0]!
  }
  if (overload & 1) {
    const r = scanOptions(buf, FILE_AT, FILE_AT + FILE_SIZE, 'file', spans)
    if (r !== null) return err(r)
  }
  if (overload & 2) {
    const r = scanOptions(buf, SNAME_AT, SNAME_AT + SNAME_SIZE, 'sname', spans)
    if (r !== null) return err(r)
  }

  // Codes seen more than once (a bit per code): those, and only those, are concatenated before decoding.
  const seen = new Uint32Array(8)
  const repeated = new Uint32Array(8)
  for (let i = 0; i < spans.length; i += 3) {
    const c = spans[i]!
    if (c < 0) continue
    const bit = 1 << (c & 31)
    if (seen[c >>> 5]! & bit) repeated[c >>> 5]! |= bit
    else seen[c >>> 5]! |= bit
  }
  const options: DhcpOptions = { raw: [] }
  for (let i = 0; i < spans.length; i += 3) {
    const code = spans[i]!
    if (code < 0) continue
    let data = buf
    let at = spans[i + 1]!
    let len = spans[i + 2]!
    if (repeated[code >>> 5]! & (1 << (code & 31))) {
      data = joinInstances(buf, spans, i)
      at = 0
      len = data.length
    }
    const spec = OPTION_BY_CODE.get(code)
    if (!spec || !spec.decodeInto(options, data, at, len))
      options.raw!.push({ code, data: data === buf ? copyBytes(buf, at, len) : data })
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
    chaddr: copyBytes(buf, 28, hlen),
    sname: overload & 2 ? '' : cString(buf, SNAME_AT, SNAME_SIZE),
    file: overload & 1 ? '' : cString(buf, FILE_AT, FILE_SIZE),
    options,
  })
}

/**
 * Every instance of the code at spans[first] concatenated (RFC 3396), and those spans marked done. Work is
 * linear in the number of spans per repeated code, so at most 254 passes over them.
 */
function joinInstances(buf: Uint8Array, spans: number[], first: number): Uint8Array {
  const code = spans[first]!
  let n = 0
  for (let i = first; i < spans.length; i += 3) if (spans[i] === code) n += spans[i + 2]!
  const out = new Uint8Array(n)
  let to = 0
  for (let i = first; i < spans.length; i += 3) {
    if (spans[i] !== code) continue
    out.set(buf.subarray(spans[i + 1]!, spans[i + 1]! + spans[i + 2]!), to)
    to += spans[i + 2]!
    if (i !== first) spans[i] = -1
  }
  return out
}

function copyBytes(b: Uint8Array, at: number, len: number): Uint8Array {
  const out = new Uint8Array(len)
  for (let i = 0; i < len; i++) out[i] = b[at + i]!
  return out
}

/**
 * Walks one option area, `buf[from..to)`, appending (code, offset, length) per option. Pad is skipped; end
 * stops the area; reaching the area's end without an end option is accepted (some clients omit it). Work
 * is linear in the area's size. Returns what is wrong (offsets relative to the area), or null.
 */
function scanOptions(
  buf: Uint8Array,
  from: number,
  to: number,
  where: 'options' | 'file' | 'sname',
  spans: number[],
): string | null {
  let i = from
  while (i < to) {
    const code = buf[i]!
    if (code === OPT_PAD) {
      i++
      continue
    }
    if (code === OPT_END) return null
    if (i + 1 >= to)
      return `DHCP option ${code} in the ${where} field has no length byte (offset ${i - from})`
    const len = buf[i + 1]!
    if (i + 2 + len > to)
      return `DHCP option ${code} in the ${where} field claims ${len} bytes at offset ${i - from} but only ${to - i - 2} remain`
    if (code === OPT_OVERLOAD && where !== 'options')
      return `DHCP option 52 (overload) inside the overloaded ${where} field would refer to itself (RFC 2132 §9.3)`
    spans.push(code, i + 2, len)
    i += 2 + len
  }
  return null
}

export interface EncodeOptions {
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
export const DROP_ORDER: readonly number[] = [
  119, 121, 42, 28, 15, 12, 59, 58, 6, 3, 43, 97, 1, 60, 175, 66, 67,
]

/**
 * Encodes a message. Total: it never throws. Options 53 and 54 go first, the rest in code order; an
 * option over 255 bytes is split into consecutive instances (RFC 3396 §7); whole options are dropped
 * (DROP_ORDER) rather than truncated when the message would exceed the client's size; the result is
 * padded to 300 bytes (BOOTP minimum). A header `file` over 127 bytes (or `sname` over 63) does not fit
 * with its NUL: the field is left empty and the name goes in option 67 (66) unless that is set.
 * We never overload sname/file on encode (clients that read option 67 but not overloads exist).
 */
export function encodePacket(p: DhcpPacket, opts: EncodeOptions = {}): Uint8Array {
  return encodeCommon(p, opts) ?? encodeAny(p, opts)
}

/**
 * The common reply, written straight into one buffer: typed options only, none over 255 bytes, header
 * names that fit their fields, everything within the client's size. Undefined otherwise (encodeAny then
 * splits, drops and merges raw options). The bytes are exactly encodeAny's (test/unit/dhcp-codec-reference).
 */
function encodeCommon(p: DhcpPacket, opts: EncodeOptions): Uint8Array | undefined {
  const o = p.options
  if ((o.raw !== undefined && o.raw.length > 0) || p.file.length >= FILE_SIZE || p.sname.length >= SNAME_SIZE)
    return undefined
  const limit = sizeLimit(opts)
  let size = OPTIONS_AT + 1
  const sizes: number[] = []
  for (const spec of ENCODE_ORDER) {
    const n = spec.sizeFrom(o)
    if (n > 255) return undefined
    if (n > 0) size += 2 + n
    sizes.push(n)
  }
  if (size > limit) return undefined

  // A slice of Node's pool rather than a buffer of its own (far cheaper per packet); never reused by Node
  // while we or a pending send hold it. Zeroed: the header has padding and the reply BOOTP padding.
  const out = Buffer.allocUnsafe(Math.max(BOOTP_MIN_SIZE, size)).fill(0)
  writeHeader(out, p)
  writeLatin1(out, SNAME_AT, p.sname)
  writeLatin1(out, FILE_AT, p.file)
  let at = OPTIONS_AT
  for (let i = 0; i < ENCODE_ORDER.length; i++) {
    const n = sizes[i]!
    if (n === 0) continue
    const spec = ENCODE_ORDER[i]!
    out[at] = spec.code
    out[at + 1] = n
    spec.writeFrom(o, out, at + 2)
    at += 2 + n
  }
  out[at] = OPT_END
  return out
}

/** Typed options in the order they are written: 53 and 54 first, then code order. */
const ENCODE_ORDER: readonly OptionSpec[] = [
  ...OPTION_TABLE.filter((s) => s.code === 53 || s.code === 54).sort((a, b) => a.code - b.code),
  ...OPTION_TABLE.filter((s) => s.code !== 53 && s.code !== 54).sort((a, b) => a.code - b.code),
]

function sizeLimit(opts: EncodeOptions): number {
  return Math.max(DHCP_MIN_MAX_SIZE, Math.min(opts.maxSize ?? DHCP_MIN_MAX_SIZE, 65535)) - IP_UDP_HEADERS
}

function writeHeader(out: Uint8Array, p: DhcpPacket): void {
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
  const chaddr = p.chaddr
  for (let i = 0; i < 16 && i < chaddr.length; i++) out[28 + i] = chaddr[i]!
  writeU32(out, 236, MAGIC_COOKIE)
}

/** Latin-1 bytes of `s` at `at` (chars above U+00FF keep their low byte, as textToBytes). */
function writeLatin1(out: Uint8Array, at: number, s: string): void {
  for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i) & 0xff
}

/** Any message: splits long options, merges raw ones and drops options to fit the client's size. */
function encodeAny(p: DhcpPacket, opts: EncodeOptions): Uint8Array {
  const options: DhcpOptions = { ...p.options }
  const file = textToBytes(p.file)
  const sname = textToBytes(p.sname)
  if (file.length >= FILE_SIZE && options.bootFileName === undefined) options.bootFileName = p.file
  if (sname.length >= SNAME_SIZE && options.tftpServerName === undefined) options.tftpServerName = p.sname

  const items = optionItems(options)
  const limit = sizeLimit(opts)
  let size = OPTIONS_AT + 1 + items.reduce((n, it) => n + framedSize(it.data.length), 0)
  for (const code of size <= limit ? [] : dropSequence(items)) {
    if (size <= limit) break
    const at = items.findIndex((it) => it.code === code)
    size -= framedSize(items[at]!.data.length)
    items.splice(at, 1)
  }

  const out = new Uint8Array(Math.max(BOOTP_MIN_SIZE, size))
  writeHeader(out, p)
  if (sname.length < SNAME_SIZE) out.set(sname, SNAME_AT)
  if (file.length < FILE_SIZE) out.set(file, FILE_AT)
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
    const spec = OPTION_BY_KEY.get(key)
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
const OPTION_BY_KEY: ReadonlyMap<string, OptionSpec> = new Map(OPTION_TABLE.map((s) => [s.key, s]))

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

/** A NUL-terminated Latin-1 field of `size` bytes at `at`. */
function cString(b: Uint8Array, at: number, size: number): string {
  let s = ''
  for (let i = at; i < at + size && b[i] !== 0; i++) s += String.fromCharCode(b[i]!)
  return s
}
