/**
 * Typed progress events per node, for the dashboard and the boot timeline: each service reports what a
 * MAC did, with the time and (for DHCP) what kind of client it was.
 */
export type BootStage =
  'dhcp' | 'tftp' | 'ipxe' | 'kernel' | 'image' | 'modules' | 'overlay' | 'init' | 'agent'

export type ClientType = 'BIOS PXE' | 'UEFI PXE' | 'iPXE' | 'HTTPBoot' | 'PXE (other)' | 'plain DHCP'

export interface BootEvent {
  time: string
  mac: string
  node: string | null
  stage: BootStage
  /** discover, offer, request, ack, nak, decline, release, inform; or a service's own step names. */
  step: string
  clientType?: ClientType
  ip?: string
  detail?: string
  bytes?: number
  total?: number | null
}

/** What capture mode tells the UI. */
export type CaptureEvent =
  | { kind: 'assigned'; mac: string; node: string; time: string }
  | { kind: 'ambiguous'; node: string; candidates: string[]; time: string }
  | { kind: 'duplicate'; mac: string; node: string; detail: string; time: string }
  | { kind: 'undone'; mac: string; node: string; time: string }
  | { kind: 'full'; mac: string; time: string }

export interface CaptureStatus {
  active: boolean
  ambiguity: { node: string; candidates: string[] } | null
  last: { mac: string; node: string } | null
  /** The slot the next captured MAC goes to, in rack order. */
  next: { node: string; rack: string | null; slot: number | null } | null
  waiting: string[]
}

/** Another DHCP server found on the wire by the rogue-DHCP probe (net/rogue-dhcp.ts). */
export interface OtherDhcpServer {
  /** Option 54 of its OFFER (or the source address when it sent none). */
  serverId: string
  /** Where the OFFER came from. */
  from: string
  offered: string
  /** Option 67 / file field, when it offers PXE boot too. */
  bootFile: string | null
}
