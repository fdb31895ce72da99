import { describe, expect, it } from 'vitest'
import {
  BROADCAST_FLAG,
  DROP_ORDER,
  DhcpMessageType,
  clientMac,
  decodePacket,
  decodeSubOptions,
  describeIpxe,
  encodePacket,
  machineUuid,
  type DhcpPacket,
} from '../../electron/core/boot/dhcp'
import { clientRequest } from '../../electron/core/boot/dhcp/client-request'

/**
 * Builds wire bytes by hand (not with our encoder) so decoder tests do not trust the code under test.
 * `options` are the bytes after the cookie (caller adds 255 if wanted).
 */
function wire(p: {
  op?: number
  hlen?: number
  options?: number[]
  file?: number[]
  sname?: number[]
  cookie?: number[]
}) {
  const b = new Uint8Array(240 + (p.options?.length ?? 0))
  b[0] = p.op ?? 1
  b[1] = 1
  b[2] = p.hlen ?? 6
  b.set([0xde, 0xad, 0xbe, 0xef], 4) // xid
  b[10] = 0x80 // broadcast flag
  b.set([198, 18, 10, 7], 12) // ciaddr
  b.set([0x52, 0x54, 0x00, 0x0a, 0x00, 0x01], 28)
  if (p.sname) b.set(p.sname, 44)
  if (p.file) b.set(p.file, 108)
  b.set(p.cookie ?? [99, 130, 83, 99], 236)
  if (p.options) b.set(p.options, 240)
  return b
}
const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0))

function decodeOk(b: Uint8Array): DhcpPacket {
  const r = decodePacket(b)
  if (!r.ok) throw new Error(r.error)
  return r.value
}

describe('decodePacket: header', () => {
  it('reads every BOOTP header field', () => {
    const p = decodeOk(wire({ options: [53, 1, 3, 255], file: ascii('undionly.kpxe'), sname: ascii('boot') }))
    expect(p).toMatchObject({
      op: 1,
      htype: 1,
      hlen: 6,
      hops: 0,
      xid: 0xdeadbeef,
      secs: 0,
      flags: BROADCAST_FLAG,
      ciaddr: '198.18.10.7',
      yiaddr: '0.0.0.0',
      siaddr: '0.0.0.0',
      giaddr: '0.0.0.0',
      sname: 'boot',
      file: 'undionly.kpxe',
    })
    expect(clientMac(p)).toBe('52:54:00:0a:00:01')
    expect(p.options.messageType).toBe(DhcpMessageType.Request)
  })

  it.each([
    ['truncated header', new Uint8Array(100), /truncated: 100 bytes/],
    ['no cookie', new Uint8Array(237).fill(1), /no room for the magic cookie/],
    ['bad cookie', wire({ cookie: [1, 2, 3, 4] }), /magic cookie 0x01020304/],
    ['bad op', wire({ op: 7 }), /op is 7/],
    ['hlen past chaddr', wire({ hlen: 17 }), /hlen 17/],
    ['option past the end', wire({ options: [53, 1, 1, 60, 40, 65, 66] }), /option 60 .* claims 40 bytes/],
    ['option without length byte', wire({ options: [53, 1, 1, 12] }), /option 12 .* no length byte/],
    ['absurd size', new Uint8Array(70000), /larger than any UDP datagram/],
    ['overload of 2 bytes', wire({ options: [52, 2, 1, 1, 255] }), /option 52/],
    ['overload value 4', wire({ options: [52, 1, 4, 255] }), /option 52/],
    ['overload inside file', wire({ options: [52, 1, 1, 255], file: [52, 1, 1, 255] }), /refer to itself/],
    [
      'overload inside sname',
      wire({ options: [52, 1, 3, 255], file: [255], sname: [52, 1, 2, 255] }),
      /refer to itself/,
    ],
    [
      'option running past file',
      wire({ options: [52, 1, 1, 255], file: [...Array(126).fill(0), 12, 5] }),
      /in the file field/,
    ],
  ])('%s is an error result, not a throw', (_name, bytes, reason) => {
    const r = decodePacket(bytes)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error).toMatch(reason)
  })

  it('takes a Node Buffer (what dgram delivers) and returns plain Uint8Array copies', () => {
    const buf = Buffer.from(wire({ options: [53, 1, 1, 61, 3, 1, 2, 3, 255] }))
    const p = decodeOk(buf)
    expect(p.chaddr).toEqual(Uint8Array.of(0x52, 0x54, 0x00, 0x0a, 0x00, 0x01))
    expect(Buffer.isBuffer(p.chaddr)).toBe(false)
    buf.fill(0)
    expect(p.options.clientId).toEqual({ type: 1, data: Uint8Array.of(2, 3) }) // not a view into buf
  })

  it('accepts a missing end option and skips pad', () => {
    const p = decodeOk(wire({ options: [0, 0, 53, 1, 1, 0, 12, 2, 0x61, 0x62] }))
    expect(p.options.messageType).toBe(1)
    expect(p.options.hostName).toBe('ab')
  })
})

