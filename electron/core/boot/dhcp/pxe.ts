/**
 * PXE boot policy, pure: who is asking (BIOS PXE ROM, UEFI PXE, iPXE, UEFI HTTP Boot, plain DHCP
 * client) and which boot file or URL answers it. Facts from the PXE spec 2.1, RFC 4578 (options 93,
 * 94, 97) and measured firmware (PXE-NOTES.md). Sockets, leases and "which node is this" live elsewhere.
 *
 * Chaining note: QEMU's iPXE ROM and a chainloaded undionly.kpxe send identical options, so a server
 * that answers the ROM with undionly.kpxe (instead of the script URL) must track per MAC that it did:
 * chain.ts keeps that memory, and the caller passes its verdict in as `facts.ownIpxe`.
 */
import { clientMac, type DhcpPacket } from './packet'
import { describeIpxe, machineUuid, IPXE_NO_PXEDHCP, type DhcpOptions, type IpxeInfo } from './options'

/** Option 93 values we act on (IANA "Processor Architecture Types", RFC 4578 §2.1 and its registry). */
export const ClientArch = {
  BiosX86: 0,
  EfiIa32: 6,
  EfiX64Bc: 7,
  EfiX64: 9,
  EfiArm32: 10,
  EfiArm64: 11,
  HttpEfiIa32: 15,
  HttpEfiX64: 16,
  HttpEfiArm64: 19,
} as const

export type ClientKind = 'bios-pxe' | 'uefi-pxe' | 'ipxe' | 'http-boot' | 'pxe-other' | 'dhcp'
export type Firmware = 'bios' | 'efi-ia32' | 'efi-x64' | 'efi-arm32' | 'efi-arm64' | 'unknown'

export interface ClientInfo {
  kind: ClientKind
  /** Option 93's first value, else the `Arch:NNNNN` field of a PXEClient/HTTPClient vendor class. */
  arch?: number
  firmware: Firmware
  vendorClass?: string
  mac?: string
  /** Option 97 GUID (see machineUuid), for recording the node; undefined when absent or all zero. */
  uuid?: string
  /** Present for iPXE: its feature flags and bus id from option 175. */
  ipxe?: IpxeInfo
}

const FIRMWARE_BY_ARCH: Readonly<Record<number, Firmware>> = {
  0: 'bios',
  6: 'efi-ia32',
  7: 'efi-x64',
  9: 'efi-x64',
  10: 'efi-arm32',
  11: 'efi-arm64',
  15: 'efi-ia32',
  16: 'efi-x64',
  18: 'efi-arm32',
  19: 'efi-arm64',
}

/** `PXEClient:Arch:00007:UNDI:003000` -> 7 (PXE spec 2.1 §2.4.1 vendor class format). */
function archFromVendorClass(vc: string): number | undefined {
  const m = /^(?:PXEClient|HTTPClient):Arch:(\d{5})/.exec(vc)
  return m ? Number(m[1]) : undefined
}

export function classifyClient(
  request: Pick<DhcpPacket, 'options' | 'htype' | 'hlen' | 'chaddr'>,
): ClientInfo {
  const o = request.options
  const vendorClass = o.vendorClassId
  const arch = o.clientArch?.[0] ?? (vendorClass ? archFromVendorClass(vendorClass) : undefined)
  const firmware = arch === undefined ? 'unknown' : (FIRMWARE_BY_ARCH[arch] ?? 'unknown')
  const id = o.clientMachineId === undefined ? undefined : machineUuid(o.clientMachineId)
  const uuid = id === '00000000-0000-0000-0000-000000000000' ? undefined : id
  const mac = clientMac(request)
  // One object literal per outcome rather than a spread of a shared base: this runs for every packet.
  const info = (kind: ClientKind): ClientInfo => ({ arch, firmware, vendorClass, mac, uuid, kind })
  const isIpxe = o.userClass?.includes('iPXE') === true || o.ipxe !== undefined
  if (vendorClass?.startsWith('HTTPClient')) return info('http-boot')
  if (isIpxe) return { ...info('ipxe'), ipxe: describeIpxe(o.ipxe ?? []) }
  if (vendorClass?.startsWith('PXEClient')) {
    if (arch === undefined || arch === ClientArch.BiosX86) return info('bios-pxe')
    return info(firmware === 'unknown' || firmware === 'bios' ? 'pxe-other' : 'uefi-pxe')
  }
  return info('dhcp')
}

export interface BootContext {
  /** Our address on the serving interface: siaddr, option 66 and the host of every URL. */
  serverIp: string
  httpPort: number
  /** TFTP file for x86-64 UEFI PXE (arch 7/9). Default `ipxe.efi`; `snponly.efi` uses the firmware's NIC driver. */
  efiBootFile?: string
  /** When given, a TFTP file it says is missing turns the decision into `none` with a reason. */
  tftpFileExists?(name: string): boolean
  /** iPXE script URL for a MAC. Default `http://<serverIp>:<httpPort>/ipxe/<mac>` (mac as aa:bb:cc:dd:ee:ff). */
  ipxeScriptUrl?(mac: string): string
  /** UEFI HTTP Boot URL for an EFI binary. Default `http://<serverIp>:<httpPort>/boot/<file>`. */
  httpBootUrl?(file: string): string
  /**
   * What an iPXE client that is not our chained build gets: `script` (default) the HTTP script URL at
   * once; `own-ipxe` our TFTP binary first (BIOS undionly.kpxe, EFI `efiBootFile`), as Warewulf, smee and
   * pixiecore do for NIC ROMs lacking features (HTTPS, IPv6, …). Our chained build then gets the script.
   */
  ipxeRomChain?: IpxeRomChain
}

