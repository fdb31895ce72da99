/**
 * The DHCP engine's decisions (RFC 2131 §4.3, PXE 2.1 proxyDHCP), fed the real client packets of
 * test/fixtures/dhcp (recorded against dnsmasq). A REQUEST's requested address (option 50) is patched to
 * what OUR offer gave, since dnsmasq offered another one; everything else is the firmware's own bytes.
 * Every reply is also encoded and decoded again, so what is asserted is what goes on the wire.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  BROADCAST_FLAG,
  DhcpMessageType,
  IPXE_NO_PXEDHCP,
  decodePacket,
  encodePacket,
  type DhcpPacket,
} from '../../electron/core/boot/dhcp'
import { DhcpEngine, type EngineConfig, type Outcome, type Reply } from '../../electron/core/boot/dhcp/engine'
import { LeaseBook, type Reservations } from '../../electron/core/boot/dhcp/leases'
import type { JournalLevel, JournalRecord } from '../../electron/core/boot/dhcp/journal'
import type { ClientKind } from '../../electron/core/boot/dhcp/pxe'
import type { BootEvent } from '../../electron/core/boot/events'
import { ipToInt, intToIp, parseCidr } from '../../electron/core/util/ipv4'
import { readPcapUdp } from '../support/pcap'

const DIR = join(import.meta.dirname, '../fixtures/dhcp')
const SERVER = '198.18.10.1'
const ip = (s: string) => ipToInt(s)!

/** The client packets of one capture, in order, decoded. */
function clientPackets(name: string): DhcpPacket[] {
  return readPcapUdp(join(DIR, `${name}.pcap`))
    .filter((d) => d.dstPort === 67)
    .map((d) => {
      const r = decodePacket(d.payload)
      if (!r.ok) throw new Error(`${name}: ${r.error}`)
      return r.value
    })
}

function patched(
  p: DhcpPacket,
  change: Partial<DhcpPacket> & { options?: DhcpPacket['options'] },
): DhcpPacket {
  return { ...structuredClone(p), ...change, options: { ...structuredClone(p.options), ...change.options } }
}

const noReservations: Reservations = { ipFor: () => null, reservedFor: () => null }

function setup(
  over: Partial<EngineConfig> = {},
  extra: { reservations?: Reservations; pool?: [string, string] } = {},
) {
  let clock = Date.parse('2026-11-26T10:00:00Z')
  const subnet = parseCidr('198.18.10.0/24')
  if (!subnet.ok) throw new Error(subnet.error)
  const [start, end] = extra.pool ?? ['198.18.10.100', '198.18.10.199']
  const book = new LeaseBook(
    {
      start: ip(start),
      end: ip(end),
      exclude: new Set([ip('198.18.10.0'), ip('198.18.10.255'), ip(SERVER)]),
    },
    extra.reservations ?? noReservations,
  )
  const records: JournalRecord[] = []
  const levels: Array<JournalLevel | undefined> = []
  const events: BootEvent[] = []
  const pxeCalls: Array<{ mac: string; kind: ClientKind }> = []
  const config: EngineConfig = {
    mode: 'server',
    serverIp: SERVER,
    subnet: subnet.value,
    gateway: '198.18.10.1',
    dns: ['198.18.10.1'],
    domain: 'rack.test',
    leaseSeconds: 3600,
    offerHoldMs: 30_000,
    declineQuarantineMs: 600_000,
    boot: { httpPort: 8080 },
    ...over,
  }
  const engine = new DhcpEngine({
    config,
    book,
    journal: {
      record: (r, level) => {
        records.push(structuredClone(r))
        levels.push(level)
        return Promise.resolve()
      },
    },
    nodeName: () => null,
    onPxeDiscover: (mac, kind) => {
      pxeCalls.push({ mac, kind })
      return Promise.resolve()
    },
    now: () => clock,
    emit: (e) => events.push(e),
  })
  const on67 = { localPort: 67, from: { address: '0.0.0.0', port: 68 } }
  return {
    engine,
    book,
    records,
    levels,
    events,
    pxeCalls,
    advance: (ms: number) => (clock += ms),
    now: () => clock,
    send: (p: DhcpPacket, where = on67) => engine.handle(p, where),
  }
}

