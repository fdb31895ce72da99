/**
 * The DHCP server's decisions, without sockets: a decoded request in, replies (packet + destination) out,
 * leases changed in the book and recorded in the journal before any ACK is returned (fdatasynced for pool
 * addresses, written for reserved ones: see request() and journal.ts).
 * RFC 2131 §4.3 (server behaviour) and §4.4 (client states, as seen by the server); PXE spec 2.1 for proxyDHCP.
 */
import { prefixToNetmask, type Cidr } from '../../util/ipv4'
import { intToQuad, quadToInt } from './bytes'
import type { BootEvent, ClientType } from '../events'
import { DhcpMessageType, messageTypeName, type DhcpOptions } from './options'
import { BootOp, clientMac, PXE_PROXY_PORT, type DhcpPacket } from './packet'
import { bootDecision, type BootContext, type BootDecision, type ClientKind } from './pxe'
import { ChainMemory } from './chain'
import { replyDestination, type ReplyDestination, type ReplyKind } from './reply'
import type { LeaseBook } from './leases'
import type { JournalLevel, JournalRecord } from './journal'

export interface EngineConfig {
  mode: 'server' | 'proxy'
  serverIp: string
  subnet: Cidr
  gateway: string | null
  dns: string[]
  domain: string
  leaseSeconds: number
  /** How long an offered address is held for the client's REQUEST. */
  offerHoldMs: number
  /** How long a DECLINEd address stays out of the pool. */
  declineQuarantineMs: number
  boot: Omit<BootContext, 'serverIp'>
}

export interface EngineDeps {
  config: EngineConfig
  book: LeaseBook
  /** Resolves when the record got as far as `level` (journal.ts); stand-ins may ignore the level. */
  journal: { record(r: JournalRecord, level?: JournalLevel): Promise<void> }
  /** Name of the node owning this MAC, for option 12 and events. */
  nodeName(mac: string): string | null
  /** Capture mode sees every PXE DISCOVER (it decides for unknown MACs); may assign a node. */
  onPxeDiscover?(mac: string, kind: ClientKind, uuid: string | undefined): Promise<void>
  now(): number
  emit(event: BootEvent): void
}

export interface Reply {
  packet: DhcpPacket
  to: ReplyDestination
}

export type Outcome = { kind: 'replies'; replies: Reply[] } | { kind: 'ignored'; reason: string }

const CLIENT_TYPE: Record<ClientKind, ClientType> = {
  'bios-pxe': 'BIOS PXE',
  'uefi-pxe': 'UEFI PXE',
  ipxe: 'iPXE',
  'http-boot': 'HTTPBoot',
  'pxe-other': 'PXE (other)',
  dhcp: 'plain DHCP',
}

const isPxeKind = (k: ClientKind) => k !== 'dhcp'

export class DhcpEngine {
  private readonly serverInt: number
  private readonly bootContext: BootContext
  /** Option 1 and 28 of every reply: fixed by the config. */
  private readonly netmask: string
  private readonly broadcast: string
  /** The last event time as text: under load many events share a millisecond (toISOString is not free). */
  private timeMs = Number.NaN
  private timeText = ''
  /** Which MACs we chained into our iPXE (only used under `ipxeRomChain: 'own-ipxe'`). */
  private readonly chains = new ChainMemory()

  constructor(private readonly deps: EngineDeps) {
    this.serverInt = quadToInt(deps.config.serverIp) ?? 0
    this.bootContext = { ...deps.config.boot, serverIp: deps.config.serverIp }
    const subnet = deps.config.subnet
    this.netmask = prefixToNetmask(subnet.prefix)
    this.broadcast = intToQuad((subnet.network | (~subnet.mask >>> 0)) >>> 0)
  }

  private time(): string {
    const ms = this.deps.now()
    if (ms !== this.timeMs) {
      this.timeMs = ms
      this.timeText = new Date(ms).toISOString()
    }
    return this.timeText
  }

