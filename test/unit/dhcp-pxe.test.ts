import { describe, expect, it } from 'vitest'
import {
  bootDecision,
  classifyClient,
  type BootContext,
  type DhcpOptions,
  type DhcpPacket,
} from '../../electron/core/boot/dhcp'

function request(options: DhcpOptions): DhcpPacket {
  return {
    op: 1,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: 1,
    secs: 0,
    flags: 0,
    ciaddr: '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: '0.0.0.0',
    chaddr: Uint8Array.of(0x52, 0x54, 0x00, 0x0a, 0x00, 0x01),
    sname: '',
    file: '',
    options: { messageType: 1, raw: [], ...options },
  }
}
const pxe = (arch: number, extra: DhcpOptions = {}) =>
  request({
    vendorClassId: `PXEClient:Arch:${String(arch).padStart(5, '0')}:UNDI:003000`,
    clientArch: [arch],
    ...extra,
  })
const ctx: BootContext = { serverIp: '198.18.10.1', httpPort: 8080 }
const SCRIPT = 'http://198.18.10.1:8080/ipxe/52:54:00:0a:00:01'
const ipxeOpts: DhcpOptions = { userClass: ['iPXE'], ipxe: [{ code: 0x13, data: Uint8Array.of(1) }] }

describe('classifyClient', () => {
  it.each([
    ['BIOS PXE', pxe(0), 'bios-pxe', 'bios'],
    ['UEFI x64 PXE (7)', pxe(7), 'uefi-pxe', 'efi-x64'],
    ['UEFI x64 PXE (9)', pxe(9), 'uefi-pxe', 'efi-x64'],
    ['UEFI IA32 PXE', pxe(6), 'uefi-pxe', 'efi-ia32'],
    ['UEFI ARM64 PXE', pxe(11), 'uefi-pxe', 'efi-arm64'],
    ['Itanium PXE', pxe(2), 'pxe-other', 'unknown'],
    ['iPXE by user class', pxe(0, { userClass: ['iPXE'] }), 'ipxe', 'bios'],
    [
      'iPXE by option 175 only',
      pxe(7, { ipxe: [{ code: 0x13, data: Uint8Array.of(1) }] }),
      'ipxe',
      'efi-x64',
    ],
    [
      'HTTP Boot',
      request({ vendorClassId: 'HTTPClient:Arch:00016:UNDI:003000', clientArch: [16] }),
      'http-boot',
      'efi-x64',
    ],
    [
      'arch from vendor class when 93 is absent',
      request({ vendorClassId: 'PXEClient:Arch:00007:UNDI:003000' }),
      'uefi-pxe',
      'efi-x64',
    ],
    ['udhcpc', request({ vendorClassId: 'udhcp 1.35.0' }), 'dhcp', 'unknown'],
    ['dhclient (no 60)', request({ hostName: 'vm' }), 'dhcp', 'unknown'],
  ])('%s', (_n, req, kind, firmware) => {
    expect(classifyClient(req)).toMatchObject({ kind, firmware, mac: '52:54:00:0a:00:01' })
  })

  it('extracts the option 97 UUID and ignores an all-zero one', () => {
    const id = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i)
    expect(classifyClient(pxe(0, { clientMachineId: { type: 0, id } })).uuid).toBe(
      'a3a2a1a0-a5a4-a7a6-a8a9-aaabacadaeaf',
    )
    expect(
      classifyClient(pxe(0, { clientMachineId: { type: 0, id: new Uint8Array(16) } })).uuid,
    ).toBeUndefined()
  })
})

