import { describe, expect, it } from 'vitest'
import {
  BROADCAST_FLAG,
  replyDestination,
  type ReplyContext,
  type ReplyKind,
} from '../../electron/core/boot/dhcp'

const chaddr = Uint8Array.of(0x52, 0x54, 0x00, 0x0a, 0x00, 0x01)
const req = (r: { giaddr?: string; ciaddr?: string; broadcast?: boolean }) => ({
  giaddr: r.giaddr ?? '0.0.0.0',
  ciaddr: r.ciaddr ?? '0.0.0.0',
  flags: r.broadcast ? BROADCAST_FLAG : 0,
  htype: 1,
  hlen: 6,
  chaddr,
})
const fromClient = { localPort: 67, from: { address: '0.0.0.0', port: 68 } }

// RFC 2131 §4.1 ¶2, §4.3.2 and PXE spec 2.1 §2.2.4, one row per case.
const table: Array<{
  name: string
  request: ReturnType<typeof req>
  kind: ReplyKind
  ctx?: Partial<ReplyContext>
  want: { address: string; port: number; rule: string; flags: number; broadcast: boolean }
}> = [
  {
    name: 'relayed offer goes to giaddr:67 and echoes the broadcast flag',
    request: req({ giaddr: '198.18.20.1', broadcast: true }),
    kind: 'offer',
    want: { address: '198.18.20.1', port: 67, rule: 'relay', flags: BROADCAST_FLAG, broadcast: false },
  },
  {
    name: 'relayed ack without broadcast flag keeps it clear',
    request: req({ giaddr: '198.18.20.1' }),
    kind: 'ack',
    want: { address: '198.18.20.1', port: 67, rule: 'relay', flags: 0, broadcast: false },
  },
  {
    name: 'relayed ack wins over ciaddr',
    request: req({ giaddr: '198.18.20.1', ciaddr: '198.18.20.50' }),
    kind: 'ack',
    want: { address: '198.18.20.1', port: 67, rule: 'relay', flags: 0, broadcast: false },
  },
  {
    name: 'relayed NAK sets the broadcast bit for the relay (§4.3.2)',
    request: req({ giaddr: '198.18.20.1' }),
    kind: 'nak',
    want: { address: '198.18.20.1', port: 67, rule: 'relay', flags: BROADCAST_FLAG, broadcast: false },
  },
  {
    name: 'RENEWING/REBINDING/INFORM ack goes unicast to ciaddr:68',
    request: req({ ciaddr: '198.18.10.180' }),
    kind: 'ack',
    want: { address: '198.18.10.180', port: 68, rule: 'ciaddr', flags: 0, broadcast: false },
  },
  {
    name: 'ciaddr wins over the broadcast flag',
    request: req({ ciaddr: '198.18.10.180', broadcast: true }),
    kind: 'ack',
    want: { address: '198.18.10.180', port: 68, rule: 'ciaddr', flags: BROADCAST_FLAG, broadcast: false },
  },
  {
    name: 'NAK is broadcast even when ciaddr is set',
    request: req({ ciaddr: '198.18.10.180' }),
    kind: 'nak',
    want: { address: '255.255.255.255', port: 68, rule: 'nak-broadcast', flags: 0, broadcast: true },
  },
  {
    name: 'NAK to a fresh client is broadcast',
    request: req({}),
    kind: 'nak',
    want: { address: '255.255.255.255', port: 68, rule: 'nak-broadcast', flags: 0, broadcast: true },
  },
  {
    name: 'broadcast flag (EDK2 PXE, undionly) -> 255.255.255.255:68',
    request: req({ broadcast: true }),
    kind: 'offer',
    want: {
      address: '255.255.255.255',
      port: 68,
      rule: 'broadcast-flag',
      flags: BROADCAST_FLAG,
      broadcast: true,
    },
  },
  {
    name: 'no flag, no address (iPXE ROM): broadcast on the interface, since Node cannot add ARP entries',
    request: req({}),
    kind: 'offer',
    ctx: { yiaddr: '198.18.10.100' },
    want: { address: '255.255.255.255', port: 68, rule: 'yiaddr-broadcast', flags: 0, broadcast: true },
  },
  {
    name: 'no flag, no address, sender can unicast: to yiaddr with an ARP entry for chaddr',
    request: req({}),
    kind: 'ack',
    ctx: { yiaddr: '198.18.10.100', canUnicastToUnconfigured: true },
    want: { address: '198.18.10.100', port: 68, rule: 'yiaddr-unicast', flags: 0, broadcast: false },
  },
  {
    name: 'proxyDHCP boot-server request on 4011 is answered to its source',
    request: req({ ciaddr: '198.18.10.100' }),
    kind: 'ack',
    ctx: { receivedOn: { localPort: 4011, from: { address: '198.18.10.100', port: 68 } } },
    want: { address: '198.18.10.100', port: 68, rule: 'proxy-4011', flags: 0, broadcast: false },
  },
  {
    name: 'proxyDHCP from an odd source port goes back to that port',
    request: req({ broadcast: true }),
    kind: 'ack',
    ctx: { receivedOn: { localPort: 4011, from: { address: '198.18.10.101', port: 4011 } } },
    want: {
      address: '198.18.10.101',
      port: 4011,
      rule: 'proxy-4011',
      flags: BROADCAST_FLAG,
      broadcast: false,
    },
  },
]

describe('replyDestination (RFC 2131 §4.1)', () => {
  it.each(table)('$name', ({ request, kind, ctx, want }) => {
    expect(replyDestination(request, { kind, receivedOn: fromClient, ...ctx })).toMatchObject(want)
  })

  it('names the neighbour entry to add for the unicast-to-yiaddr case', () => {
    const d = replyDestination(req({}), {
      kind: 'offer',
      yiaddr: '198.18.10.100',
      canUnicastToUnconfigured: true,
    })
    expect(d.arp).toEqual({ ip: '198.18.10.100', mac: '52:54:00:0a:00:01' })
  })

  it('falls back to broadcast when unicast is possible but yiaddr is unknown', () => {
    expect(replyDestination(req({}), { kind: 'offer', canUnicastToUnconfigured: true }).rule).toBe(
      'yiaddr-broadcast',
    )
  })
})