/** The single reply of an outcome, after a trip through the encoder and decoder. */
function only(o: Outcome): Reply & { wire: DhcpPacket } {
  if (o.kind !== 'replies') throw new Error(`expected a reply, got ignored: ${o.reason}`)
  expect(o.replies).toHaveLength(1)
  const r = o.replies[0]!
  const wire = decodePacket(encodePacket(r.packet))
  if (!wire.ok) throw new Error(wire.error)
  return { ...r, wire: wire.value }
}
function silent(o: Outcome): string {
  if (o.kind !== 'ignored') throw new Error(`expected silence, got ${o.replies.length} reply(ies)`)
  return o.reason
}

const bios = clientPackets('bios-ipxe-rom')
const edk2 = clientPackets('uefi-edk2-ipxe')
const udhcpc = clientPackets('udhcpc')
const dhclient = clientPackets('dhclient')

describe('DISCOVER → OFFER → REQUEST → ACK with real firmware', () => {
  it('BIOS iPXE ROM: script URL, 175.176 and lease times identical in OFFER and ACK', async () => {
    const t = setup()
    const [discover, request] = bios
    const offer = only(await t.send(discover!))
    expect(offer.wire.options.messageType).toBe(DhcpMessageType.Offer)
    expect(offer.wire.xid).toBe(discover!.xid)
    const yiaddr = offer.wire.yiaddr
    expect(ip(yiaddr)).toBeGreaterThanOrEqual(ip('198.18.10.100'))
    expect(ip(yiaddr)).toBeLessThanOrEqual(ip('198.18.10.199'))
    const ack = only(await t.send(patched(request!, { options: { requestedIp: yiaddr } })))
    expect(ack.wire.options.messageType).toBe(DhcpMessageType.Ack)
    expect(ack.wire.yiaddr).toBe(yiaddr)
    for (const r of [offer.wire, ack.wire]) {
      const mac = '52:54:00:0a:00:01'
      expect(r.file).toBe(`http://${SERVER}:8080/ipxe/${mac}`)
      expect(r.options.bootFileName).toBe(`http://${SERVER}:8080/ipxe/${mac}`)
      expect(r.options.ipxe?.find((s) => s.code === IPXE_NO_PXEDHCP)?.data).toEqual(Uint8Array.of(1))
      expect(r.options.serverId).toBe(SERVER) // option 54
      expect(r.options.leaseTime).toBe(3600)
      expect(r.options.renewalTime).toBe(1800) // T1 = 0.5 × lease
      expect(r.options.rebindingTime).toBe(3150) // T2 = 0.875 × lease
      expect(r.options.subnetMask).toBe('255.255.255.0')
      expect(r.options.routers).toEqual([SERVER])
      expect(r.siaddr).toBe(SERVER)
    }
    // Broadcast flag clear and Node cannot write ARP entries: broadcast on the interface.
    expect(offer.to).toMatchObject({ address: '255.255.255.255', port: 68, rule: 'yiaddr-broadcast' })
    // The ACK left only after its lease line was recorded.
    expect(t.records).toEqual([
      {
        kind: 'lease',
        lease: expect.objectContaining({ mac: '52:54:00:0a:00:01', ip: ip(yiaddr), state: 'bound' }),
      },
    ])
    expect(t.book.leaseOf('52:54:00:0a:00:01')).toMatchObject({
      state: 'bound',
      expiresAt: t.now() + 3_600_000,
    })
    expect(t.pxeCalls).toEqual([{ mac: '52:54:00:0a:00:01', kind: 'ipxe' }])
  })

  it('OVMF EDK2 PXE then its ipxe.efi: TFTP file first, script URL second, same address both times', async () => {
    const t = setup()
    const [d1, r1, d2, r2] = edk2
    const o1 = only(await t.send(d1!))
    expect(o1.wire.file).toBe('ipxe.efi')
    expect(o1.wire.options.tftpServerName).toBe(SERVER) // option 66
    expect(o1.wire.flags & BROADCAST_FLAG).toBe(BROADCAST_FLAG)
    expect(o1.to).toMatchObject({ address: '255.255.255.255', rule: 'broadcast-flag' })
    const a1 = only(await t.send(patched(r1!, { options: { requestedIp: o1.wire.yiaddr } })))
    expect(a1.wire.file).toBe('ipxe.efi')
    expect(a1.wire.options.bootFileName).toBe('ipxe.efi')
    const o2 = only(await t.send(d2!))
    expect(o2.wire.yiaddr).toBe(o1.wire.yiaddr) // a bound client keeps its address across stages
    expect(o2.wire.file).toBe(`http://${SERVER}:8080/ipxe/52:54:00:0a:00:03`)
    const a2 = only(await t.send(patched(r2!, { options: { requestedIp: o2.wire.yiaddr } })))
    expect(a2.wire.file).toBe(o2.wire.file)
    expect(t.pxeCalls.map((c) => c.kind)).toEqual(['uefi-pxe', 'ipxe'])
  })

  it('udhcpc: plain DHCP gets no boot file and never reaches capture; RENEW extends, RELEASE frees', async () => {
    const t = setup()
    const [discover, request, renew, release] = udhcpc
    const offer = only(await t.send(discover!))
    expect(offer.wire.file).toBe('')
    expect(offer.wire.options.bootFileName).toBeUndefined()
    expect(t.pxeCalls).toEqual([])
    const yiaddr = offer.wire.yiaddr
    only(await t.send(patched(request!, { options: { requestedIp: yiaddr } })))
    const who = t.records[0]!.kind === 'lease' ? t.records[0]!.lease.mac : ''
    const firstExpiry = t.book.leaseOf(who)!.expiresAt

    t.advance(1_800_000) // T1
    const renewed = only(await t.send(patched(renew!, { ciaddr: yiaddr })))
    expect(renewed.wire.options.messageType).toBe(DhcpMessageType.Ack)
    expect(renewed.wire.yiaddr).toBe(yiaddr)
    expect(renewed.to).toMatchObject({ address: yiaddr, port: 68, rule: 'ciaddr' }) // unicast RENEWING
    expect(t.book.leaseOf(who)!.expiresAt).toBe(firstExpiry + 1_800_000)

    silent(await t.send(patched(release!, { ciaddr: yiaddr })))
    expect(t.book.leaseOf(who)).toBeNull()
    expect(t.records.at(-1)).toEqual({ kind: 'released', mac: who, ip: ip(yiaddr) })
    // The freed address is anyone's again.
    expect(t.book.holderOther(ip(yiaddr), '52:54:00:99:99:99', t.now())).toBeNull()
  })

  it('dhclient: DORA keeps its host name (option 12) in the lease; RELEASE frees', async () => {
    const t = setup()
    const [discover, request, release] = dhclient
    const offer = only(await t.send(discover!))
    const ack = only(await t.send(patched(request!, { options: { requestedIp: offer.wire.yiaddr } })))
    expect(ack.wire.yiaddr).toBe(offer.wire.yiaddr)
    const lease = t.records[0]
    expect(lease?.kind === 'lease' && lease.lease.hostname).toBe(request!.options.hostName)
    silent(await t.send(patched(release!, { ciaddr: offer.wire.yiaddr })))
    expect(t.book.size).toBe(0)
  })
})

