/**
 * How the simulated machines speak: the DHCP options, TFTP options and retry timing of the firmware a
 * storm node imitates. Option sets are copied from real clients in test/fixtures/dhcp (bios-undionly.pcap,
 * uefi-edk2-ipxe.pcap), timing from the PXE spec 2.1 §2.2.1 (DISCOVER after 4, 8, 16, 32 s) and iPXE's
 * dhcp.c (DHCP_DISC_START_TIMEOUT_SEC 1, doubling to 10). Pure data and small pure helpers.
 */
import type { DhcpOptions, RawOption } from '../boot/dhcp/options'
import { DhcpMessageType } from '../boot/dhcp/options'

export type SimFirmware = 'bios' | 'uefi'

export interface FirmwareStage {
  /** Option 60, e.g. `PXEClient:Arch:00000:UNDI:002001`. */
  vendorClass: string
  /** Option 93. */
  arch: number
  /** Option 94 (UNDI version). */
  ndi: { major: number; minor: number }
  /** Option 55, in the order the real client sends it. */
  prl: number[]
  /** Option 57. */
  maxMessageSize: number
  /** iPXE only: option 77 `iPXE` and option 175's sub-options as iPXE sends them. */
  ipxe: boolean
  /** Seconds to wait for an answer after each try; the stage fails after the last. */
  timeoutsS: readonly number[]
}

export interface FirmwareProfile {
  firmware: SimFirmware
  /** The ROM's own PXE stage (before the iPXE binary runs). */
  rom: FirmwareStage
  /** The chainloaded iPXE binary's DHCP stage. */
  ipxe: FirmwareStage
  /** TFTP options the ROM asks for; no windowsize = lock-step (RFC 1350). */
  tftp: { blksize: number; windowsize?: number }
  /**
   * EDK2 asks with tsize, reads the OACK's size, aborts with ERROR 8 and asks again (PXE-NOTES: normal for
   * OVMF); a BIOS ROM reads the file in one go.
   */
  tsizeProbe: boolean
}

/** PXE spec 2.1 §2.2.1: a ROM re-sends DISCOVER after 4, 8, 16 and 32 s, then reports PXE-E51 and gives up. */
export const PXE_ROM_TIMEOUTS_S = [4, 8, 16, 32] as const
/** iPXE's dhcp.c: first retry after 1 s, doubling, capped at 10 s. */
export const IPXE_TIMEOUTS_S = [1, 2, 4, 8, 10] as const

/** EDK2's PXE option 55 (uefi-edk2-ipxe.pcap); a BIOS PXE ROM's list is the same PXE spec set. */
const PXE_PRL = [
  1, 2, 3, 4, 5, 6, 12, 13, 15, 17, 18, 22, 23, 28, 40, 41, 42, 43, 50, 51, 54, 58, 59, 60, 66, 67, 97, 128,
  129, 130, 131, 132, 133, 134, 135,
]
/** iPXE's option 55 (bios-undionly.pcap and uefi-edk2-ipxe.pcap, identical). */
const IPXE_PRL = [
  1, 3, 6, 7, 12, 15, 17, 26, 43, 60, 66, 67, 119, 128, 129, 130, 131, 132, 133, 134, 135, 175, 203,
]

export const FIRMWARE: Readonly<Record<SimFirmware, FirmwareProfile>> = {
  bios: {
    firmware: 'bios',
    rom: {
      vendorClass: 'PXEClient:Arch:00000:UNDI:002001',
      arch: 0,
      ndi: { major: 2, minor: 1 },
      prl: PXE_PRL,
      maxMessageSize: 1472,
      ipxe: false,
      timeoutsS: PXE_ROM_TIMEOUTS_S,
    },
    ipxe: {
      vendorClass: 'PXEClient:Arch:00000:UNDI:002001',
      arch: 0,
      ndi: { major: 2, minor: 1 },
      prl: IPXE_PRL,
      maxMessageSize: 1472,
      ipxe: true,
      timeoutsS: IPXE_TIMEOUTS_S,
    },
    tftp: { blksize: 1432 },
    tsizeProbe: false,
  },
  uefi: {
    firmware: 'uefi',
    rom: {
      vendorClass: 'PXEClient:Arch:00007:UNDI:003000',
      arch: 7,
      ndi: { major: 3, minor: 0 },
      prl: PXE_PRL,
      maxMessageSize: 1472,
      ipxe: false,
      timeoutsS: PXE_ROM_TIMEOUTS_S,
    },
    ipxe: {
      vendorClass: 'PXEClient:Arch:00007:UNDI:003010',
      arch: 7,
      ndi: { major: 3, minor: 10 },
      prl: IPXE_PRL,
      maxMessageSize: 1472,
      ipxe: true,
      timeoutsS: IPXE_TIMEOUTS_S,
    },
    // EDK2's PxeBcDxe asks for windowsize 4 (PcdPxeTftpWindowSize; PXE-NOTES: seen from OVMF here).
    tftp: { blksize: 1468, windowsize: 4 },
    tsizeProbe: true,
  },
}

/** Option 175 as iPXE sends it (bios-undionly.pcap): bus id 177, version 235, and feature flags. */
const IPXE_SUBOPTIONS: RawOption[] = [
  { code: 177, data: Uint8Array.of(0x01, 0x1a, 0xf4, 0x10, 0x00) },
  { code: 235, data: Uint8Array.of(0x01, 0x00, 0x00) },
  { code: 23, data: Uint8Array.of(1) }, // DNS
  { code: 19, data: Uint8Array.of(1) }, // HTTP
  { code: 17, data: Uint8Array.of(1) }, // PXE
  { code: 24, data: Uint8Array.of(1) }, // TFTP
]

/** The options of one DISCOVER (no request fields) or REQUEST (with the offered address and server id). */
export function stageOptions(
  stage: FirmwareStage,
  type: 'discover' | 'request',
  uuid: Uint8Array,
  request?: { ip: string; serverId: string },
): DhcpOptions {
  return {
    messageType: type === 'discover' ? DhcpMessageType.Discover : DhcpMessageType.Request,
    maxMessageSize: stage.maxMessageSize,
    parameterRequestList: stage.prl,
    clientArch: [stage.arch],
    clientNdi: { type: 1, major: stage.ndi.major, minor: stage.ndi.minor },
    vendorClassId: stage.vendorClass,
    ...(stage.ipxe
      ? { userClass: ['iPXE'], ipxe: IPXE_SUBOPTIONS }
      : { clientMachineId: { type: 0, id: uuid } }),
    ...(request ? { requestedIp: request.ip, serverId: request.serverId } : {}),
  }
}

/** Splits `bios:uefi` weights (e.g. `1:1`, `3:1`) into a firmware per node index; bad text = null. */
export function firmwareMix(text: string, n: number): SimFirmware[] | null {
  const m = /^(\d+):(\d+)$/.exec(text)
  if (!m) return null
  const bios = Number(m[1])
  const uefi = Number(m[2])
  if (bios + uefi === 0) return null
  // Spread evenly (Bresenham) so any prefix of the storm has about the right mix.
  return Array.from({ length: n }, (_, i) =>
    Math.ceil(((i + 1) * bios) / (bios + uefi)) > Math.ceil((i * bios) / (bios + uefi)) ? 'bios' : 'uefi',
  )
}
