/**
 * The lab's pure parts, no root needed: names, MACs, QEMU arguments (PXE-NOTES' working line), the
 * console summary over a real iPXE console (captured from a lab node on this machine) and input checks.
 */
import { describe, expect, it } from 'vitest'
import { parseLabSubnet, parseSlotOverride } from '../../electron/core/lab/lab'
import { checkPrefix, labNames } from '../../electron/core/lab/netns'
import { consoleSummary, labMac, qemuArgs } from '../../electron/core/lab/qemu'
import { buildRouterAdvertisement, labIpv6Prefix } from '../../electron/core/lab/ra'
import type { LabNode } from '../../electron/core/lab/state'
import { labTimeline } from '../../electron/core/lab/timeline'
import { newBoot } from '../../electron/core/boot/timeline/model'

const node = (o: Partial<LabNode> = {}): LabNode => ({
  slot: 1,
  name: 'rbl0-node01',
  mac: '52:54:00:00:00:01',
  firmware: 'bios',
  nic: 'virtio',
  memMiB: 512,
  tap: 'rbl0-t1',
  console: '/d/lab/consoles/slot01.log',
  ...o,
})

describe('lab plan', () => {
  it('derives MACs from lab id and slot, distinct across labs and slots', () => {
    expect(labMac(64, 1)).toBe('52:54:00:40:00:01')
    expect(labMac(0, 255)).toBe('52:54:00:00:00:ff')
    expect(new Set([labMac(1, 2), labMac(2, 1), labMac(1, 1)]).size).toBe(3)
  })

  it('keeps every interface name inside IFNAMSIZ', () => {
    expect(checkPrefix('rbl0')).toBeNull()
    expect(checkPrefix('abcdefghij')).toBeNull()
    expect(checkPrefix('abcdefghijk')).toMatch(/too long/)
    expect(checkPrefix('Bad_Name')).toMatch(/lower-case/)
    const n = labNames('abcdefghij')
    for (const name of [n.serverIf, n.clientIf, n.bridge, n.tap(255)])
      expect(name.length).toBeLessThanOrEqual(15)
  })

  it('accepts only a /24 in 198.18.0.0/15', () => {
    expect(parseLabSubnet('198.18.64.0/24')).toEqual({
      base: '198.18.64',
      serverIp: '198.18.64.1',
      pool: '198.18.64.100-198.18.64.199',
    })
    for (const bad of ['10.0.0.0/24', '198.18.64.0/16', '198.20.1.0/24', '198.18.256.0/24'])
      expect(typeof parseLabSubnet(bad)).toBe('string')
  })

  it('BIOS keeps the NIC ROM; UEFI drops it and loads OVMF', () => {
    const bios = qemuArgs(node())
    expect(bios.join(' ')).toContain(
      '-accel tcg -m 512 -nographic -monitor none -serial file:/d/lab/consoles/slot01.log',
    )
    expect(bios).toContain('virtio-net-pci,netdev=n0,mac=52:54:00:00:00:01')
    expect(bios).toContain('tap,id=n0,ifname=rbl0-t1,script=no,downscript=no')
    expect(bios).not.toContain('-bios')
    const uefi = qemuArgs(node({ firmware: 'uefi', nic: 'e1000' }), '/x/OVMF.fd')
    expect(uefi).toContain('e1000,netdev=n0,mac=52:54:00:00:00:01,romfile=')
    expect(uefi.slice(-2)).toEqual(['-bios', '/x/OVMF.fd'])
  })

  it('a UEFI node on the ipxe-rom chain keeps the NIC ROM', () => {
    const rom = qemuArgs(node({ firmware: 'uefi', uefiChain: 'ipxe-rom' }), '/x/OVMF.fd')
    expect(rom).toContain('virtio-net-pci,netdev=n0,mac=52:54:00:00:00:01')
    expect(rom.slice(-2)).toEqual(['-bios', '/x/OVMF.fd'])
  })

  it('parses per-slot overrides and names what it does not know', () => {
    expect(parseSlotOverride('2=uefi,e1000')).toEqual({ slot: 2, firmware: 'uefi', nic: 'e1000' })
    expect(parseSlotOverride('3=ipxe-rom')).toEqual({ slot: 3, uefiChain: 'ipxe-rom' })
    expect(parseSlotOverride('2=uefi,rtl8139')).toMatch(/'rtl8139' is none of bios, uefi, virtio, e1000/)
    expect(parseSlotOverride('x=uefi')).toMatch(/is not <slot>=/)
  })

  it('reads the stage and last line from a real iPXE console', () => {
    const text =
      '\x1b[2J\x1b[01;01H\x1b[=3hSeaBIOS (version 1.16.2-debian-1.16.2-1)\r\n' +
      'iPXE 1.0.0+git-20190125.36a4c85-5.1 -- Open Source Network Boot Firmware -- \x1b[0;36mhttp\r\n' +
      'Configuring (net0 52:54:00:40:00:01)... ok\r\nnet0: 198.18.64.11/255.255.255.0\r\n' +
      'http://198.18.64.1:9873/ipxe/52-54-00-40-00-01... ok\r\n52-54-00-40-00-01 : 695 bytes [script]\r\n\r\n' +
      'Rackboot: node n1 (52:54:00:40:00:01) has no kernel and image yet, waiting\r\nRackboot: asking again every 10 s\r\n'
    expect(consoleSummary(text)).toEqual({
      stage: 'ipxe-script',
      lastLine: 'Rackboot: asking again every 10 s',
    })
    expect(consoleSummary('').stage).toBe('off-or-silent')
    expect(consoleSummary('\x1b[=3h\x1b[2J').lastLine).toBe('')
  })

  it('lab timeline: power-on and console markers join the server boot; off says where it stopped', () => {
    const on = '2026-11-26T12:00:00.000Z'
    const boot = newBoot('52:54:00:00:00:01', '2026-11-26T12:00:03.000Z')
    boot.milestones.push({ milestone: 'dhcp-ack', time: '2026-11-26T12:00:04.000Z' })
    boot.milestones.push({ milestone: 'ipxe-script', time: '2026-11-26T12:00:05.000Z' })
    boot.transfers.kernel = { bytes: 1000, total: 8000 }
    boot.updatedAt = '2026-11-26T12:00:06.000Z'
    const base = { boot, poweredOnAt: on, now: Date.parse(on) + 10_000, stallMs: 60_000 }
    const console = 'rackboot-init: node n1 (52:54:00:00:00:01)\r\nrackboot-init: exec /sbin/init\r\n'
    const running = labTimeline({
      ...base,
      console,
      running: true,
      consoleChangedAt: '2026-11-26T12:00:09.000Z',
    })
    expect(running.milestones.map((m) => m.milestone)).toEqual([
      'power-on',
      'dhcp-ack',
      'ipxe-script',
      'bootstrap',
      'sbin-init',
    ])
    expect(running).toMatchObject({ state: 'running', stage: 'sbin-init', problem: null })
    const off = labTimeline({ ...base, console: '', running: false, consoleChangedAt: null })
    expect(off.state).toBe('off')
    expect(off.problem).toBe(
      'the machine is off; its boot stopped after ipxe-script, kernel cut off at 1000 of 8000 bytes',
    )
    // A boot that started before this power-on belongs to an earlier one: only the power-on is shown.
    const stale = labTimeline({
      ...base,
      poweredOnAt: '2026-11-26T12:00:30.000Z',
      console: '',
      running: true,
      consoleChangedAt: null,
    })
    expect(stale.milestones.map((m) => m.milestone)).toEqual(['power-on'])
  })

  it('builds an RFC 4861 RA: type 134, lifetime 0, one L+A prefix option', () => {
    const ra = buildRouterAdvertisement({ prefix: labIpv6Prefix(64), prefixLength: 64, lifetimeS: 1800 })
    expect(ra.length).toBe(48)
    expect([ra[0], ra[4], ra[5], ra.readUInt16BE(6)]).toEqual([134, 64, 0, 0])
    expect([ra[16], ra[17], ra[18], ra[19]]).toEqual([3, 4, 64, 0xc0])
    expect(ra.subarray(32, 40).toString('hex')).toBe('20010db800000040')
  })
})
