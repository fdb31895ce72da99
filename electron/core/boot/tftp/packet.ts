/**
 * TFTP packet codec: RFC 1350 (RRQ, WRQ, DATA, ACK, ERROR) and RFC 2347 (OACK, options after the mode).
 * `decodeTftp` takes bytes from the wire and never throws; `encodeTftp` is total (it drops NULs inside
 * strings rather than emitting a packet the peer would parse differently).
 */
import { err, ok, type Result } from '../../util/result'

/** Opcodes, RFC 1350 §5 and RFC 2347 (OACK = 6). */
export const TFTP_OPCODE = { rrq: 1, wrq: 2, data: 3, ack: 4, error: 5, oack: 6 } as const

/** Error codes, RFC 1350 appendix and RFC 2347 (8 = option negotiation refused). */
export const TFTP_ERROR = {
  notDefined: 0,
  fileNotFound: 1,
  accessViolation: 2,
  diskFull: 3,
  illegalOperation: 4,
  unknownTid: 5,
  fileExists: 6,
  noSuchUser: 7,
  optionNegotiation: 8,
} as const

/** Option name (lower case, RFC 2347 says names are case-insensitive) -> value as sent. First one wins. */
export type TftpOptions = Record<string, string>

export type TftpPacket =
  | { op: 'rrq' | 'wrq'; filename: string; mode: string; options: TftpOptions }
  | { op: 'data'; block: number; data: Buffer }
  | { op: 'ack'; block: number }
  | { op: 'error'; code: number; message: string }
  | { op: 'oack'; options: TftpOptions }

const utf8Strict = new TextDecoder('utf-8', { fatal: true })
const utf8Loose = new TextDecoder('utf-8')

/** Mode, option names and values are netascii; we accept printable ASCII only. */
function asciiOf(bytes: Uint8Array): string | null {
  for (const b of bytes) if (b < 0x20 || b > 0x7e) return null
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
}

/** Splits `buf[start..]` into NUL-terminated strings; null when the last one lacks its NUL. */
function splitStrings(buf: Uint8Array, start: number): Uint8Array[] | null {
  const out: Uint8Array[] = []
  let from = start
  for (let i = start; i < buf.length; i++) {
    if (buf[i] === 0) {
      out.push(buf.subarray(from, i))
      from = i + 1
    }
  }
  return from === buf.length ? out : null
}

/**
 * Option pairs after RRQ/WRQ mode or inside OACK. Lenient where firmware is sloppy: trailing empty strings
 * (NUL padding) and a dangling name without value are ignored rather than failing the boot; a repeated
 * option keeps its first value; non-ASCII names or values make the packet malformed.
 */
function decodeOptions(parts: Uint8Array[]): Result<TftpOptions> {
  let end = parts.length
  while (end > 0 && parts[end - 1]!.length === 0) end--
  const entries: [string, string][] = []
  const seen = new Set<string>()
  for (let i = 0; i + 1 < end; i += 2) {
    const name = asciiOf(parts[i]!)
    const value = asciiOf(parts[i + 1]!)
    if (name === null || value === null) return err(`option ${i / 2 + 1} is not printable ASCII`)
    const key = name.toLowerCase()
    if (key === '' || seen.has(key)) continue
    seen.add(key)
    entries.push([key, value])
  }
  // Object.fromEntries defines own properties, so a name like "__proto__" cannot touch the prototype.
  return ok(Object.fromEntries(entries))
}

export function decodeTftp(input: Uint8Array): Result<TftpPacket> {
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength)
  if (buf.length < 2) return err(`TFTP packet of ${buf.length} bytes is shorter than an opcode`)
  const opcode = buf.readUInt16BE(0)
  switch (opcode) {
    case TFTP_OPCODE.rrq:
    case TFTP_OPCODE.wrq: {
      const op = opcode === TFTP_OPCODE.rrq ? 'rrq' : 'wrq'
      const parts = splitStrings(buf, 2)
      if (parts === null) return err(`${op.toUpperCase()}: last field is not NUL-terminated`)
      if (parts.length < 2) return err(`${op.toUpperCase()}: needs a filename and a mode`)
      let filename: string
      try {
        filename = utf8Strict.decode(parts[0])
      } catch {
        return err(`${op.toUpperCase()}: filename is not valid UTF-8`)
      }
      if (filename === '') return err(`${op.toUpperCase()}: empty filename`)
      const mode = asciiOf(parts[1]!)
      if (mode === null || mode === '') return err(`${op.toUpperCase()}: mode is empty or not ASCII`)
      const options = decodeOptions(parts.slice(2))
      if (!options.ok) return err(`${op.toUpperCase()}: ${options.error}`)
      return ok({ op, filename, mode: mode.toLowerCase(), options: options.value })
    }
    case TFTP_OPCODE.data:
      if (buf.length < 4) return err('DATA shorter than 4 bytes')
      return ok({ op: 'data', block: buf.readUInt16BE(2), data: buf.subarray(4) })
    case TFTP_OPCODE.ack:
      // Some stacks pad short frames; anything after the block number is ignored.
      if (buf.length < 4) return err('ACK shorter than 4 bytes')
      return ok({ op: 'ack', block: buf.readUInt16BE(2) })
    case TFTP_OPCODE.error: {
      if (buf.length < 4) return err('ERROR shorter than 4 bytes')
      const nul = buf.indexOf(0, 4)
      // A peer that forgot the NUL still told us it gave up; keep what it said.
      const message = utf8Loose.decode(buf.subarray(4, nul === -1 ? buf.length : nul))
      return ok({ op: 'error', code: buf.readUInt16BE(2), message })
    }
    case TFTP_OPCODE.oack: {
      const parts = splitStrings(buf, 2)
      if (parts === null) return err('OACK: last field is not NUL-terminated')
      const options = decodeOptions(parts)
      if (!options.ok) return err(`OACK: ${options.error}`)
      return ok({ op: 'oack', options: options.value })
    }
    default:
      return err(`unknown TFTP opcode ${opcode}`)
  }
}

const NUL = Buffer.alloc(1)
const field = (s: string): Buffer[] => [Buffer.from(s.replaceAll('\0', ''), 'utf8'), NUL]

function encodeOptions(options: TftpOptions): Buffer[] {
  return Object.entries(options).flatMap(([k, v]) => [...field(k), ...field(v)])
}

function header(opcode: number, second?: number): Buffer {
  const b = Buffer.alloc(second === undefined ? 2 : 4)
  b.writeUInt16BE(opcode, 0)
  if (second !== undefined) b.writeUInt16BE(second & 0xffff, 2)
  return b
}

/** The 4-byte DATA header, so a sender can pass [header, block] to `socket.send` without copying. */
export function dataHeader(block: number): Buffer {
  return header(TFTP_OPCODE.data, block)
}

export function encodeTftp(p: TftpPacket): Buffer {
  switch (p.op) {
    case 'rrq':
    case 'wrq':
      return Buffer.concat([
        header(TFTP_OPCODE[p.op]),
        ...field(p.filename),
        ...field(p.mode),
        ...encodeOptions(p.options),
      ])
    case 'data':
      return Buffer.concat([dataHeader(p.block), p.data])
    case 'ack':
      return header(TFTP_OPCODE.ack, p.block)
    case 'error':
      return Buffer.concat([header(TFTP_OPCODE.error, p.code), ...field(p.message)])
    case 'oack':
      return Buffer.concat([header(TFTP_OPCODE.oack), ...encodeOptions(p.options)])
  }
}
