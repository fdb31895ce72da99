/**
 * Golden fixtures: DHCP packets recorded from real clients (QEMU's iPXE ROM, chainloaded undionly.kpxe,
 * OVMF/EDK2 PXE and HTTP Boot, ipxe.efi, busybox udhcpc, ISC dhclient) talking to dnsmasq, by
 * test/support/capture-dhcp.sh (see test/fixtures/dhcp/README.md). Client packets pin what our policy
 * relies on; dnsmasq's replies cross-check the decoder against another implementation's encoding.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  BROADCAST_FLAG,
  DhcpMessageType,
  bootDecision,
  classifyClient,
  clientMac,
  decodePacket,
  describeIpxe,
  encodePacket,
  machineUuid,
  replyDestination,
  type DhcpPacket,
} from '../../electron/core/boot/dhcp'
import { readPcapUdp, type UdpDatagram } from '../support/pcap'

const DIR = join(import.meta.dirname, '../fixtures/dhcp')
const ctx = { serverIp: '198.18.10.1', httpPort: 8080 }
const scriptUrl = (mac: string) => `http://198.18.10.1:8080/ipxe/${mac}`

interface Captured {
  d: UdpDatagram
  p: DhcpPacket
}
function load(name: string): { fromClient: Captured[]; fromServer: Captured[] } {
  const all = readPcapUdp(join(DIR, `${name}.pcap`)).map((d) => {
    const r = decodePacket(d.payload)
    if (!r.ok) throw new Error(`${name}: a real packet failed to decode: ${r.error}`)
    return { d, p: r.value }
  })
  return {
    fromClient: all.filter((c) => c.d.dstPort === 67),
    fromServer: all.filter((c) => c.d.srcPort === 67),
  }
}
const types = (cs: Captured[]) => cs.map((c) => c.p.options.messageType)

// iPXE 1.0.0+git-20190125 (Debian ipxe / ipxe-qemu) asks for these, BIOS and EFI alike.
const IPXE_PRL = [
  1, 3, 6, 7, 12, 15, 17, 26, 43, 60, 66, 67, 119, 128, 129, 130, 131, 132, 133, 134, 135, 175, 203,
]
// EDK2 (OVMF 2022.11) PXE.
const EDK2_PRL = [
  1, 2, 3, 4, 5, 6, 12, 13, 15, 17, 18, 22, 23, 28, 40, 41, 42, 43, 50, 51, 54, 58, 59, 60, 66, 67, 97,
]
const EDK2_PRL_TAIL = [128, 129, 130, 131, 132, 133, 134, 135]

/** Checks every reply dnsmasq sent: decodable, from our server id, and where our replyDestination would send it. */
function checkServerReplies(replies: Captured[], requests: Captured[]) {
  expect(replies.length).toBeGreaterThan(0)
  for (const { d, p } of replies) {
    expect(p.op).toBe(2)
    expect(p.options.serverId).toBe('198.18.10.1')
    expect(p.siaddr).toBe('198.18.10.1')
    expect(p.yiaddr).toMatch(/^198\.18\.10\.1\d\d$/)
    expect(p.options.subnetMask).toBe('255.255.255.0')
    expect(p.options.leaseTime).toBe(3600)
    const req = requests.filter((r) => r.p.xid === p.xid && r.d.time <= d.time).at(-1)!
    // dnsmasq can write ARP entries, so it unicasts where we broadcast (yiaddr-broadcast); with the
    // same ability our function picks the same destination.
    const ours = replyDestination(req.p, { kind: 'ack', yiaddr: p.yiaddr, canUnicastToUnconfigured: true })
    expect(`${ours.address}:${ours.port}`).toBe(`${d.dstIp}:${d.dstPort}`)
    expect(p.flags).toBe(req.p.flags & BROADCAST_FLAG)
  }
}