  async handle(
    request: DhcpPacket,
    receivedOn: { localPort: number; from: { address: string; port: number } },
  ): Promise<Outcome> {
    if (request.op !== BootOp.Request) return ignored('not a BOOTREQUEST')
    const mac = clientMac(request)
    if (!mac) return ignored(`hardware type ${request.htype}/len ${request.hlen} is not Ethernet`)
    const type = request.options.messageType
    if (type === undefined) return ignored('BOOTP without DHCP message type (option 53) is not served')
    const now = this.deps.now()
    const ownIpxe = this.chains.isOwnIpxe(mac, request.xid, now)
    const boot = bootDecision(request, this.bootContext, { ownIpxe })
    const kind = boot.client.kind
    if (type === DhcpMessageType.Discover || type === DhcpMessageType.Request) {
      // Any TFTP answer hands out an iPXE binary (firmware PXE or a foreign iPXE): its DHCP must get the script.
      if (boot.action === 'boot' && boot.protocol === 'tftp') this.chains.chained(mac, request.xid, now)
      else if (ownIpxe && kind === 'ipxe') this.chains.scripted(mac, request.xid)
    }
    // The node is looked up per event: capture may assign one between the DISCOVER and the OFFER events.
    const event = (step: string, extra: Partial<BootEvent> = {}) =>
      this.deps.emit({
        time: this.time(),
        mac,
        node: this.deps.nodeName(mac),
        stage: 'dhcp',
        step,
        clientType: CLIENT_TYPE[kind],
        ...extra,
      })

    if (this.deps.config.mode === 'proxy') return this.proxy(request, type, mac, boot, receivedOn, event)
    if (receivedOn.localPort === PXE_PROXY_PORT) return ignored('port 4011 is served in proxy mode only')

    switch (type) {
      case DhcpMessageType.Discover:
        return this.discover(request, mac, boot, event)
      case DhcpMessageType.Request:
        return this.request(request, mac, boot, event)
      case DhcpMessageType.Decline:
        return this.decline(request, mac, event)
      case DhcpMessageType.Release:
        return this.release(request, mac, event)
      case DhcpMessageType.Inform:
        return this.inform(request, mac, boot, event)
      default:
        return ignored(`message type ${messageTypeName(type)} is not for a server`)
    }
  }

  private async discover(
    request: DhcpPacket,
    mac: string,
    boot: BootDecision,
    event: EventFn,
  ): Promise<Outcome> {
    // Before capture sees it: a client relayed from a subnet we do not serve is not ours to capture.
    if (!this.servesGiaddr(request))
      return ignored(`relayed from ${request.giaddr}, which is not on ${this.deps.config.subnet.text}`)
    event('discover', { detail: boot.client.vendorClass })
    if (isPxeKind(boot.client.kind) && this.deps.onPxeDiscover)
      await this.deps.onPxeDiscover(mac, boot.client.kind, boot.client.uuid)
    const now = this.deps.now()
    const requested = request.options.requestedIp ? quadToInt(request.options.requestedIp) : null
    const ip = this.deps.book.choose(mac, requested, now)
    if (ip === null) {
      event('no-offer', { detail: 'no free address: pool exhausted or reserved address in use' })
      return ignored(`no address for ${mac}: pool exhausted or its reserved address is held by another MAC`)
    }
    this.deps.book.offer(mac, ip, now, this.deps.config.offerHoldMs)
    const yiaddr = intToQuad(ip)
    const reply = this.reply(request, 'offer', DhcpMessageType.Offer, yiaddr, boot, mac)
    event('offer', { ip: yiaddr, detail: boot.action === 'boot' ? boot.file : undefined })
    return replies(reply)
  }

  private async request(
    request: DhcpPacket,
    mac: string,
    boot: BootDecision,
    event: EventFn,
  ): Promise<Outcome> {
    const o = request.options
    const now = this.deps.now()
    const ciaddr = request.ciaddr !== '0.0.0.0' ? request.ciaddr : null
    event('request', { ip: o.requestedIp ?? ciaddr ?? undefined })
    let wanted: string | null
    if (o.serverId !== undefined) {
      // SELECTING (RFC 2131 §4.3.2): the client chose a server. Not us: forget our offer, say nothing.
      if (o.serverId !== this.deps.config.serverIp) {
        const held = this.deps.book.leaseOf(mac)
        if (held?.state === 'offered') this.deps.book.release(mac, held.ip)
        return ignored(`REQUEST for server ${o.serverId}, not us`)
      }
      wanted = o.requestedIp ?? ciaddr
    } else if (o.requestedIp !== undefined) {
      wanted = o.requestedIp // INIT-REBOOT
    } else if (ciaddr !== null) {
      wanted = ciaddr // RENEWING (unicast) or REBINDING (broadcast)
    } else return ignored('REQUEST without server id, requested address or ciaddr')

    const ip = wanted === null ? null : quadToInt(wanted)
    if (ip === null) return this.nak(request, 'no valid requested address', event)
    if (!this.inSubnet(ip)) {
      // Authoritative only for our subnet (RFC 2131 §4.3.2 INIT-REBOOT): a client from elsewhere gets a NAK
      // only on a direct request; a relayed or renewing client for another subnet is not ours to refuse.
      if (o.serverId === undefined && ciaddr === null && request.giaddr === '0.0.0.0')
        return this.nak(request, `${wanted} is not on ${this.deps.config.subnet.text}`, event)
      return ignored(`${wanted} is outside ${this.deps.config.subnet.text}`)
    }
    if (!this.servesGiaddr(request))
      return ignored(`relayed from ${request.giaddr}, which is not on ${this.deps.config.subnet.text}`)
    const known = this.deps.book.leaseOf(mac)
    if (o.serverId === undefined && known?.state === 'bound' && known.ip !== ip) {
      // INIT-REBOOT/RENEWING/REBINDING for an address other than the one we bound: the client's
      // notion is wrong (moved, or our lease changed), so NAK and let it restart in INIT (§4.3.2).
      return this.nak(request, `${wanted} is not ${mac}'s address (it has ${intToQuad(known.ip)})`, event)
    }
    if (
      o.serverId === undefined &&
      !known &&
      this.deps.book.holderOther(ip, mac, now) === null &&
      !this.deps.book.inPool(ip) &&
      this.deps.book.reservedIpOf(mac) !== ip
    ) {
      // INIT-REBOOT/REBINDING with no record of the client and an address we do not manage: stay silent (§4.3.2).
      return ignored(`no record of ${mac} for ${wanted}`)
    }
    const bound = this.deps.book.bind(mac, ip, now, this.deps.config.leaseSeconds * 1000, o.hostName ?? null)
    if (!bound.ok) return this.nak(request, bound.reason, event)
    // A pool address is owned by nothing but the journal: its ACK waits for the fdatasync. A node's reserved
    // address is given to its MACs by the inventory whatever the journal holds, so its ACK only waits for the
    // write (which survives kill -9): a power cut that loses the line cannot give the address to another MAC.
    const reserved = this.deps.book.reservedIpOf(mac) === ip
    await this.deps.journal.record({ kind: 'lease', lease: bound.lease }, reserved ? 'written' : 'synced')
    event('ack', { ip: wanted! })
    return replies(this.reply(request, 'ack', DhcpMessageType.Ack, wanted!, boot, mac))
  }

