/**
 * The storm simulator's pure parts: firmware mix, iPXE URL expansion and script parsing (against the golden
 * scripts in test/fixtures/ipxe), the summary's percentiles and shared-address check, link rates. The DHCP
 * options a simulated ROM sends are checked against the real clients' captures in test/fixtures/dhcp.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { FIRMWARE, firmwareMix, stageOptions } from '../../electron/core/sim/firmware'
import { expandIpxeUrl, scriptFetches } from '../../electron/core/sim/http-client'
import { percentile, summarize, type NodeResult } from '../../electron/core/sim/summary'
import { linkBytesPerSecond, withLimit, withQemu } from '../../electron/cli/sim'
import { decodePacket } from '../../electron/core/boot/dhcp/packet'
import { classifyClient } from '../../electron/core/boot/dhcp/pxe'
import { readPcapUdp } from '../support/pcap'

const requestsOf = (file: string) =>
  readPcapUdp(`test/fixtures/dhcp/${file}`)
    .map((d) => decodePacket(d.payload))
    .filter((r) => r.ok && r.value.op === 1)
    .map((r) => (r.ok ? r.value : null)!)

describe('firmwareMix', () => {
  it('spreads bios:uefi weights evenly over the nodes', () => {
    expect(firmwareMix('1:1', 4)).toEqual(['bios', 'uefi', 'bios', 'uefi'])
    expect(firmwareMix('1:0', 3)).toEqual(['bios', 'bios', 'bios'])
    expect(firmwareMix('0:1', 2)).toEqual(['uefi', 'uefi'])
    const three = firmwareMix('3:1', 8)!
    expect(three.filter((f) => f === 'bios')).toHaveLength(6)
  })
  it('refuses what is not two weights', () => {
    expect(firmwareMix('0:0', 3)).toBeNull()
    expect(firmwareMix('bios', 3)).toBeNull()
    expect(firmwareMix('1:1:1', 3)).toBeNull()
  })
})

describe('simulated firmware DHCP options', () => {
  it('an iPXE stage sends the option 55 and 60 real iPXE sends, and the server classifies it as iPXE', () => {
    const real = requestsOf('bios-undionly.pcap')[0]!
    const sim = stageOptions(FIRMWARE.bios.ipxe, 'discover', new Uint8Array(16))
    expect(sim.parameterRequestList).toEqual(real.options.parameterRequestList)
    expect(sim.vendorClassId).toBe(real.options.vendorClassId)
    expect(classifyClient({ ...real, options: sim }).kind).toBe('ipxe')
  })
  it('the UEFI ROM stage sends what EDK2 sends (55, 60, 93, 94) and is classified as UEFI PXE', () => {
    const real = requestsOf('uefi-edk2-ipxe.pcap')[0]!
    const sim = stageOptions(FIRMWARE.uefi.rom, 'discover', new Uint8Array(16))
    expect(sim.parameterRequestList).toEqual(real.options.parameterRequestList)
    expect(sim.vendorClassId).toBe(real.options.vendorClassId)
    expect(sim.clientArch).toEqual(real.options.clientArch)
    expect(sim.clientNdi).toEqual(real.options.clientNdi)
    expect(classifyClient({ ...real, options: sim }).kind).toBe('uefi-pxe')
  })
  it('the BIOS ROM stage is classified as BIOS PXE, and REQUEST carries the offered address and server', () => {
    const real = requestsOf('bios-undionly.pcap')[0]!
    const sim = stageOptions(FIRMWARE.bios.rom, 'request', new Uint8Array(16), {
      ip: '198.19.65.10',
      serverId: '198.19.64.1',
    })
    expect(classifyClient({ ...real, options: sim }).kind).toBe('bios-pxe')
    expect(sim.requestedIp).toBe('198.19.65.10')
    expect(sim.serverId).toBe('198.19.64.1')
  })
  it('ROMs wait 4, 8, 16 and 32 s between DISCOVERs (PXE spec 2.1)', () => {
    expect(FIRMWARE.bios.rom.timeoutsS).toEqual([4, 8, 16, 32])
    expect(FIRMWARE.uefi.rom.timeoutsS).toEqual([4, 8, 16, 32])
  })
})

describe('iPXE URLs and scripts', () => {
  it('expands the settings iPXE fills into a DHCP file name', () => {
    expect(
      expandIpxeUrl(
        'http://198.19.64.1:9873/ipxe/${mac:hexhyp}?platform=${platform}&assetkey=${asset:uristring}',
        {
          mac: '02:52:53:00:00:0a',
          platform: 'efi',
        },
      ),
    ).toBe('http://198.19.64.1:9873/ipxe/02-52-53-00-00-0a?platform=efi&assetkey=')
  })
  it('finds the kernel and every initrd of the golden EFI script, in order', () => {
    const script = readFileSync('test/fixtures/ipxe/node-efi.ipxe', 'utf8')
    const got = scriptFetches(script, { mac: '52:54:00:00:00:01', platform: 'efi' })
    expect(got.map((f) => f.name)).toEqual(['kernel', ...got.slice(1).map((f) => f.name)])
    expect(got.length).toBeGreaterThanOrEqual(2)
    for (const f of got) expect(f.url).toMatch(/^http:\/\/[^$]+$/)
  })
  it('finds nothing to fetch in the waiting script', () => {
    const script = readFileSync('test/fixtures/ipxe/unknown-wait.ipxe', 'utf8')
    expect(scriptFetches(script, { mac: '52:54:00:00:00:01', platform: 'pcbios' })).toEqual([])
  })
})

const node = (mac: string, ok: boolean, ips: string[], total: number, bytes = 100): NodeResult => ({
  mac,
  firmware: 'bios',
  ok,
  ip: ips.at(-1) ?? null,
  ips,
  boots: 1,
  dhcpTries: 2,
  tftpAttempts: 1,
  stages: { total },
  bytes,
  errors: ok ? [] : ['boom'],
  startedAt: 1000,
  doneAt: ok ? 1000 + total : null,
})

describe('storm summary', () => {
  it('nearest-rank percentiles', () => {
    const s = Array.from({ length: 100 }, (_, i) => i + 1)
    expect(percentile(s, 50)).toBe(50)
    expect(percentile(s, 95)).toBe(95)
    expect(percentile([7], 95)).toBe(7)
    expect(percentile([], 50)).toBe(0)
  })
  it('counts failures, flags an address given to two MACs, and sums only verified bytes', () => {
    const s = summarize(
      [
        node('a', true, ['10.0.0.1'], 10),
        node('b', true, ['10.0.0.1'], 30),
        node('c', false, ['10.0.0.3'], 0),
      ],
      99,
      { sent: 0, received: 0, unmatched: 0, malformed: 0 },
    )
    expect(s.ok).toBe(2)
    expect(s.failed).toBe(1)
    expect(s.sharedIps).toEqual([{ ip: '10.0.0.1', macs: ['a', 'b'] }])
    expect(s.totalBytes).toBe(200)
    expect(s.wallMs).toBe(99)
    expect(s.failures).toEqual(['c: boom'])
  })
  it('wall time is first power-on to last node done when all booted, and compares with the link limit', () => {
    const s = summarize([node('a', true, ['1'], 10, 125e6), node('b', true, ['2'], 2000, 125e6)], 5000, {
      sent: 0,
      received: 0,
      unmatched: 0,
      malformed: 0,
    })
    expect(s.wallMs).toBe(2000)
    const r = withLimit(s, '1gbit')
    expect(r.physicalLimitMs).toBe(2000)
    expect(r.vsLimit).toBe(1)
  })
  it("QEMU machines join the counts and failures; time and limit stay the simulated nodes'", () => {
    const s = summarize([node('a', true, ['1'], 10, 125e6)], 5000, {
      sent: 0,
      received: 0,
      unmatched: 0,
      malformed: 0,
    })
    const vm = (name: string, ok: boolean) => ({
      name,
      mac: `52:54:00:53:00:0${name.at(-1)}`,
      ip: '198.19.200.20',
      ok,
      bootMs: ok ? 30_000 : null,
      bytes: ok ? 1000 : 0,
      errors: ok ? [] : ['no marker'],
    })
    const r = withQemu(withLimit(s, '1gbit'), [vm('qemu1', true), vm('qemu2', false)])
    expect({ nodes: r.nodes, ok: r.ok, failed: r.failed }).toEqual({ nodes: 3, ok: 2, failed: 1 })
    expect(r.qemu).toMatchObject({ nodes: 2, ok: 1, failed: 1 })
    expect(r.failures).toEqual(['qemu2 (QEMU 52:54:00:53:00:02): no marker'])
    expect(r.wallMs).toBe(s.wallMs)
    expect(r.vsLimit).toBe(withLimit(s, '1gbit').vsLimit)
  })
  it('reads tc rates', () => {
    expect(linkBytesPerSecond('1gbit')).toBe(125e6)
    expect(linkBytesPerSecond('100mbit')).toBe(12.5e6)
    expect(linkBytesPerSecond('fast')).toBeNull()
  })
})
