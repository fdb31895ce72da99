/**
 * Where a reply goes: one pure function of the request, the kind of reply and where the request came
 * in, following RFC 2131 §4.1 ("If the 'giaddr' field ... is non-zero ...") and §4.3.2 (NAKs), plus
 * the PXE spec's port 4011 exchange. The server only has to send to what this returns.
 */
import {
  BROADCAST_FLAG,
  DHCP_CLIENT_PORT,
  DHCP_SERVER_PORT,
  PXE_PROXY_PORT,
  clientMac,
  type DhcpPacket,
} from './packet'
import { isZeroIp } from './bytes'

export type ReplyKind = 'offer' | 'ack' | 'nak'

export interface ReplyContext {
  kind: ReplyKind
  /** The address the reply gives the client (reply yiaddr); needed for the unicast-to-yiaddr case. */
  yiaddr?: string
  /** Where the request arrived: local port (67, or 4011 for a PXE boot-server request) and its source. */
  receivedOn?: { localPort: number; from: { address: string; port: number } }
  /**
   * True only when the sender can deliver to an address the client does not own yet (raw socket, or
   * an ARP entry it added). Node's dgram cannot, so the default answers that case by broadcast.
   */
  canUnicastToUnconfigured?: boolean
}

export type ReplyRule =
  | 'proxy-4011' // PXE spec 2.1 §2.2.4: boot-server REQUEST on 4011, answered to its source
  | 'relay' // RFC 2131 §4.1 ¶2: giaddr set, to the relay's server port
  | 'ciaddr' // RFC 2131 §4.1 ¶2: client has an address (RENEWING, REBINDING, INFORM)
  | 'broadcast-flag' // RFC 2131 §4.1 ¶2: client asked for broadcast
  | 'nak-broadcast' // RFC 2131 §4.1 ¶2: "In all cases, when giaddr is zero, the server broadcasts any DHCPNAK"
  | 'yiaddr-unicast' // RFC 2131 §4.1 ¶2: to chaddr + yiaddr (needs an ARP entry we add ourselves)
  | 'yiaddr-broadcast' // same case, without the means to unicast: broadcast on the bound interface

export interface ReplyDestination {
  address: string
  port: number
  rule: ReplyRule
  /** The flags field to put in the reply (RFC 2131 §4.1: relays need the client's broadcast bit echoed). */
  flags: number
  /** For `yiaddr-unicast`: the neighbour entry the sender must ensure before sending. */
  arp?: { ip: string; mac: string }
  /** Broadcast to 255.255.255.255: send from a socket bound to the serving interface only. */
  broadcast: boolean
}

const LIMITED_BROADCAST = '255.255.255.255'

export function replyDestination(
  request: Pick<DhcpPacket, 'giaddr' | 'ciaddr' | 'flags' | 'htype' | 'hlen' | 'chaddr'>,
  ctx: ReplyContext,
): ReplyDestination {
  const clientBroadcast = (request.flags & BROADCAST_FLAG) !== 0
  const echoFlags = request.flags & BROADCAST_FLAG

  if (ctx.receivedOn?.localPort === PXE_PROXY_PORT) {
    const { address, port } = ctx.receivedOn.from
    return { address, port, rule: 'proxy-4011', flags: echoFlags, broadcast: false }
  }
  if (!isZeroIp(request.giaddr)) {
    // RFC 2131 §4.3.2: a NAK through a relay sets the broadcast bit, so the relay broadcasts it on the
    // client's segment (the client may have no usable address).
    const flags = ctx.kind === 'nak' ? BROADCAST_FLAG : echoFlags
    return { address: request.giaddr, port: DHCP_SERVER_PORT, rule: 'relay', flags, broadcast: false }
  }
  if (ctx.kind === 'nak')
    return {
      address: LIMITED_BROADCAST,
      port: DHCP_CLIENT_PORT,
      rule: 'nak-broadcast',
      flags: echoFlags,
      broadcast: true,
    }
  if (!isZeroIp(request.ciaddr))
    return {
      address: request.ciaddr,
      port: DHCP_CLIENT_PORT,
      rule: 'ciaddr',
      flags: echoFlags,
      broadcast: false,
    }
  if (clientBroadcast)
    return {
      address: LIMITED_BROADCAST,
      port: DHCP_CLIENT_PORT,
      rule: 'broadcast-flag',
      flags: echoFlags,
      broadcast: true,
    }

  const mac = clientMac(request)
  if (ctx.canUnicastToUnconfigured && ctx.yiaddr && !isZeroIp(ctx.yiaddr) && mac) {
    return {
      address: ctx.yiaddr,
      port: DHCP_CLIENT_PORT,
      rule: 'yiaddr-unicast',
      flags: echoFlags,
      broadcast: false,
      arp: { ip: ctx.yiaddr, mac },
    }
  }
  // The client has no address yet and did not ask for broadcast. An IP unicast would need an ARP
  // entry for yiaddr -> chaddr, which Node cannot add; like dnsmasq without CAP_NET_ADMIN and many
  // small servers, broadcast on the serving interface instead. Clients accept broadcast replies.
  return {
    address: LIMITED_BROADCAST,
    port: DHCP_CLIENT_PORT,
    rule: 'yiaddr-broadcast',
    flags: echoFlags,
    broadcast: true,
  }
}