describe('REQUEST edge cases (RFC 2131 §4.3.2)', () => {
  it('a REQUEST naming another server id gets silence, and our offer is forgotten', async () => {
    const t = setup()
    const [discover, request] = bios
    const offer = only(await t.send(discover!))
    const mac = '52:54:00:0a:00:01'
    expect(t.book.holderOther(ip(offer.wire.yiaddr), '52:54:00:ff:ff:ff', t.now())).toBe(mac)
    const reason = silent(
      await t.send(
        patched(request!, { options: { requestedIp: offer.wire.yiaddr, serverId: '198.18.10.2' } }),
      ),
    )
    expect(reason).toMatch(/198\.18\.10\.2/)
    expect(t.book.leaseOf(mac)).toBeNull()
    expect(t.book.holderOther(ip(offer.wire.yiaddr), '52:54:00:ff:ff:ff', t.now())).toBeNull()
    expect(t.records).toEqual([])
  })

  it('INIT-REBOOT for an address on another network → NAK, broadcast, with option 54 and no yiaddr', async () => {
    const t = setup()
    const initReboot = patched(bios[1]!, { options: { requestedIp: '10.1.2.3', serverId: undefined } })
    const nak = only(await t.send(initReboot))
    expect(nak.wire.options.messageType).toBe(DhcpMessageType.Nak)
    expect(nak.wire.options.serverId).toBe(SERVER)
    expect(nak.wire.yiaddr).toBe('0.0.0.0')
    expect(nak.wire.options.leaseTime).toBeUndefined()
    expect(nak.to).toMatchObject({ address: '255.255.255.255', port: 68, rule: 'nak-broadcast' })
  })

  it('INIT-REBOOT for an address another MAC holds → NAK', async () => {
    const t = setup()
    const offer = only(await t.send(udhcpc[0]!))
    only(await t.send(patched(udhcpc[1]!, { options: { requestedIp: offer.wire.yiaddr } })))
    const theft = patched(bios[1]!, { options: { requestedIp: offer.wire.yiaddr, serverId: undefined } })
    expect(only(await t.send(theft)).wire.options.messageType).toBe(DhcpMessageType.Nak)
    expect(t.records).toHaveLength(1)
  })

  it('INIT-REBOOT for a free address that is not the one the client is bound to → NAK, lease unchanged', async () => {
    const t = setup()
    const offer = only(await t.send(bios[0]!))
    only(await t.send(patched(bios[1]!, { options: { requestedIp: offer.wire.yiaddr } })))
    const other = intToIp(ip(offer.wire.yiaddr) + 7)
    const nak = only(
      await t.send(patched(bios[1]!, { options: { requestedIp: other, serverId: undefined } })),
    )
    expect(nak.wire.options.messageType).toBe(DhcpMessageType.Nak)
    expect(t.book.leaseOf('52:54:00:0a:00:01')!.ip).toBe(ip(offer.wire.yiaddr))
  })

  it('INIT-REBOOT from a client we have no record of, for an address outside our pool → silence', async () => {
    const t = setup()
    silent(await t.send(patched(bios[1]!, { options: { requestedIp: '198.18.10.20', serverId: undefined } })))
  })

  it('a RENEW from a client whose lease expired and went to another MAC → NAK', async () => {
    const t = setup({ leaseSeconds: 60 }, { pool: ['198.18.10.100', '198.18.10.100'] })
    const o1 = only(await t.send(udhcpc[0]!))
    only(await t.send(patched(udhcpc[1]!, { options: { requestedIp: o1.wire.yiaddr } })))
    t.advance(61_000)
    const o2 = only(await t.send(bios[0]!))
    expect(o2.wire.yiaddr).toBe(o1.wire.yiaddr) // single-address pool, expired lease reused
    only(await t.send(patched(bios[1]!, { options: { requestedIp: o2.wire.yiaddr } })))
    const nak = only(await t.send(patched(udhcpc[2]!, { ciaddr: o1.wire.yiaddr })))
    expect(nak.wire.options.messageType).toBe(DhcpMessageType.Nak)
    expect(nak.to.rule).toBe('nak-broadcast')
  })
})