describe('golden: QEMU iPXE ROM (BIOS, virtio-net)', () => {
  const { fromClient, fromServer } = load('bios-ipxe-rom')

  it('sends DISCOVER then REQUEST with the iPXE options we rely on', () => {
    expect(types(fromClient)).toEqual([DhcpMessageType.Discover, DhcpMessageType.Request])
    for (const { p } of fromClient) {
      const o = p.options
      expect(clientMac(p)).toBe('52:54:00:0a:00:01')
      expect(p.flags & BROADCAST_FLAG).toBe(0) // the ROM does not ask for broadcast
      expect(o.vendorClassId).toBe('PXEClient:Arch:00000:UNDI:002001')
      expect(o.clientArch).toEqual([0])
      expect(o.clientNdi).toEqual({ type: 1, major: 2, minor: 1 })
      expect(o.userClass).toEqual(['iPXE'])
      expect(o.maxMessageSize).toBe(1472)
      expect(o.parameterRequestList).toEqual(IPXE_PRL)
      expect(o.clientId).toEqual({ type: 1, data: p.chaddr })
      expect(machineUuid(o.clientMachineId)).toBe('00112233-4455-6677-8899-5254000a0001')
      const ipxe = describeIpxe(o.ipxe!)
      expect(ipxe.features).toEqual(expect.arrayContaining(['http', 'tftp', 'dns', 'pxe', 'bzimage']))
      expect(ipxe.busId).toEqual({ busType: 1, vendor: 0x1af4, device: 0x1000 }) // virtio-net PCI id
      expect(o.raw).toEqual([])
    }
    expect(fromClient[1]!.p.options.requestedIp).toBe(fromServer[0]!.p.yiaddr)
  })

  it('gets the iPXE script URL from our policy, with 175.176 = 1', () => {
    const d = bootDecision(fromClient[0]!.p, ctx)
    expect(d).toMatchObject({ action: 'boot', protocol: 'http', file: scriptUrl('52:54:00:0a:00:01') })
    expect(d.client).toMatchObject({
      kind: 'ipxe',
      firmware: 'bios',
      uuid: '00112233-4455-6677-8899-5254000a0001',
    })
    if (d.action === 'boot') expect(d.options.ipxe).toEqual([{ code: 176, data: Uint8Array.of(1) }])
  })

  it("decodes dnsmasq's replies (script URL in option 67, 175 with an end marker, compressed 119)", () => {
    expect(types(fromServer)).toEqual([DhcpMessageType.Offer, DhcpMessageType.Ack])
    for (const { p } of fromServer) {
      expect(p.options.bootFileName).toBe('http://198.18.10.1:8080/ipxe/52-54-00-00-00-00')
      expect(describeIpxe(p.options.ipxe!).noPxeDhcp).toBe(1)
      expect(p.options.domainSearch).toEqual(['rack.test', 'lab.rack.test'])
      expect(p.options.routers).toEqual(['198.18.10.1'])
    }
    checkServerReplies(fromServer, fromClient)
  })
})