describe('decodePacket: overload (option 52) and RFC 3396 concatenation', () => {
  it('reads options from file (1), then sname (2), in RFC 3396 order, and blanks those fields', () => {
    const p = decodeOk(
      wire({
        options: [53, 1, 1, 52, 1, 3, 12, 2, 0x61, 0x62, 255],
        file: [12, 2, 0x63, 0x64, 67, 3, ...ascii('x.e'), 255],
        sname: [12, 1, 0x65, 255],
      }),
    )
    expect(p.options.hostName).toBe('abcde')
    expect(p.options.bootFileName).toBe('x.e')
    expect(p.file).toBe('')
    expect(p.sname).toBe('')
    expect(p.options.raw).toEqual([])
  })

  it('keeps sname as a name when only file is overloaded', () => {
    const p = decodeOk(
      wire({ options: [52, 1, 1, 255], file: [66, 4, ...ascii('tftp'), 255], sname: ascii('srv') }),
    )
    expect(p.options.tftpServerName).toBe('tftp')
    expect(p.sname).toBe('srv')
  })

  it('concatenates split instances of one option (RFC 3396 §6)', () => {
    const first = Array(255).fill(0x41)
    const p = decodeOk(wire({ options: [60, 255, ...first, 53, 1, 1, 60, 3, 0x42, 0x43, 0x44, 255] }))
    expect(p.options.vendorClassId).toBe('A'.repeat(255) + 'BCD')
  })
})

