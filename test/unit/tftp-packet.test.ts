import { describe, expect, it } from 'vitest'
import { decodeTftp, encodeTftp, type TftpPacket } from '../../electron/core/boot/tftp/packet'

// First datagram each real client sent to a UDP listener on 127.0.0.1 (captured on this machine).
const golden = {
  // atftp 0.8.0: --option "blksize 1432" --option "windowsize 4" --option tsize -g -r ipxe.efi
  atftp:
    '0001697078652e656669006f63746574007473697a65003000626c6b73697a6500313433320077696e646f7773697a65003400',
  // atftp 0.8.0 with --option "tsize enable": it sends the word literally
  atftpTsizeEnable:
    '0001697078652e656669006f63746574007473697a6500656e61626c6500626c6b73697a6500313433320077696e646f7773697a65003400',
  // curl 7.88.1 tftp://127.0.0.1:PORT/boot/x.efi --tftp-blksize 1468
  curl: '0001626f6f742f782e656669006f63746574007473697a65003000626c6b73697a6500313436380074696d656f7574003600',
  // tftp-hpa 5.2 -m binary ... -c get pxelinux.0
  hpa: '00017078656c696e75782e30006f6374657400',
  // tftp-hpa 5.2 default (ascii) mode
  hpaAscii: '0001726561646d652e747874006e6574617363696900',
}
const hex = (s: string) => Buffer.from(s, 'hex')

describe('decodeTftp on real client requests', () => {
  it('atftp RRQ with tsize, blksize, windowsize', () => {
    expect(decodeTftp(hex(golden.atftp))).toEqual({
      ok: true,
      value: {
        op: 'rrq',
        filename: 'ipxe.efi',
        mode: 'octet',
        options: { tsize: '0', blksize: '1432', windowsize: '4' },
      },
    })
  })
  it('atftp "tsize enable" keeps the literal value', () => {
    const d = decodeTftp(hex(golden.atftpTsizeEnable))
    expect(d.ok && d.value.op === 'rrq' && d.value.options.tsize).toBe('enable')
  })
  it('curl RRQ with a path and timeout', () => {
    expect(decodeTftp(hex(golden.curl))).toEqual({
      ok: true,
      value: {
        op: 'rrq',
        filename: 'boot/x.efi',
        mode: 'octet',
        options: { tsize: '0', blksize: '1468', timeout: '6' },
      },
    })
  })
  it('tftp-hpa RRQ without options, octet and netascii', () => {
    expect(decodeTftp(hex(golden.hpa))).toEqual({
      ok: true,
      value: { op: 'rrq', filename: 'pxelinux.0', mode: 'octet', options: {} },
    })
    const a = decodeTftp(hex(golden.hpaAscii))
    expect(a.ok && a.value.op === 'rrq' && a.value.mode).toBe('netascii')
  })
})

describe('decodeTftp edge cases', () => {
  const rrq = (...fields: string[]) =>
    Buffer.concat([Buffer.from([0, 1]), ...fields.map((f) => Buffer.from(f + '\0', 'latin1'))])

  it('option names and mode are case-insensitive; first duplicate wins', () => {
    const d = decodeTftp(rrq('a', 'OCTET', 'BlkSize', '1024', 'blksize', '8'))
    expect(d).toEqual({
      ok: true,
      value: { op: 'rrq', filename: 'a', mode: 'octet', options: { blksize: '1024' } },
    })
  })
  it('ignores a dangling option name and trailing NUL padding', () => {
    const dangling = decodeTftp(rrq('a', 'octet', 'tsize', '0', 'blksize'))
    expect(dangling.ok && dangling.value.op === 'rrq' && dangling.value.options).toEqual({ tsize: '0' })
    const padded = decodeTftp(Buffer.concat([rrq('a', 'octet', 'tsize', '0'), Buffer.alloc(20)]))
    expect(padded.ok && padded.value.op === 'rrq' && padded.value.options).toEqual({ tsize: '0' })
  })
  it('an option called __proto__ is plain data', () => {
    const d = decodeTftp(rrq('a', 'octet', '__proto__', '1'))
    expect(d.ok && d.value.op === 'rrq' && Object.getPrototypeOf(d.value.options)).toBe(Object.prototype)
  })
  it.each([
    ['empty', ''],
    ['one byte', '01'],
    ['unknown opcode', '000900'],
    ['opcode 0', '0000'],
    ['RRQ without NULs', '000161626364'],
    ['RRQ without mode', '00016100'],
    ['RRQ mode missing NUL', '000161006f63746574'],
    ['RRQ empty filename', '0001006f6374657400'],
    ['RRQ non-UTF-8 filename', '0001ff006f6374657400'],
    ['RRQ non-ASCII mode', '00016100c3a900'],
    ['RRQ non-ASCII option', '0001610061007473697a6500ff00'],
    ['short DATA', '000300'],
    ['short ACK', '000400'],
    ['short ERROR', '0005'],
    ['OACK without NUL', '00067473697a65'],
  ])('%s is an error, not a throw', (_name, h) => {
    const d = decodeTftp(hex(h))
    expect(d.ok).toBe(false)
    expect(typeof (d as { error: string }).error).toBe('string')
  })
  it('ERROR without a NUL keeps the message', () => {
    expect(decodeTftp(hex('0005000874737a'))).toEqual({
      ok: true,
      value: { op: 'error', code: 8, message: 'tsz' },
    })
  })
  it('ACK with padding reads the block number', () => {
    expect(decodeTftp(hex('0004fffe0000'))).toEqual({ ok: true, value: { op: 'ack', block: 65534 } })
  })
  it('never throws on random bytes', () => {
    let seed = 42
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff
    for (let i = 0; i < 5000; i++) {
      const b = Buffer.alloc(Math.floor(rnd() * 64))
      for (let j = 0; j < b.length; j++) b[j] = rnd() < 0.3 ? 0 : Math.floor(rnd() * 256)
      if (b.length >= 2 && rnd() < 0.7) b[0] = 0
      if (b.length >= 2 && rnd() < 0.7) b[1] = 1 + Math.floor(rnd() * 6)
      expect(() => decodeTftp(b)).not.toThrow()
    }
  })
})

describe('encodeTftp', () => {
  const packets: TftpPacket[] = [
    { op: 'rrq', filename: 'dir/ipxe.efi', mode: 'octet', options: { blksize: '1468', tsize: '0' } },
    { op: 'wrq', filename: 'x', mode: 'netascii', options: {} },
    { op: 'data', block: 65535, data: Buffer.from('hello') },
    { op: 'data', block: 1, data: Buffer.alloc(0) },
    { op: 'ack', block: 0 },
    { op: 'error', code: 8, message: 'option negotiation failed' },
    { op: 'oack', options: { tsize: '123', windowsize: '4' } },
  ]
  it.each(packets)('round-trips $op', (p) => {
    expect(decodeTftp(encodeTftp(p))).toEqual({ ok: true, value: p })
  })
  it('writes the wire layout of RFC 1350', () => {
    expect(encodeTftp({ op: 'ack', block: 0x1234 }).toString('hex')).toBe('00041234')
    expect(encodeTftp({ op: 'error', code: 1, message: 'x' }).toString('hex')).toBe('0005000178' + '00')
  })
  it('is total: NULs in strings are dropped, block numbers wrap', () => {
    expect(encodeTftp({ op: 'error', code: 2, message: 'a\0b' }).toString('latin1')).toBe('\0\x05\0\x02ab\0')
    expect(encodeTftp({ op: 'ack', block: 65536 + 7 }).readUInt16BE(2)).toBe(7)
  })
})
