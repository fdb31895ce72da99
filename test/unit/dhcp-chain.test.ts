/**
 * `ipxeRomChain: 'own-ipxe'`: a foreign iPXE (QEMU's NIC ROM) is chained into our TFTP binary, and the
 * binary's own DHCP gets the script. Fed the real packets of test/fixtures/dhcp: bios-undionly.pcap holds
 * the iPXE ROM's exchange (xid A) and then the chainloaded undionly.kpxe's (xid B), options identical
 * (175.177 bus type 1 = PCI in both), so the engine's per-MAC memory is what tells them apart.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  ChainMemory,
  CHAIN_WINDOW_MS,
  DhcpMessageType,
  bootDecision,
  decodePacket,
  describeIpxe,
  encodePacket,
  isOwnIpxe,
  type BootContext,
  type DhcpPacket,
} from '../../electron/core/boot/dhcp'
import { DhcpEngine, type Outcome } from '../../electron/core/boot/dhcp/engine'
import { LeaseBook } from '../../electron/core/boot/dhcp/leases'
import { ipToInt, parseCidr } from '../../electron/core/util/ipv4'
import { readPcapUdp } from '../support/pcap'

const DIR = join(import.meta.dirname, '../fixtures/dhcp')
const SERVER = '198.18.10.1'
const SCRIPT = /^http:\/\/198\.18\.10\.1:8080\/ipxe\//

function clientPackets(name: string): DhcpPacket[] {
  return readPcapUdp(join(DIR, `${name}.pcap`))
    .filter((d) => d.dstPort === 67)
    .map((d) => {
      const r = decodePacket(d.payload)
      if (!r.ok) throw new Error(`${name}: ${r.error}`)
      return r.value
    })
}

const undionly = clientPackets('bios-undionly') // ROM D, ROM R, undionly D, undionly R
const edk2 = clientPackets('uefi-edk2-ipxe') // EDK2 PXE D, R, then ipxe.efi D, R
const rom = clientPackets('bios-ipxe-rom')

describe('the fixtures: why the policy needs memory', () => {
  it('the iPXE ROM and undionly.kpxe send the same options, bus id type PCI in both; only the xid differs', () => {
    const [romD, , chainedD] = undionly
    expect(romD!.xid).not.toBe(chainedD!.xid)
    expect(chainedD!.options.userClass).toEqual(romD!.options.userClass)
    expect(chainedD!.options.vendorClassId).toBe(romD!.options.vendorClassId)
    const bus = (p: DhcpPacket) => describeIpxe(p.options.ipxe ?? []).busId
    expect(bus(romD!)).toEqual(bus(chainedD!))
    expect(bus(romD!)?.busType).toBe(1) // PCI, not UNDI: 175.177 cannot tell the chained build apart
  })
})

describe('isOwnIpxe (pure)', () => {
  const A = 0xa
  const B = 0xb
  const C = 0xc
  const cases: Array<[string, Parameters<typeof isOwnIpxe>[0], number, number, boolean]> = [
    ['no chain answered', undefined, B, 0, false],
    ["the ROM's own exchange (OFFER and ACK alike)", { chainXid: A, at: 0 }, A, 1000, false],
    ['the next exchange after the chain', { chainXid: A, at: 0 }, B, 1000, true],
    ['its REQUEST (same xid as the scripted DISCOVER)', { chainXid: A, scriptXid: B, at: 0 }, B, 2000, true],
    ['a third exchange is a new boot', { chainXid: A, scriptXid: B, at: 0 }, C, 3000, false],
    ['past the window', { chainXid: A, at: 0 }, B, CHAIN_WINDOW_MS + 1, false],
  ]
  it.each(cases)('%s', (_, entry, xid, now, own) => {
    expect(isOwnIpxe(entry, xid, now, CHAIN_WINDOW_MS)).toBe(own)
  })

  it('the memory is bounded: the oldest MAC goes first', () => {
    const m = new ChainMemory(CHAIN_WINDOW_MS, 3)
    for (let i = 0; i < 5; i++) m.chained(`52:54:00:00:00:0${i}`, i, 0)
    expect(m.size).toBe(3)
    expect(m.isOwnIpxe('52:54:00:00:00:00', 99, 1)).toBe(false)
    expect(m.isOwnIpxe('52:54:00:00:00:04', 99, 1)).toBe(true)
  })
})

describe('bootDecision with ipxeRomChain', () => {
  const ctx: BootContext = { serverIp: SERVER, httpPort: 8080 }
  const own: BootContext = { ...ctx, ipxeRomChain: 'own-ipxe' }
  const romD = undionly[0]!
  const efiIpxeD = edk2[2]!
  const file = (d: ReturnType<typeof bootDecision>) => (d.action === 'boot' ? d.file : `none: ${d.reason}`)
  const rows: Array<[string, DhcpPacket, BootContext, boolean, string | RegExp]> = [
    ['script (default): BIOS ROM gets the script', romD, ctx, false, SCRIPT],
    ['own-ipxe: BIOS ROM gets undionly.kpxe', romD, own, false, 'undionly.kpxe'],
    ['own-ipxe: our chained BIOS iPXE gets the script', undionly[2]!, own, true, SCRIPT],
    ['own-ipxe: EFI iPXE ROM gets ipxe.efi', efiIpxeD, own, false, 'ipxe.efi'],
    [
      'own-ipxe: EFI iPXE ROM gets snponly.efi when set',
      efiIpxeD,
      { ...own, efiBootFile: 'snponly.efi' },
      false,
      'snponly.efi',
    ],
    [
      'own-ipxe: binary missing, the ROM keeps the script',
      romD,
      { ...own, tftpFileExists: () => false },
      false,
      SCRIPT,
    ],
    ['own-ipxe: firmware PXE is unchanged', edk2[0]!, own, false, 'ipxe.efi'],
  ]
  it.each(rows)('%s', (_, packet, c, ownIpxe, expected) => {
    const d = bootDecision(packet, c, { ownIpxe })
    expect(file(d)).toMatch(expected)
    if (d.action === 'boot' && d.protocol === 'tftp') {
      expect(d.options.tftpServerName).toBe(SERVER)
      expect(d.options.bootFileName).toBe(d.file)
      expect(d.siaddr).toBe(SERVER)
    }
  })
})

function setup(ipxeRomChain?: 'script' | 'own-ipxe') {
  let clock = Date.parse('2026-11-26T10:00:00Z')
  const subnet = parseCidr('198.18.10.0/24')
  if (!subnet.ok) throw new Error(subnet.error)
  const book = new LeaseBook(
    { start: ipToInt('198.18.10.100')!, end: ipToInt('198.18.10.199')!, exclude: new Set() },
    { ipFor: () => null, reservedFor: () => null },
  )
  const engine = new DhcpEngine({
    config: {
      mode: 'server',
      serverIp: SERVER,
      subnet: subnet.value,
      gateway: null,
      dns: [],
      domain: '',
      leaseSeconds: 3600,
      offerHoldMs: 30_000,
      declineQuarantineMs: 600_000,
      boot: { httpPort: 8080, ipxeRomChain },
    },
    book,
    journal: { record: () => Promise.resolve() },
    nodeName: () => null,
    now: () => clock,
    emit: () => undefined,
  })
  const on67 = { localPort: 67, from: { address: '0.0.0.0', port: 68 } }
  /** One client exchange: DISCOVER, then its REQUEST for what we offered; the boot file of OFFER and ACK. */
  const exchange = async (discover: DhcpPacket, request: DhcpPacket, xid?: number) => {
    const offer = wire(await engine.handle(xid === undefined ? discover : { ...discover, xid }, on67))
    const req = structuredClone(request)
    req.options.requestedIp = offer.yiaddr
    req.options.serverId = SERVER
    if (xid !== undefined) req.xid = xid
    const ack = wire(await engine.handle(req, on67))
    expect(offer.options.messageType).toBe(DhcpMessageType.Offer)
    expect(ack.options.messageType).toBe(DhcpMessageType.Ack)
    expect(ack.file).toBe(offer.file) // OFFER and ACK agree (PXE-NOTES)
    expect(ack.options.bootFileName).toBe(offer.options.bootFileName)
    return offer.file
  }
  return { exchange, advance: (ms: number) => (clock += ms) }
}