describe('golden: iPXE ROM (e1000) chaining undionly.kpxe over TFTP', () => {
  const { fromClient, fromServer } = load('bios-undionly')
  const discovers = fromClient.filter((c) => c.p.options.messageType === DhcpMessageType.Discover)

  it('has two rounds: the ROM, then undionly.kpxe, with identical options; only undionly sets broadcast', () => {
    expect(types(fromClient)).toEqual([1, 3, 1, 3])
    const [rom, undionly] = discovers.map((c) => c.p)
    expect(rom!.flags & BROADCAST_FLAG).toBe(0)
    expect(undionly!.flags & BROADCAST_FLAG).toBe(BROADCAST_FLAG)
    expect(undionly!.xid).not.toBe(rom!.xid)
    expect(undionly!.options).toEqual(rom!.options) // so "already chained" must be tracked per MAC
    expect(describeIpxe(rom!.options.ipxe!).busId).toEqual({ busType: 1, vendor: 0x8086, device: 0x100e }) // e1000
  })

  it('both stages classify as BIOS iPXE and get the script URL', () => {
    for (const { p } of discovers)
      expect(bootDecision(p, ctx)).toMatchObject({
        action: 'boot',
        client: { kind: 'ipxe', firmware: 'bios', vendorClass: 'PXEClient:Arch:00000:UNDI:002001' },
        file: scriptUrl('52:54:00:0a:00:02'),
      })
  })

  it("decodes dnsmasq's undionly.kpxe replies, unicast then broadcast as the flag asks", () => {
    expect(fromServer.map((c) => c.p.options.bootFileName)).toEqual(Array(4).fill('undionly.kpxe'))
    expect(fromServer.map((c) => c.d.dstIp)).toEqual([
      '198.18.10.186',
      '198.18.10.186',
      '255.255.255.255',
      '255.255.255.255',
    ])
    checkServerReplies(fromServer, fromClient)
  })
})

describe('golden: OVMF (EDK2) PXE, then ipxe.efi', () => {
  const { fromClient, fromServer } = load('uefi-edk2-ipxe')
  const edk2 = fromClient.filter((c) => c.p.options.userClass === undefined)
  const ipxe = fromClient.filter((c) => c.p.options.userClass !== undefined)

  it('EDK2 sends arch 7, UNDI 3.0, broadcast flag, its UUID and no client id', () => {
    expect(types(edk2)).toEqual([1, 3])
    for (const { p } of edk2) {
      const o = p.options
      expect(p.flags & BROADCAST_FLAG).toBe(BROADCAST_FLAG)
      expect(o.vendorClassId).toBe('PXEClient:Arch:00007:UNDI:003000')
      expect(o.clientArch).toEqual([7])
      expect(o.clientNdi).toEqual({ type: 1, major: 3, minor: 0 })
      expect(o.parameterRequestList).toEqual([...EDK2_PRL, ...EDK2_PRL_TAIL])
      expect(o.clientId).toBeUndefined()
      expect(machineUuid(o.clientMachineId)).toBe('00112233-4455-6677-8899-5254000a0003')
    }
    // EDK2 announces 1472 in DISCOVER and 65280 in REQUEST.
    expect(edk2.map((c) => c.p.options.maxMessageSize)).toEqual([1472, 65280])
  })

  it('EDK2 PXE gets ipxe.efi over TFTP (or snponly.efi by setting)', () => {
    const req = edk2[0]!.p
    expect(bootDecision(req, ctx)).toMatchObject({
      action: 'boot',
      protocol: 'tftp',
      file: 'ipxe.efi',
      siaddr: '198.18.10.1',
      options: { tftpServerName: '198.18.10.1', bootFileName: 'ipxe.efi' },
      client: { kind: 'uefi-pxe', firmware: 'efi-x64', uuid: '00112233-4455-6677-8899-5254000a0003' },
    })
    expect(bootDecision(req, { ...ctx, efiBootFile: 'snponly.efi' })).toMatchObject({ file: 'snponly.efi' })
  })

  it('ipxe.efi says UNDI 3.10, user class iPXE, EFI feature, and gets the script URL', () => {
    expect(types(ipxe)).toEqual([1, 3])
    const o = ipxe[0]!.p.options
    expect(o.vendorClassId).toBe('PXEClient:Arch:00007:UNDI:003010')
    expect(o.clientNdi).toEqual({ type: 1, major: 3, minor: 10 })
    expect(o.parameterRequestList).toEqual(IPXE_PRL)
    expect(describeIpxe(o.ipxe!).features).toContain('efi')
    expect(ipxe[0]!.p.flags & BROADCAST_FLAG).toBe(0)
    expect(bootDecision(ipxe[0]!.p, ctx)).toMatchObject({
      action: 'boot',
      file: scriptUrl('52:54:00:0a:00:03'),
      client: { kind: 'ipxe', firmware: 'efi-x64' },
    })
  })

  it("decodes dnsmasq's replies: ipxe.efi to EDK2 (broadcast), the script URL to iPXE", () => {
    expect(fromServer.map((c) => c.p.options.bootFileName)).toEqual([
      'ipxe.efi',
      'ipxe.efi',
      'http://198.18.10.1:8080/ipxe/52-54-00-00-00-00',
      'http://198.18.10.1:8080/ipxe/52-54-00-00-00-00',
    ])
    checkServerReplies(fromServer, fromClient)
  })
})