describe('typed options', () => {
  it('decodes the PXE client options and keeps unknown ones raw', () => {
    const p = decodeOk(
      wire({
        options: [
          ...[53, 1, 1],
          ...[57, 2, 0x05, 0xc0],
          ...[93, 2, 0, 7],
          ...[94, 3, 1, 3, 0],
          ...[97, 17, 0, ...Array.from({ length: 16 }, (_, i) => i)],
          ...[60, 32, ...ascii('PXEClient:Arch:00007:UNDI:003000')],
          ...[55, 4, 1, 3, 66, 67],
          ...[61, 7, 1, 0x52, 0x54, 0, 0x0a, 0, 1],
          ...[50, 4, 198, 18, 10, 9],
          ...[128, 2, 0xaa, 0xbb],
          ...[82, 6, 1, 4, 0x65, 0x74, 0x68, 0x30],
          255,
        ],
      }),
    )
    const o = p.options
    expect(o.maxMessageSize).toBe(1472)
    expect(o.clientArch).toEqual([7])
    expect(o.clientNdi).toEqual({ type: 1, major: 3, minor: 0 })
    expect(machineUuid(o.clientMachineId)).toBe('03020100-0504-0706-0809-0a0b0c0d0e0f')
    expect(o.vendorClassId).toBe('PXEClient:Arch:00007:UNDI:003000')
    expect(o.parameterRequestList).toEqual([1, 3, 66, 67])
    expect(o.clientId).toEqual({ type: 1, data: Uint8Array.of(0x52, 0x54, 0, 0x0a, 0, 1) })
    expect(o.requestedIp).toBe('198.18.10.9')
    expect(o.relayAgentInfo).toEqual(Uint8Array.of(1, 4, 0x65, 0x74, 0x68, 0x30))
    expect(o.raw).toEqual([{ code: 128, data: Uint8Array.of(0xaa, 0xbb) }])
  })

  it('keeps a known option whose bytes do not fit its layout raw, leaving the typed field unset', () => {
    const p = decodeOk(wire({ options: [1, 3, 255, 255, 0, 57, 1, 9, 53, 1, 99, 255] }))
    expect(p.options.subnetMask).toBeUndefined()
    expect(p.options.maxMessageSize).toBeUndefined()
    expect(p.options.messageType).toBeUndefined()
    expect(p.options.raw!.map((r) => r.code)).toEqual([1, 57, 53])
  })

  it('reads user class 77 both bare (iPXE) and RFC 3004 framed', () => {
    expect(decodeOk(wire({ options: [77, 4, ...ascii('iPXE'), 255] })).options.userClass).toEqual(['iPXE'])
    expect(
      decodeOk(wire({ options: [77, 7, 2, ...ascii('ab'), 3, ...ascii('cde'), 255] })).options.userClass,
    ).toEqual(['ab', 'cde'])
  })

  it('decodes option 119 with RFC 1035 compression (dnsmasq encoding)', () => {
    // rack.test, lab.rack.test -> 04 rack 04 test 00 03 lab c0 00
    const data = [4, ...ascii('rack'), 4, ...ascii('test'), 0, 3, ...ascii('lab'), 0xc0, 0]
    expect(decodeOk(wire({ options: [119, data.length, ...data, 255] })).options.domainSearch).toEqual([
      'rack.test',
      'lab.rack.test',
    ])
  })

  it.each([
    ['pointer to itself', [1, 0x61, 0xc0, 0]],
    ['forward pointer', [0xc0, 2, 1, 0x61, 0]],
    ['pointer past end', [0xc0]],
    ['label past end', [5, 0x61]],
    ['reserved label type', [0x41, 0]],
  ])('rejects a hostile option 119 (%s) as raw, without looping', (_n, data) => {
    const p = decodeOk(wire({ options: [119, data.length, ...data, 255] }))
    expect(p.options.domainSearch).toBeUndefined()
    expect(p.options.raw!.map((r) => r.code)).toEqual([119])
  })

  it('decodes option 121 classless routes (RFC 3442 §2 examples)', () => {
    const data = [0, 198, 18, 10, 1, 24, 10, 1, 2, 198, 18, 10, 254, 9, 198, 128, 198, 18, 10, 2]
    expect(decodeOk(wire({ options: [121, data.length, ...data, 255] })).options.classlessRoutes).toEqual([
      { destination: '0.0.0.0/0', router: '198.18.10.1' },
      { destination: '10.1.2.0/24', router: '198.18.10.254' },
      { destination: '198.128.0.0/9', router: '198.18.10.2' },
    ])
  })

  it('decodes option 175 and describes iPXE features, bus id and no-pxedhcp', () => {
    const data = [0x13, 1, 1, 0x24, 1, 1, 0x15, 1, 1, 177, 5, 1, 0x1a, 0xf4, 0x10, 0x00, 176, 1, 1, 255]
    const p = decodeOk(wire({ options: [175, data.length, ...data, 255] }))
    expect(p.options.ipxe!.map((s) => s.code)).toEqual([0x13, 0x24, 0x15, 177, 176])
    expect(describeIpxe(p.options.ipxe!)).toEqual({
      features: ['http', 'efi', 'tftp'],
      busId: { busType: 1, vendor: 0x1af4, device: 0x1000 },
      noPxeDhcp: 1,
    })
  })

  it('decodeSubOptions reports a sub-option running past the end', () => {
    expect(decodeSubOptions(Uint8Array.of(1, 5, 0))).toBeUndefined()
    expect(decodeSubOptions(Uint8Array.of(0, 6, 1, 9, 255, 7))).toEqual([{ code: 6, data: Uint8Array.of(9) }])
  })
})

function reply(options: DhcpPacket['options'], extra: Partial<DhcpPacket> = {}): DhcpPacket {
  return {
    op: 2,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: 0x01020304,
    secs: 0,
    flags: 0,
    ciaddr: '0.0.0.0',
    yiaddr: '198.18.10.100',
    siaddr: '198.18.10.1',
    giaddr: '0.0.0.0',
    chaddr: Uint8Array.of(0x52, 0x54, 0, 0x0a, 0, 1),
    sname: '',
    file: 'undionly.kpxe',
    options,
    ...extra,
  }
}

/** Walks the encoded option area by hand: codes in wire order. */
function wireCodes(b: Uint8Array): number[] {
  const codes: number[] = []
  for (let i = 240; i < b.length;) {
    if (b[i] === 0) {
      i++
      continue
    }
    codes.push(b[i]!)
    if (b[i] === 255) break
    i += 2 + b[i + 1]!
  }
  return codes
}