function wire(o: Outcome): DhcpPacket {
  if (o.kind !== 'replies') throw new Error(`expected a reply, got ignored: ${o.reason}`)
  const r = decodePacket(encodePacket(o.replies[0]!.packet))
  if (!r.ok) throw new Error(r.error)
  return r.value
}

describe('the engine chains a foreign iPXE once per boot (real packets)', () => {
  const [romD, romR, chainD, chainR] = undionly

  it('own-ipxe: ROM -> undionly.kpxe, chained undionly -> script, a later boot chains again', async () => {
    const t = setup('own-ipxe')
    expect(await t.exchange(romD!, romR!)).toBe('undionly.kpxe')
    expect(await t.exchange(chainD!, chainR!)).toMatch(SCRIPT)
    // The node reboots: its ROM asks with a new xid and is chained again, then its undionly gets the script.
    t.advance(60_000)
    expect(await t.exchange(romD!, romR!, 0x1234)).toBe('undionly.kpxe')
    expect(await t.exchange(chainD!, chainR!, 0x5678)).toMatch(SCRIPT)
  })

  it('own-ipxe: the chain never loops: only the first iPXE exchange after a chain answer gets the script', async () => {
    const t = setup('own-ipxe')
    const files: string[] = []
    // Six iPXE exchanges in a row with fresh xids, as a client restarting iPXE over and over would send.
    for (let i = 0; i < 6; i++) files.push(await t.exchange(romD!, romR!, 0x100 + i))
    expect(files.filter((f) => f === 'undionly.kpxe')).toHaveLength(3)
    expect(files.filter((f) => SCRIPT.test(f))).toHaveLength(3)
    expect(files[0]).toBe('undionly.kpxe')
  })

  it('own-ipxe: past the window the next iPXE is a new boot and is chained', async () => {
    const t = setup('own-ipxe')
    expect(await t.exchange(romD!, romR!)).toBe('undionly.kpxe')
    t.advance(CHAIN_WINDOW_MS + 1000)
    expect(await t.exchange(chainD!, chainR!)).toBe('undionly.kpxe')
  })

  it('own-ipxe: EDK2 PXE -> ipxe.efi, and that ipxe.efi gets the script (not chained again)', async () => {
    const t = setup('own-ipxe')
    expect(await t.exchange(edk2[0]!, edk2[1]!)).toBe('ipxe.efi')
    expect(await t.exchange(edk2[2]!, edk2[3]!)).toMatch(SCRIPT)
  })

  it("script (default): both the ROM and undionly get the script, today's behaviour", async () => {
    const t = setup()
    expect(await t.exchange(romD!, romR!)).toMatch(SCRIPT)
    expect(await t.exchange(chainD!, chainR!)).toMatch(SCRIPT)
    expect(await t.exchange(rom[0]!, rom[1]!)).toMatch(SCRIPT)
  })
})