export type IpxeRomChain = 'script' | 'own-ipxe'

/** What the caller knows about this request beyond the packet (kept out of the pure policy's state). */
export interface BootFacts {
  /** This iPXE is the binary we handed this MAC over TFTP (chain.ts). Only read under `own-ipxe`. */
  ownIpxe?: boolean
}

export type BootDecision =
  | {
      action: 'boot'
      client: ClientInfo
      protocol: 'tftp' | 'http'
      /** Goes in the header `file` field and option 67 (the same value: firmware reads either). */
      file: string
      /** Header siaddr (next server); option 66 says the same for TFTP. */
      siaddr: string
      /** Header sname. Left empty (as dnsmasq does): siaddr and option 66 already name the server. */
      sname: string
      /** Options to merge into the OFFER and the ACK (the same in both; PXE-NOTES). */
      options: DhcpOptions
    }
  | { action: 'none'; client: ClientInfo; reason: string }

/** TFTP boot file for firmware PXE by architecture. */
function firmwareFile(arch: number, efiBootFile: string): string | { unsupported: string } {
  switch (arch) {
    case ClientArch.BiosX86:
      return 'undionly.kpxe'
    case ClientArch.EfiIa32:
      return 'ipxe-i386.efi'
    case ClientArch.EfiX64Bc:
    case ClientArch.EfiX64:
      return efiBootFile
    case ClientArch.EfiArm64:
      return 'ipxe-arm64.efi'
    default:
      return { unsupported: `client architecture ${arch} (option 93) has no boot file here` }
  }
}

const HTTP_BOOT_FILES: Readonly<Record<number, string | undefined>> = {
  [ClientArch.HttpEfiIa32]: 'ipxe-i386.efi',
  [ClientArch.HttpEfiArm64]: 'ipxe-arm64.efi',
}

export function bootDecision(request: DhcpPacket, ctx: BootContext, facts: BootFacts = {}): BootDecision {
  const client = classifyClient(request)
  const none = (reason: string): BootDecision => ({ action: 'none', client, reason })
  const vc = client.vendorClass ?? ''

  if (!vc.startsWith('PXEClient') && !vc.startsWith('HTTPClient'))
    return none(
      vc
        ? `vendor class '${vc}' is not PXEClient/HTTPClient: a plain DHCP client`
        : 'no vendor class (option 60): a plain DHCP client',
    )
  const efiBootFile = ctx.efiBootFile ?? 'ipxe.efi'
  const base = `http://${ctx.serverIp}:${ctx.httpPort}`

  if (client.kind === 'http-boot') {
    const arch = client.arch ?? ClientArch.HttpEfiX64
    const file = arch === ClientArch.HttpEfiX64 ? efiBootFile : HTTP_BOOT_FILES[arch]
    if (!file) return none(`HTTP Boot client architecture ${arch} (option 93) has no boot file here`)
    const url = ctx.httpBootUrl?.(file) ?? `${base}/boot/${file}`
    // UEFI spec 2.x §24.7 (HTTP Boot): the offer must echo vendor class HTTPClient or the firmware ignores it.
    return {
      action: 'boot',
      client,
      protocol: 'http',
      file: url,
      siaddr: ctx.serverIp,
      sname: '',
      options: { bootFileName: url, vendorClassId: 'HTTPClient' },
    }
  }

  if (client.kind === 'ipxe') {
    if (!client.mac) return none('iPXE client without an Ethernet chaddr: no MAC to name its script by')
    if (ctx.ipxeRomChain === 'own-ipxe' && !facts.ownIpxe && client.arch !== undefined) {
      // A foreign iPXE (NIC ROM, vendor build) chains into ours over TFTP. Without the file it keeps the
      // script: a ROM that boots today must not stop booting because a binary is missing.
      const chain = firmwareFile(client.arch, efiBootFile)
      if (typeof chain === 'string' && (!ctx.tftpFileExists || ctx.tftpFileExists(chain)))
        return {
          action: 'boot',
          client,
          protocol: 'tftp',
          file: chain,
          siaddr: ctx.serverIp,
          sname: '',
          options: { tftpServerName: ctx.serverIp, bootFileName: chain },
        }
    }
    const url = ctx.ipxeScriptUrl?.(client.mac) ?? `${base}/ipxe/${client.mac}`
    return {
      action: 'boot',
      client,
      protocol: 'http',
      file: url,
      siaddr: ctx.serverIp,
      sname: '',
      // 175.176 = 1: iPXE skips its ProxyDHCP wait (+3 s per boot otherwise, PXE-NOTES).
      options: { bootFileName: url, ipxe: [{ code: IPXE_NO_PXEDHCP, data: Uint8Array.of(1) }] },
    }
  }

  if (client.arch === undefined) return none('PXE client without an architecture (option 93 or vendor class)')
  const file = firmwareFile(client.arch, efiBootFile)
  if (typeof file !== 'string') return none(file.unsupported)
  if (ctx.tftpFileExists && !ctx.tftpFileExists(file))
    return none(
      `boot file '${file}' for ${client.firmware} (arch ${client.arch}) is not in the TFTP root: unsupported here`,
    )
  return {
    action: 'boot',
    client,
    protocol: 'tftp',
    file,
    siaddr: ctx.serverIp,
    sname: '',
    options: { tftpServerName: ctx.serverIp, bootFileName: file },
  }
}