describe('DECLINE, RELEASE, INFORM, exhaustion', () => {
  it('DECLINE quarantines the address for everyone until the quarantine ends', async () => {
    const t = setup({}, { pool: ['198.18.10.100', '198.18.10.102'] })
    const o = only(await t.send(udhcpc[0]!))
    only(await t.send(patched(udhcpc[1]!, { options: { requestedIp: o.wire.yiaddr } })))
    const decline = patched(udhcpc[1]!, {
      options: { messageType: DhcpMessageType.Decline, requestedIp: o.wire.yiaddr },
    })
    silent(await t.send(decline))
    expect(t.records.at(-1)).toMatchObject({
      kind: 'lease',
      lease: { ip: ip(o.wire.yiaddr), state: 'declined' },
    })
    // Neither the declining client nor anyone else is offered it now.
    const again = only(await t.send(udhcpc[0]!))
    expect(again.wire.yiaddr).not.toBe(o.wire.yiaddr)
    const other = only(await t.send(bios[0]!))
    expect([again.wire.yiaddr, other.wire.yiaddr]).not.toContain(o.wire.yiaddr)
    t.advance(600_001)
    expect(t.book.holderOther(ip(o.wire.yiaddr), '52:54:00:77:77:77', t.now())).toBeNull()
  })

  it('RELEASE from a MAC that does not hold the address frees nothing', async () => {
    const t = setup()
    const o = only(await t.send(udhcpc[0]!))
    only(await t.send(patched(udhcpc[1]!, { options: { requestedIp: o.wire.yiaddr } })))
    const spoof = patched(dhclient[2]!, { ciaddr: o.wire.yiaddr, chaddr: Uint8Array.of(2, 0, 0, 0, 0, 9) })
    silent(await t.send(spoof))
    expect(t.book.size).toBe(1)
    expect(t.records).toHaveLength(1)
  })

  it('INFORM: ACK to ciaddr with configuration, no yiaddr and no lease times (§4.3.5)', async () => {
    const t = setup()
    const inform = patched(udhcpc[2]!, {
      ciaddr: '198.18.10.50',
      options: { messageType: DhcpMessageType.Inform },
    })
    const ack = only(await t.send(inform))
    expect(ack.wire.options.messageType).toBe(DhcpMessageType.Ack)
    expect(ack.wire.yiaddr).toBe('0.0.0.0')
    expect(ack.wire.options.leaseTime).toBeUndefined()
    expect(ack.wire.options.renewalTime).toBeUndefined()
    expect(ack.wire.options.subnetMask).toBe('255.255.255.0')
    expect(ack.to).toMatchObject({ address: '198.18.10.50', port: 68 })
    expect(t.book.size).toBe(0)
  })

  it('pool exhausted: DISCOVER gets silence and a no-offer event', async () => {
    const t = setup({}, { pool: ['198.18.10.100', '198.18.10.100'] })
    const o = only(await t.send(udhcpc[0]!))
    only(await t.send(patched(udhcpc[1]!, { options: { requestedIp: o.wire.yiaddr } })))
    silent(await t.send(bios[0]!))
    expect(t.events.some((e) => e.step === 'no-offer' && e.mac === '52:54:00:0a:00:01')).toBe(true)
  })

  it('BOOTREPLY, non-Ethernet and BOOTP-without-53 packets are ignored, never answered', async () => {
    const t = setup()
    silent(await t.send(patched(bios[0]!, { op: 2 })))
    silent(await t.send(patched(bios[0]!, { htype: 6 })))
    silent(await t.send(patched(bios[0]!, { options: { messageType: undefined } })))
  })
})

