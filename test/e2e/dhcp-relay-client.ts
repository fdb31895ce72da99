/**
 * A DHCP client population speaking as a relay agent (RFC 1542: from port 67, giaddr = our address, hops 1),
 * the way perfdhcp does, so many MACs share one socket and replies come back unicast to giaddr:67.
 * Run inside a client namespace (`ip netns exec NS node --import tsx test/e2e/dhcp-relay-client.ts '<json>'`);
 * prints one JSON line per event on stdout. Not a test: the e2e tests drive it.
 *
 * Modes:
 *  - probe: DISCOVER, then a REQUEST naming another server id (expects silence), then a proper REQUEST.
 *  - load:  `macs` clients loop DISCOVER → REQUEST → (RENEW | RELEASE) until `durationMs` or SIGTERM, every ACK logged
 *           with the time the REQUEST left and the time the ACK came (the lease is valid from the ACK until
 *           request time + lease, RFC 2131 §4.4.1), every RELEASE and NAK logged with its time.
 */
import { createSocket, type Socket } from 'node:dgram'
import {
  BootOp,
  DhcpMessageType,
  decodePacket,
  encodePacket,
  type DhcpPacket,
} from '../../electron/core/boot/dhcp'

interface Config {
  mode: 'probe' | 'load'
  /** Our address on the client side: the giaddr we put in every request. */
  giaddr: string
  server: string
  macs?: number
  durationMs?: number
  releaseRatio?: number
  seed?: number
  /** probe: the server id named in the REQUEST that must get no answer. */
  otherServer?: string
  /** probe: speak as PXE firmware (option 60 and option 93), e.g. `PXEClient:Arch:00000:UNDI:002001`. */
  vendorClass?: string
  arch?: number
  /** probe: finish with a PXE boot-server REQUEST to port 4011 (proxyDHCP). */
  proxyRequest?: boolean
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as Config
const out = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`)

function macBytes(n: number): Uint8Array {
  return Uint8Array.of(0x02, 0x52, 0x42, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff)
}
const macText = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':')

function packet(
  mac: Uint8Array,
  xid: number,
  type: DhcpMessageType,
  extra: Partial<DhcpPacket> = {},
  options: DhcpPacket['options'] = {},
): Uint8Array {
  const p: DhcpPacket = {
    op: BootOp.Request,
    htype: 1,
    hlen: 6,
    hops: 1,
    xid,
    secs: 0,
    flags: 0,
    ciaddr: '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: cfg.giaddr,
    chaddr: mac,
    sname: '',
    file: '',
    ...extra,
    options: {
      messageType: type,
      parameterRequestList: [1, 3, 6, 51, 54, 66, 67],
      ...(cfg.vendorClass ? { vendorClassId: cfg.vendorClass } : {}),
      ...(cfg.arch !== undefined ? { clientArch: [cfg.arch] } : {}),
      ...options,
    },
  }
  return encodePacket(p)
}

/** One socket, replies matched by xid. */
class Wire {
  private readonly waiting = new Map<number, (p: DhcpPacket) => void>()
  private nextXid = ((cfg.seed ?? 1) * 0x9e3779b1) >>> 0
  constructor(private readonly socket: Socket) {
    socket.on('message', (buf) => {
      const r = decodePacket(buf)
      if (!r.ok || r.value.op !== BootOp.Reply) return
      const w = this.waiting.get(r.value.xid)
      if (w) {
        this.waiting.delete(r.value.xid)
        w(r.value)
      }
    })
  }
  xid(): number {
    this.nextXid = (this.nextXid + 1) >>> 0
    return this.nextXid
  }
  send(bytes: Uint8Array, port = 67): Promise<void> {
    return new Promise((resolve) => this.socket.send(bytes, port, cfg.server, () => resolve()))
  }
  /** Sends and waits for the reply with this xid, or null after timeoutMs. */
  async ask(xid: number, bytes: Uint8Array, timeoutMs: number, port = 67): Promise<DhcpPacket | null> {
    const reply = new Promise<DhcpPacket | null>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(xid)
        resolve(null)
      }, timeoutMs)
      this.waiting.set(xid, (p) => {
        clearTimeout(timer)
        resolve(p)
      })
    })
    await this.send(bytes, port)
    return reply
  }
}

async function probe(wire: Wire): Promise<void> {
  const mac = macBytes(1)
  const x1 = wire.xid()
  const offer = await wire.ask(x1, packet(mac, x1, DhcpMessageType.Discover), 3000)
  out({
    ev: 'offer',
    ip: offer?.yiaddr ?? null,
    serverId: offer?.options.serverId ?? null,
    file: offer?.file ?? null,
    leaseTime: offer?.options.leaseTime ?? null,
  })
  if (!offer) return
  const x2 = wire.xid()
  const other = await wire.ask(
    x2,
    packet(mac, x2, DhcpMessageType.Request, {}, { requestedIp: offer.yiaddr, serverId: cfg.otherServer }),
    2000,
  )
  out({ ev: 'request-other-server', reply: other ? other.options.messageType : null })
  const x3 = wire.xid()
  const ack = await wire.ask(
    x3,
    packet(
      mac,
      x3,
      DhcpMessageType.Request,
      {},
      { requestedIp: offer.yiaddr, serverId: offer.options.serverId },
    ),
    3000,
  )
  out({ ev: 'request-ours', reply: ack ? ack.options.messageType : null, ip: ack?.yiaddr ?? null })
  if (cfg.proxyRequest) {
    // PXE 2.1 §2.2.4: the client, now configured, asks the boot server on 4011 from its own address.
    const x4 = wire.xid()
    const boot = await wire.ask(
      x4,
      packet(mac, x4, DhcpMessageType.Request, { ciaddr: cfg.giaddr, giaddr: '0.0.0.0', hops: 0 }),
      3000,
      4011,
    )
    out({
      ev: 'request-4011',
      reply: boot ? boot.options.messageType : null,
      ip: boot?.yiaddr ?? null,
      file: boot?.file ?? null,
    })
  }
}

async function load(wire: Wire): Promise<void> {
  let until = Date.now() + (cfg.durationMs ?? 10_000)
  // SIGTERM ends the run early and cleanly (every client finishes its step, then `done` is printed).
  process.once('SIGTERM', () => (until = 0))
  let seed = (cfg.seed ?? 7) >>> 0
  const rnd = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0
    return seed / 4294967296
  }
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
  const counts = { discover: 0, offer: 0, ack: 0, nak: 0, release: 0, timeout: 0 }
  const client = async (n: number) => {
    const mac = macBytes(n)
    const name = macText(mac)
    let held: { ip: string; serverId: string } | null = null
    while (Date.now() < until) {
      if (!held) {
        const x = wire.xid()
        counts.discover++
        const offer = await wire.ask(x, packet(mac, x, DhcpMessageType.Discover), 400)
        if (!offer || offer.options.messageType !== DhcpMessageType.Offer) {
          counts.timeout++
          await sleep(50 + rnd() * 100)
          continue
        }
        counts.offer++
        const y = wire.xid()
        const reqAt = Date.now()
        const ack = await wire.ask(
          y,
          packet(
            mac,
            y,
            DhcpMessageType.Request,
            {},
            { requestedIp: offer.yiaddr, serverId: offer.options.serverId },
          ),
          400,
        )
        if (ack?.options.messageType === DhcpMessageType.Ack) {
          counts.ack++
          held = { ip: ack.yiaddr, serverId: ack.options.serverId ?? cfg.server }
          out({
            ev: 'ack',
            mac: name,
            ip: ack.yiaddr,
            reqAt,
            ackAt: Date.now(),
            lease: ack.options.leaseTime,
          })
        } else if (ack?.options.messageType === DhcpMessageType.Nak) {
          counts.nak++
          out({ ev: 'nak', mac: name, ip: offer.yiaddr, at: Date.now() })
        } else counts.timeout++
      } else {
        await sleep(rnd() * 200)
        if (rnd() < (cfg.releaseRatio ?? 0.3)) {
          // RELEASE (RFC 2131 §4.4.6): the client stops using the address when it sends this.
          const at = Date.now()
          await wire.send(
            packet(
              mac,
              wire.xid(),
              DhcpMessageType.Release,
              { ciaddr: held.ip },
              { serverId: held.serverId },
            ),
          )
          counts.release++
          out({ ev: 'release', mac: name, ip: held.ip, at })
          held = null
        } else {
          // RENEWING: ciaddr set, no option 50 or 54; through the relay (giaddr) like the rest.
          const x = wire.xid()
          const reqAt = Date.now()
          const r = await wire.ask(x, packet(mac, x, DhcpMessageType.Request, { ciaddr: held.ip }), 400)
          if (r?.options.messageType === DhcpMessageType.Ack) {
            counts.ack++
            out({ ev: 'ack', mac: name, ip: r.yiaddr, reqAt, ackAt: Date.now(), lease: r.options.leaseTime })
            held = { ip: r.yiaddr, serverId: r.options.serverId ?? cfg.server }
          } else if (r?.options.messageType === DhcpMessageType.Nak) {
            counts.nak++
            out({ ev: 'nak', mac: name, ip: held.ip, at: Date.now() })
            held = null
          } else counts.timeout++ // server down: keep the lease (it is still valid), try again
        }
      }
    }
  }
  await Promise.all(Array.from({ length: cfg.macs ?? 10 }, (_, i) => client(i + 1)))
  out({ ev: 'done', counts })
}

async function main(): Promise<void> {
  const socket = createSocket({ type: 'udp4', reuseAddr: true })
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind({ port: 67, address: cfg.giaddr }, () => resolve())
  })
  const wire = new Wire(socket)
  try {
    if (cfg.mode === 'probe') await probe(wire)
    else await load(wire)
  } finally {
    socket.close()
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`relay client: ${e instanceof Error ? e.stack : String(e)}\n`)
  process.exit(1)
})