  private async decline(request: DhcpPacket, mac: string, event: EventFn): Promise<Outcome> {
    const requested = request.options.requestedIp
    const ip = requested ? quadToInt(requested) : null
    if (request.options.serverId !== undefined && request.options.serverId !== this.deps.config.serverIp)
      return ignored('DECLINE for another server')
    if (ip === null) return ignored('DECLINE without a requested address (option 50)')
    const q = this.deps.book.decline(mac, ip, this.deps.now(), this.deps.config.declineQuarantineMs)
    if (q) await this.deps.journal.record({ kind: 'lease', lease: q })
    event('decline', { ip: requested!, detail: 'address in use by an unknown host: quarantined' })
    return ignored('DECLINE needs no reply')
  }

  private async release(request: DhcpPacket, mac: string, event: EventFn): Promise<Outcome> {
    if (request.options.serverId !== undefined && request.options.serverId !== this.deps.config.serverIp)
      return ignored('RELEASE for another server')
    const ip = quadToInt(request.ciaddr)
    if (ip === null || ip === 0) return ignored('RELEASE without ciaddr')
    const freed = this.deps.book.release(mac, ip)
    if (freed) await this.deps.journal.record({ kind: 'released', mac, ip })
    event('release', { ip: request.ciaddr })
    return ignored('RELEASE needs no reply')
  }

  private inform(request: DhcpPacket, mac: string, boot: BootDecision, event: EventFn): Outcome {
    event('inform', { ip: request.ciaddr })
    // RFC 2131 §4.3.5: an ACK with configuration, no yiaddr and no lease time, to ciaddr.
    const reply = this.reply(request, 'ack', DhcpMessageType.Ack, '0.0.0.0', boot, mac)
    delete reply.packet.options.leaseTime
    delete reply.packet.options.renewalTime
    delete reply.packet.options.rebindingTime
    return replies(reply)
  }

  private nak(request: DhcpPacket, reason: string, event: EventFn): Outcome {
    event('nak', { detail: reason })
    const packet = baseReply(request, this.deps.config.serverIp)
    packet.options = {
      messageType: DhcpMessageType.Nak,
      serverId: this.deps.config.serverIp,
      message: reason.slice(0, 200),
    }
    if (request.options.relayAgentInfo) packet.options.relayAgentInfo = request.options.relayAgentInfo
    const to = replyDestination(request, { kind: 'nak' })
    packet.flags = to.flags
    return replies({ packet, to })
  }