describe('encodePacket', () => {
  it('writes 53 and 54 first, pads to 300 bytes, and decodes back', () => {
    const p = reply({
      subnetMask: '255.255.255.0',
      routers: ['198.18.10.1'],
      messageType: DhcpMessageType.Offer,
      serverId: '198.18.10.1',
      leaseTime: 3600,
      raw: [],
    })
    const b = encodePacket(p)
    expect(b.length).toBe(300)
    expect(wireCodes(b)).toEqual([53, 54, 1, 3, 51, 255])
    expect(Array.from(b.subarray(236, 240))).toEqual([99, 130, 83, 99])
    expect(decodeOk(b)).toEqual(p)
  })

  it('splits an option over 255 bytes into consecutive instances (RFC 3396 §7)', () => {
    const p = reply({ messageType: 2, bootFileName: 'u'.repeat(600), raw: [] })
    const b = encodePacket(p, { maxSize: 1500 })
    expect(wireCodes(b)).toEqual([53, 67, 67, 67, 255])
    expect(decodeOk(b).options.bootFileName).toBe('u'.repeat(600))
  })

  it('drops whole options in DROP_ORDER to fit the client size, never mid-option, keeping 53/54/51/82', () => {
    const many = Array.from({ length: 60 }, (_, i) => `198.18.${i}.1`)
    const p = reply({
      messageType: 5,
      serverId: '198.18.10.1',
      leaseTime: 60,
      relayAgentInfo: new Uint8Array(40),
      bootFileName: 'undionly.kpxe',
      ntpServers: many,
      dnsServers: many.slice(0, 20),
      domainSearch: ['a.example', 'b.example'],
      raw: [{ code: 224, data: new Uint8Array(100) }],
    })
    const b = encodePacket(p) // no maxSize: 576 - 28 = 548 bytes of DHCP
    expect(b.length).toBeLessThanOrEqual(548)
    const codes = wireCodes(b)
    expect(codes).toEqual(expect.arrayContaining([53, 54, 51, 82, 67]))
    expect(codes).not.toContain(224) // raw goes first
    expect(codes).not.toContain(119) // then DROP_ORDER: 119 before 42
    expect(codes).not.toContain(42)
    expect(codes).toContain(6) // dropping stopped as soon as it fit
    expect(DROP_ORDER.indexOf(119)).toBeLessThan(DROP_ORDER.indexOf(42))
    const back = decodeOk(b)
    expect(back.options.dnsServers).toEqual(many.slice(0, 20))
    expect(back.options.raw).toEqual([])
  })

  it('honours a larger client size (option 57) and keeps everything', () => {
    const p = reply({ messageType: 5, ntpServers: Array(200).fill('198.18.0.1'), raw: [] })
    expect(wireCodes(encodePacket(p, { maxSize: 1472 }))).toEqual([53, 42, 42, 42, 42, 255])
    expect(wireCodes(encodePacket(p, { maxSize: 100 }))).toEqual([53, 255]) // below 576 means 576
  })

  it('moves a boot file longer than the 128-byte field into option 67', () => {
    const url = `http://198.18.10.1:8080/ipxe/${'x'.repeat(140)}`
    const b = encodePacket(reply({ messageType: 2, raw: [] }, { file: url }))
    const back = decodeOk(b)
    expect(back.file).toBe('')
    expect(back.options.bootFileName).toBe(url)
  })

  it('encodes option 119 with compression and 121 with significant octets only', () => {
    const p = reply({
      messageType: 5,
      domainSearch: ['rack.test', 'lab.rack.test'],
      classlessRoutes: [{ destination: '10.1.2.0/24', router: '198.18.10.254' }],
      raw: [],
    })
    const b = encodePacket(p)
    const at = b.indexOf(119, 240)
    expect(Array.from(b.subarray(at, at + 19))).toEqual([
      119,
      17,
      ...[4, ...ascii('rack'), 4, ...ascii('test'), 0],
      ...[3, ...ascii('lab'), 0xc0, 0],
    ])
    expect(decodeOk(b)).toEqual(p)
  })

  it('is total on nonsense values', () => {
    const p = reply({
      messageType: 5,
      serverId: 'not an ip',
      routers: [],
      raw: [{ code: 0, data: new Uint8Array(3) }],
    })
    expect(() => encodePacket(p)).not.toThrow()
    expect(decodeOk(encodePacket(p)).options.serverId).toBe('0.0.0.0')
  })
})

describe('clientRequest', () => {
  it('is a broadcast BOOTREQUEST with every address zero, as a client without a lease sends it', () => {
    const chaddr = Uint8Array.of(0x02, 0x52, 0x42, 0, 0, 7)
    const options = { messageType: DhcpMessageType.Discover, parameterRequestList: [1, 3, 67] }
    const p = decodeOk(encodePacket(clientRequest({ xid: 0xdeadbeef, chaddr, options, secs: 4 })))
    expect(p).toMatchObject({ op: 1, hops: 0, xid: 0xdeadbeef, secs: 4, flags: BROADCAST_FLAG })
    expect([p.ciaddr, p.yiaddr, p.siaddr, p.giaddr]).toEqual(Array(4).fill('0.0.0.0'))
    expect(clientMac(p)).toBe('02:52:42:00:00:07')
    expect(p.options).toMatchObject(options)
    expect(clientRequest({ xid: 1, chaddr, options }).secs).toBe(0)
  })
})