describe('bootDecision', () => {
  const cases: Array<[string, DhcpPacket, Partial<BootContext>, Record<string, unknown>]> = [
    [
      'BIOS PXE -> undionly.kpxe over TFTP',
      pxe(0),
      {},
      { action: 'boot', protocol: 'tftp', file: 'undionly.kpxe', siaddr: '198.18.10.1', sname: '' },
    ],
    ['UEFI 7 -> ipxe.efi', pxe(7), {}, { action: 'boot', protocol: 'tftp', file: 'ipxe.efi' }],
    ['UEFI 9 -> ipxe.efi', pxe(9), {}, { action: 'boot', file: 'ipxe.efi' }],
    [
      'UEFI 7 with setting snponly.efi',
      pxe(7),
      { efiBootFile: 'snponly.efi' },
      { action: 'boot', file: 'snponly.efi' },
    ],
    [
      'UEFI IA32 -> ipxe-i386.efi when present',
      pxe(6),
      { tftpFileExists: () => true },
      { file: 'ipxe-i386.efi' },
    ],
    [
      'UEFI IA32 without the file -> none, unsupported',
      pxe(6),
      { tftpFileExists: (n) => n !== 'ipxe-i386.efi' },
      { action: 'none', reason: expect.stringMatching(/ipxe-i386\.efi.*unsupported/) },
    ],
    ['ARM64 UEFI -> ipxe-arm64.efi', pxe(11), {}, { action: 'boot', file: 'ipxe-arm64.efi' }],
    ['ARM32 UEFI -> none', pxe(10), {}, { action: 'none', reason: expect.stringMatching(/architecture 10/) }],
    ['BIOS iPXE -> script URL', pxe(0, ipxeOpts), {}, { action: 'boot', protocol: 'http', file: SCRIPT }],
    ['UEFI iPXE -> script URL', pxe(7, ipxeOpts), {}, { action: 'boot', protocol: 'http', file: SCRIPT }],
    [
      'iPXE with an injected script URL',
      pxe(0, ipxeOpts),
      { ipxeScriptUrl: (mac) => `http://h/boot/${mac.replaceAll(':', '-')}.ipxe` },
      { file: 'http://h/boot/52-54-00-0a-00-01.ipxe' },
    ],
    [
      'HTTP Boot -> URL and HTTPClient echoed',
      request({ vendorClassId: 'HTTPClient:Arch:00016:UNDI:003000', clientArch: [16] }),
      {},
      {
        action: 'boot',
        protocol: 'http',
        file: 'http://198.18.10.1:8080/boot/ipxe.efi',
        options: { bootFileName: 'http://198.18.10.1:8080/boot/ipxe.efi', vendorClassId: 'HTTPClient' },
      },
    ],
    [
      'udhcpc -> none',
      request({ vendorClassId: 'udhcp 1.35.0' }),
      {},
      { action: 'none', reason: expect.stringMatching(/plain DHCP/) },
    ],
    [
      'dhclient -> none',
      request({}),
      {},
      { action: 'none', reason: expect.stringMatching(/no vendor class/) },
    ],
    [
      'iPXE user class without PXEClient vendor class -> none (boot options only to PXEClient/HTTPClient)',
      request({ userClass: ['iPXE'] }),
      {},
      { action: 'none' },
    ],
  ]
  it.each(cases)('%s', (_n, req, over, want) => {
    expect(bootDecision(req, { ...ctx, ...over })).toMatchObject(want)
  })

  it('keeps header file/siaddr and options 66/67 consistent for TFTP boot', () => {
    const d = bootDecision(pxe(0), ctx)
    if (d.action !== 'boot') throw new Error('expected boot')
    expect(d.options).toEqual({ tftpServerName: d.siaddr, bootFileName: d.file })
  })

  it('always sends 175.176 = 1 to iPXE and never to firmware PXE', () => {
    const d = bootDecision(pxe(0, ipxeOpts), ctx)
    if (d.action !== 'boot') throw new Error('expected boot')
    expect(d.options.ipxe).toEqual([{ code: 176, data: Uint8Array.of(1) }])
    expect(d.options.bootFileName).toBe(d.file)
    const fw = bootDecision(pxe(0), ctx)
    if (fw.action !== 'boot') throw new Error('expected boot')
    expect(fw.options.ipxe).toBeUndefined()
  })
})