describe('golden: OVMF UEFI HTTP Boot (after PXE got no boot file)', () => {
  const { fromClient, fromServer } = load('uefi-httpboot')
  const http = fromClient.filter((c) => c.p.options.vendorClassId?.startsWith('HTTPClient'))

  it('EDK2 retries PXE DISCOVER, then sends HTTPClient arch 16', () => {
    const pxe = fromClient.filter((c) => c.p.options.vendorClassId?.startsWith('PXEClient'))
    expect(pxe.length).toBeGreaterThanOrEqual(2)
    expect(types(pxe).every((t) => t === DhcpMessageType.Discover)).toBe(true) // never took a file-less offer
    expect(types(http)).toEqual([1, 3])
    const o = http[0]!.p.options
    expect(o.vendorClassId).toBe('HTTPClient:Arch:00016:UNDI:003000')
    expect(o.clientArch).toEqual([16])
    // EDK2 HttpBootDxe asks for option 241 where PXE asked for 66 (tcpdump mislabels it PAD).
    expect(o.parameterRequestList).toEqual([...EDK2_PRL.map((c) => (c === 66 ? 241 : c))])
    expect(machineUuid(o.clientMachineId)).toBe('00112233-4455-6677-8899-5254000a0004')
  })

  it('gets a URL as the file and HTTPClient echoed; its PXE stage gets ipxe.efi', () => {
    expect(bootDecision(http[0]!.p, ctx)).toMatchObject({
      action: 'boot',
      protocol: 'http',
      file: 'http://198.18.10.1:8080/boot/ipxe.efi',
      options: { vendorClassId: 'HTTPClient', bootFileName: 'http://198.18.10.1:8080/boot/ipxe.efi' },
      client: { kind: 'http-boot', firmware: 'efi-x64' },
    })
    expect(classifyClient(fromClient[0]!.p).kind).toBe('uefi-pxe')
  })

  it("decodes dnsmasq's HTTP Boot replies (option 60 HTTPClient, URL in 67)", () => {
    const httpReplies = fromServer.filter((c) => c.p.options.vendorClassId === 'HTTPClient')
    expect(types(httpReplies)).toEqual([DhcpMessageType.Offer, DhcpMessageType.Ack])
    for (const { p } of httpReplies)
      expect(p.options.bootFileName).toBe('http://198.18.10.1:8080/boot/ipxe.efi')
    checkServerReplies(fromServer, fromClient)
  })
})

