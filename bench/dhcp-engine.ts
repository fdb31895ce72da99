/**
 * In-process cost of one DHCP exchange (decode, engine, encode; no sockets, journal in memory): the part of
 * bench:dhcp's "CPU µs / exchange" that is ours to cut, measured without the noise of a shared machine's
 * network and scheduler. Client packets are built like perfdhcp's (relayed, one MAC per client).
 *
 *   npx tsx bench/dhcp-engine.ts [--clients 20000] [--rounds 5] [--cpu-prof: run under node --cpu-prof]
 */
import { parseArgs } from 'node:util'
import { DhcpMessageType, decodePacket, encodePacket, type DhcpPacket } from '../electron/core/boot/dhcp'
import { DhcpEngine } from '../electron/core/boot/dhcp/engine'
import { LeaseBook } from '../electron/core/boot/dhcp/leases'
import { ipToInt, parseCidr } from '../electron/core/util/ipv4'

const { values } = parseArgs({
  options: { clients: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '5' } },
})
const CLIENTS = Number(values.clients)
const parsed = parseCidr('198.19.0.0/16')
if (!parsed.ok) throw new Error(parsed.error)
const subnet = parsed.value

function clientPacket(i: number, type: DhcpMessageType, extra: DhcpPacket['options'] = {}): Uint8Array {
  const chaddr = new Uint8Array(16)
  chaddr.set([0x02, 0xaa, (i >> 24) & 0xff, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff])
  return encodePacket({
    op: 1,
    htype: 1,
    hlen: 6,
    hops: 1,
    xid: i,
    secs: 0,
    flags: 0,
    ciaddr: '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: '198.19.0.2',
    chaddr,
    sname: '',
    file: '',
    options: { messageType: type, parameterRequestList: [1, 3, 6, 15, 51, 54], ...extra },
  } as DhcpPacket)
}

async function round(): Promise<number> {
  const book = new LeaseBook(
    { start: ipToInt('198.19.1.0')!, end: ipToInt('198.19.254.254')!, exclude: new Set() },
    { ipFor: () => null, reservedFor: () => null },
  )
  let clock = Date.now()
  const engine = new DhcpEngine({
    config: {
      mode: 'server',
      serverIp: '198.19.0.1',
      subnet,
      gateway: null,
      dns: [],
      domain: '',
      leaseSeconds: 3600,
      offerHoldMs: 30_000,
      declineQuarantineMs: 600_000,
      boot: { httpPort: 9873 },
    },
    book,
    journal: { record: async () => {} },
    nodeName: () => null,
    now: () => (clock += 0.05),
    emit: () => {},
  })
  const from = { localPort: 67, from: { address: '198.19.0.2', port: 67 } }
  const discovers = Array.from({ length: CLIENTS }, (_, i) => clientPacket(i, DhcpMessageType.Discover))
  const c0 = process.cpuUsage() // CPU time, not wall time: other load on the machine preempts us
  for (let i = 0; i < CLIENTS; i++) {
    const d = decodePacket(discovers[i]!)
    if (!d.ok) throw new Error(d.error)
    const offer = await engine.handle(d.value, from)
    if (offer.kind !== 'replies') throw new Error(`no offer: ${offer.reason}`)
    const offerBytes = encodePacket(offer.replies[0]!.packet)
    const o = decodePacket(offerBytes)
    if (!o.ok) throw new Error(o.error)
    // The client's REQUEST is built outside the clock in a real exchange; here it is cheap next to the rest.
    const req = decodePacket(
      clientPacket(i, DhcpMessageType.Request, { requestedIp: o.value.yiaddr, serverId: '198.19.0.1' }),
    )
    if (!req.ok) throw new Error(req.error)
    const ack = await engine.handle(req.value, from)
    if (ack.kind !== 'replies') throw new Error(`no ack: ${ack.reason}`)
    encodePacket(ack.replies[0]!.packet)
  }
  const c = process.cpuUsage(c0)
  return (c.user + c.system) / CLIENTS
}

const results: number[] = []
for (let r = 0; r < Number(values.rounds); r++) results.push(await round())
results.sort((a, b) => a - b)
console.log(
  `CPU µs per exchange (DISCOVER+OFFER+REQUEST+ACK, ${CLIENTS} clients): best ${results[0]!.toFixed(1)}, median ${results[Math.floor(results.length / 2)]!.toFixed(1)}`,
)