  /** proxyDHCP (PXE spec 2.1 §2.2.3/2.2.4): boot information only, never an address, to PXE clients only. */
  private proxy(
    request: DhcpPacket,
    type: number,
    mac: string,
    boot: BootDecision,
    receivedOn: { localPort: number; from: { address: string; port: number } },
    event: EventFn,
  ): Outcome | Promise<Outcome> {
    if (boot.action !== 'boot') return ignored(`proxy mode: ${boot.reason}`)
    const onProxyPort = receivedOn.localPort === PXE_PROXY_PORT
    if (type === DhcpMessageType.Discover && !onProxyPort) {
      event('discover', { detail: boot.client.vendorClass })
      const after = this.deps.onPxeDiscover
        ? this.deps.onPxeDiscover(mac, boot.client.kind, boot.client.uuid)
        : Promise.resolve()
      return after.then(() => {
        const reply = this.proxyReply(request, DhcpMessageType.Offer, boot, 'offer', receivedOn)
        event('offer', { detail: `proxy: ${boot.file}` })
        return replies(reply)
      })
    }
    if (type === DhcpMessageType.Request && onProxyPort) {
      event('request', { detail: 'proxy boot-server request on 4011' })
      const reply = this.proxyReply(request, DhcpMessageType.Ack, boot, 'ack', receivedOn)
      event('ack', { detail: `proxy: ${boot.file}` })
      return replies(reply)
    }
    return ignored(
      `proxy mode answers DISCOVER on 67 and REQUEST on 4011 only (got ${messageTypeName(type)} on ${receivedOn.localPort})`,
    )
  }

  private proxyReply(
    request: DhcpPacket,
    type: DhcpMessageType,
    boot: Extract<BootDecision, { action: 'boot' }>,
    kind: ReplyKind,
    receivedOn: { localPort: number; from: { address: string; port: number } },
  ): Reply {
    const packet = baseReply(request, this.deps.config.serverIp)
    packet.siaddr = boot.siaddr
    packet.file = boot.file
    packet.options = {
      messageType: type,
      serverId: this.deps.config.serverIp,
      vendorClassId: boot.client.kind === 'http-boot' ? 'HTTPClient' : 'PXEClient',
      // PXE discovery control (43.6) = 8: "use the boot file in this reply, no boot-server discovery".
      vendorSpecific: Uint8Array.of(6, 1, 8, 255),
      clientMachineId: request.options.clientMachineId,
      ...boot.options,
    }
    const to = replyDestination(request, { kind, receivedOn })
    packet.flags = to.flags
    return { packet, to }
  }

  private reply(
    request: DhcpPacket,
    kind: ReplyKind,
    type: DhcpMessageType,
    yiaddr: string,
    boot: BootDecision,
    mac: string,
  ): Reply {
    const c = this.deps.config
    const packet = baseReply(request, c.serverIp)
    packet.yiaddr = yiaddr
    const lease = c.leaseSeconds
    const options: DhcpOptions = {
      messageType: type,
      serverId: c.serverIp,
      leaseTime: lease,
      renewalTime: Math.floor(lease / 2), // T1, RFC 2131 §4.4.5
      rebindingTime: Math.floor((lease * 7) / 8), // T2
      subnetMask: this.netmask,
      broadcastAddress: this.broadcast,
    }
    if (c.gateway) options.routers = [c.gateway]
    if (c.dns.length > 0) options.dnsServers = c.dns
    if (c.domain) options.domainName = c.domain
    const name = this.deps.nodeName(mac)
    if (name) options.hostName = name
    if (request.options.relayAgentInfo) options.relayAgentInfo = request.options.relayAgentInfo // RFC 3046 §2.2
    if (boot.action === 'boot') {
      packet.siaddr = boot.siaddr
      packet.sname = boot.sname
      packet.file = boot.file
      Object.assign(options, boot.options)
    }
    packet.options = options
    const to = replyDestination(request, { kind, yiaddr })
    packet.flags = to.flags
    return { packet, to }
  }

  /**
   * A relayed request (RFC 2131 §4.3.1: giaddr names the client's subnet) is served only when giaddr is on
   * our subnet: the pool has addresses for that subnet alone. Relays from elsewhere are another server's.
   */
  private servesGiaddr(request: DhcpPacket): boolean {
    if (request.giaddr === '0.0.0.0') return true
    const g = quadToInt(request.giaddr)
    return g !== null && (g & this.deps.config.subnet.mask) >>> 0 === this.deps.config.subnet.network
  }

  private inSubnet(ip: number): boolean {
    return (
      (ip & this.deps.config.subnet.mask) >>> 0 === this.deps.config.subnet.network && ip !== this.serverInt
    )
  }
}

type EventFn = (step: string, extra?: Partial<BootEvent>) => void

function ignored(reason: string): Outcome {
  return { kind: 'ignored', reason }
}
function replies(...list: Reply[]): Outcome {
  return { kind: 'replies', replies: list }
}

function baseReply(request: DhcpPacket, serverIp: string): DhcpPacket {
  return {
    op: BootOp.Reply,
    htype: request.htype,
    hlen: request.hlen,
    hops: 0,
    xid: request.xid,
    secs: 0,
    flags: request.flags,
    ciaddr: request.ciaddr,
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: request.giaddr,
    chaddr: request.chaddr,
    sname: '',
    file: '',
    options: { serverId: serverIp },
  }
}