describe('golden: our reply to each real PXE request agrees with what dnsmasq answered', () => {
  const cases: Array<[string, (c: Captured) => boolean]> = [
    ['bios-ipxe-rom', () => true],
    ['uefi-edk2-ipxe', () => true],
    ['uefi-httpboot', (c) => c.p.options.vendorClassId?.startsWith('HTTPClient') === true],
  ]
  it.each(cases)('%s', (name, pick) => {
    const { fromClient, fromServer } = load(name)
    for (const req of fromClient.filter(pick)) {
      const theirs = fromServer.find((s) => s.p.xid === req.p.xid && s.d.time >= req.d.time)!.p
      const d = bootDecision(req.p, ctx)
      if (d.action !== 'boot') throw new Error(d.reason)
      const offer: DhcpPacket = {
        ...req.p,
        op: 2,
        yiaddr: theirs.yiaddr,
        siaddr: d.siaddr,
        sname: d.sname,
        file: d.file,
        options: {
          messageType: 2,
          serverId: '198.18.10.1',
          leaseTime: 3600,
          subnetMask: '255.255.255.0',
          ...d.options,
        },
      }
      const bytes = encodePacket(offer, { maxSize: req.p.options.maxMessageSize })
      expect(bytes.length).toBeLessThanOrEqual((req.p.options.maxMessageSize ?? 576) - 28)
      const ours = decodePacket(bytes)
      if (!ours.ok) throw new Error(ours.error)
      // dnsmasq's file names differ only where we name the script by MAC; the protocol must agree.
      const scheme = (s: string | undefined) => (s?.startsWith('http://') ? 'http' : s)
      expect(scheme(ours.value.options.bootFileName)).toBe(scheme(theirs.options.bootFileName))
      expect(ours.value.options.vendorClassId).toBe(theirs.options.vendorClassId)
      expect(ours.value.siaddr).toBe(theirs.siaddr)
      expect(describeIpxe(ours.value.options.ipxe ?? []).noPxeDhcp).toBe(
        describeIpxe(theirs.options.ipxe ?? []).noPxeDhcp,
      )
    }
  })
})

describe('golden: busybox udhcpc 1.35.0', () => {
  const { fromClient, fromServer } = load('udhcpc')

  it('DISCOVER, REQUEST, RENEW (ciaddr, unicast), RELEASE; no boot file for it', () => {
    expect(types(fromClient)).toEqual([1, 3, 3, 7])
    const [discover, , renew, release] = fromClient
    expect(discover!.p.options).toMatchObject({
      vendorClassId: 'udhcp 1.35.0',
      maxMessageSize: 576,
      parameterRequestList: [1, 3, 6, 12, 15, 28, 42],
    })
    expect(bootDecision(discover!.p, ctx)).toMatchObject({ action: 'none', client: { kind: 'dhcp' } })
    expect(renew!.p.ciaddr).toBe('198.18.10.180')
    expect(renew!.d.dstIp).toBe('198.18.10.1')
    expect(renew!.p.options.requestedIp).toBeUndefined() // RENEWING: RFC 2131 §4.3.2, no option 50
    expect(replyDestination(renew!.p, { kind: 'ack' })).toMatchObject({
      address: '198.18.10.180',
      port: 68,
      rule: 'ciaddr',
    })
    expect(release!.p.ciaddr).toBe('198.18.10.180')
  })

  it("decodes dnsmasq's replies", () => {
    expect(types(fromServer)).toEqual([2, 5, 5])
    for (const { p } of fromServer) expect(p.options.bootFileName).toBeUndefined()
    checkServerReplies(fromServer, fromClient)
  })
})

describe('golden: ISC dhclient 4.4.3-P1', () => {
  const { fromClient, fromServer } = load('dhclient')

  it('sends no vendor class, asks for 119 and 121, and gets no boot file', () => {
    expect(types(fromClient)).toEqual([1, 3, 7])
    const o = fromClient[0]!.p.options
    expect(o.vendorClassId).toBeUndefined()
    expect(o.parameterRequestList).toEqual([1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42])
    expect(o.maxMessageSize).toBeUndefined()
    expect(bootDecision(fromClient[0]!.p, ctx)).toMatchObject({
      action: 'none',
      reason: expect.stringMatching(/no vendor class/),
    })
    expect(fromClient[2]!.p.ciaddr).toBe('198.18.10.180')
  })

  it("decodes dnsmasq's replies, including the compressed 119 it asked for", () => {
    expect(types(fromServer)).toEqual([2, 5])
    for (const { p } of fromServer) expect(p.options.domainSearch).toEqual(['rack.test', 'lab.rack.test'])
    checkServerReplies(fromServer, fromClient)
  })
})