describe('relayed requests (giaddr set, RFC 2131 §4.1)', () => {
  const relay = { localPort: 67, from: { address: '198.18.10.2', port: 67 } }

  it('giaddr on our subnet: offer and ACK go to giaddr:67 with giaddr echoed', async () => {
    const t = setup()
    const discover = patched(udhcpc[0]!, { giaddr: '198.18.10.2', hops: 1 })
    const offer = only(await t.send(discover, relay))
    expect(offer.to).toMatchObject({ address: '198.18.10.2', port: 67, rule: 'relay', broadcast: false })
    expect(offer.wire.giaddr).toBe('198.18.10.2')
    expect(offer.wire.options.serverId).toBe(SERVER)
    const req = patched(udhcpc[1]!, {
      giaddr: '198.18.10.2',
      hops: 1,
      options: { requestedIp: offer.wire.yiaddr },
    })
    const ack = only(await t.send(req, relay))
    expect(ack.to).toMatchObject({ address: '198.18.10.2', port: 67 })
    // A NAK through a relay sets the broadcast bit so the relay broadcasts it (§4.3.2).
    // Another MAC, INIT-REBOOT for the address just bound: held, so NAK.
    const bad = patched(udhcpc[1]!, {
      giaddr: '198.18.10.2',
      options: { requestedIp: offer.wire.yiaddr, serverId: undefined },
    })
    const nak = only(await t.send(patched(bad, { chaddr: Uint8Array.of(2, 0, 0, 0, 0, 9) }), relay))
    expect(nak.wire.options.messageType).toBe(DhcpMessageType.Nak)
    expect(nak.wire.flags & BROADCAST_FLAG).toBe(BROADCAST_FLAG)
    expect(nak.to).toMatchObject({ address: '198.18.10.2', port: 67 })
  })

  it('giaddr on a subnet we have no pool for: silence (another server’s clients)', async () => {
    const t = setup()
    silent(await t.send(patched(udhcpc[0]!, { giaddr: '198.18.99.1' }), relay))
    silent(await t.send(patched(bios[0]!, { giaddr: '198.18.99.1' }), relay))
    expect(t.book.size).toBe(0)
    expect(t.pxeCalls).toEqual([]) // capture never sees another subnet's PXE clients
  })
})

