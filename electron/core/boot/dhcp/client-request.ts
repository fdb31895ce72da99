/**
 * The BOOTREQUEST an unconfigured client sends (DISCOVER, or REQUEST in the SELECTING state): no address
 * yet, so every address field is 0.0.0.0 and the broadcast flag is set, because a client without a raw
 * socket cannot receive a reply unicast to an address it does not hold (RFC 2131 §4.1). The simulated
 * nodes and the rogue-server probe both send exactly this; only xid, chaddr, secs and options differ.
 */
import { BROADCAST_FLAG, BootOp, type DhcpPacket } from './packet'

export function clientRequest(o: {
  xid: number
  chaddr: Uint8Array
  options: DhcpPacket['options']
  /** Seconds since the client began acquiring (RFC 2131 §2); 0 for a one-shot DISCOVER. */
  secs?: number
}): DhcpPacket {
  return {
    op: BootOp.Request,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: o.xid,
    secs: o.secs ?? 0,
    flags: BROADCAST_FLAG,
    ciaddr: '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: '0.0.0.0',
    chaddr: o.chaddr,
    sname: '',
    file: '',
    options: o.options,
  }
}