describe('proxy mode (PXE spec 2.1 §2.2.3–2.2.4)', () => {
  it('PXE DISCOVER → boot-only OFFER with yiaddr 0.0.0.0; plain clients and 67 REQUESTs are ignored', async () => {
    const t = setup({ mode: 'proxy' })
    const offer = only(await t.send(edk2[0]!))
    expect(offer.wire.options.messageType).toBe(DhcpMessageType.Offer)
    expect(offer.wire.yiaddr).toBe('0.0.0.0')
    expect(offer.wire.file).toBe('ipxe.efi')
    expect(offer.wire.options.vendorClassId).toBe('PXEClient')
    expect(offer.wire.options.leaseTime).toBeUndefined()
    expect(offer.wire.options.serverId).toBe(SERVER)
    silent(await t.send(udhcpc[0]!))
    silent(await t.send(patched(edk2[1]!, { options: { requestedIp: '198.18.10.150' } })))
    expect(t.book.size).toBe(0)
    expect(t.records).toEqual([])
  })

  it('REQUEST on 4011 → ACK to its source address and port, still no address', async () => {
    const t = setup({ mode: 'proxy' })
    const from = { localPort: 4011, from: { address: '198.18.10.150', port: 4011 } }
    const req = patched(edk2[1]!, { ciaddr: '198.18.10.150', options: { requestedIp: undefined } })
    const ack = only(await t.send(req, from))
    expect(ack.wire.options.messageType).toBe(DhcpMessageType.Ack)
    expect(ack.wire.yiaddr).toBe('0.0.0.0')
    expect(ack.wire.file).toBe('ipxe.efi')
    expect(ack.to).toMatchObject({ address: '198.18.10.150', port: 4011, rule: 'proxy-4011' })
  })

  it('in server mode, port 4011 is not served', async () => {
    const t = setup()
    silent(await t.send(edk2[1]!, { localPort: 4011, from: { address: '198.18.10.150', port: 4011 } }))
  })
})

describe('reservations in the engine', () => {
  it('a reserved MAC gets its address; another MAC asking for it is refused', async () => {
    const reservations: Reservations = {
      ipFor: (mac) => (mac === '52:54:00:0a:00:01' ? ip('198.18.10.11') : null),
      reservedFor: (a) => (a === ip('198.18.10.11') ? ['52:54:00:0a:00:01'] : null),
    }
    const t = setup({}, { reservations })
    const offer = only(await t.send(bios[0]!))
    expect(offer.wire.yiaddr).toBe('198.18.10.11')
    // INIT-REBOOT of the reserved client with no lease on record is answered (its address is outside the pool).
    const ack = only(
      await t.send(patched(bios[1]!, { options: { requestedIp: '198.18.10.11', serverId: undefined } })),
    )
    expect(ack.wire.options.messageType).toBe(DhcpMessageType.Ack)
    const thief = patched(udhcpc[1]!, { options: { requestedIp: '198.18.10.11', serverId: SERVER } })
    expect(only(await t.send(thief)).wire.options.messageType).toBe(DhcpMessageType.Nak)
  })

  it('a reserved address is ACKed once its line is written; a pool address only once it is fdatasynced', async () => {
    const reservations: Reservations = {
      ipFor: (mac) => (mac === '52:54:00:0a:00:01' ? ip('198.18.10.11') : null),
      reservedFor: (a) => (a === ip('198.18.10.11') ? ['52:54:00:0a:00:01'] : null),
    }
    const t = setup({}, { reservations })
    only(await t.send(bios[0]!))
    const ack = only(
      await t.send(patched(bios[1]!, { options: { requestedIp: '198.18.10.11', serverId: SERVER } })),
    )
    expect(ack.wire.options.messageType).toBe(DhcpMessageType.Ack)
    // udhcpc has no reservation: a pool address, whose only owner record is the journal.
    const offer = only(await t.send(udhcpc[0]!))
    const poolAck = only(
      await t.send(patched(udhcpc[1]!, { options: { requestedIp: offer.wire.yiaddr, serverId: SERVER } })),
    )
    expect(poolAck.wire.options.messageType).toBe(DhcpMessageType.Ack)
    expect(t.records.map((r) => (r.kind === 'lease' ? intToIp(r.lease.ip) : r.kind))).toEqual([
      '198.18.10.11',
      offer.wire.yiaddr,
    ])
    expect(t.levels).toEqual(['written', 'synced'])
  })
})
