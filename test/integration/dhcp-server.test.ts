/**
 * The DHCP server's socket layer on loopback (no root, no namespace): malformed datagrams are counted and
 * dropped without harming the server, a proxyDHCP boot-server REQUEST (port 4011) is answered to its source,
 * and requests beyond maxInFlight are shed and counted instead of queueing without bound.
 */
import { createSocket, type Socket } from 'node:dgram'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { DhcpMessageType, decodePacket, encodePacket, type DhcpPacket } from '../../electron/core/boot/dhcp'
import { DhcpEngine, type EngineConfig } from '../../electron/core/boot/dhcp/engine'
import { LeaseBook } from '../../electron/core/boot/dhcp/leases'
import { startDhcpServer, type DhcpServer } from '../../electron/core/boot/dhcp/server'
import { ipToInt, parseCidr } from '../../electron/core/util/ipv4'
import { silentLogger } from '../../electron/core/util/logger'
import { readPcapUdp } from '../support/pcap'

const edk2 = readPcapUdp(join(import.meta.dirname, '../fixtures/dhcp/uefi-edk2-ipxe.pcap'))
  .filter((d) => d.dstPort === 67)
  .map((d) => {
    const r = decodePacket(d.payload)
    if (!r.ok) throw new Error(r.error)
    return r.value
  })

function engine(mode: 'server' | 'proxy', journal: { record(): Promise<void> }): DhcpEngine {
  const subnet = parseCidr('127.0.0.0/8')
  if (!subnet.ok) throw new Error(subnet.error)
  const config: EngineConfig = {
    mode,
    serverIp: '127.0.0.1',
    subnet: subnet.value,
    gateway: null,
    dns: [],
    domain: '',
    leaseSeconds: 3600,
    offerHoldMs: 30_000,
    declineQuarantineMs: 60_000,
    boot: { httpPort: 8080 },
  }
  const book = new LeaseBook(
    { start: ipToInt('127.0.0.100')!, end: ipToInt('127.0.0.200')!, exclude: new Set() },
    { ipFor: () => null, reservedFor: () => null },
  )
  return new DhcpEngine({
    config,
    book,
    journal,
    nodeName: () => null,
    now: () => Date.now(),
    emit: () => {},
  })
}

/** Loopback stand-ins for the interface-bound sockets, on ephemeral ports. */
function loopbackBinder(opened: Socket[]) {
  return (_port: number) =>
    new Promise<Socket>((resolve, reject) => {
      const s = createSocket('udp4')
      s.once('error', reject)
      s.bind(0, '127.0.0.1', () => {
        opened.push(s)
        resolve(s)
      })
    })
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10))
  expect(check()).toBe(true)
}

describe('DHCP server sockets (loopback)', () => {
  let server: DhcpServer | null = null
  let client: Socket | null = null
  afterEach(async () => {
    await server?.close()
    server = null
    client?.close()
    client = null
  })

  async function clientSocket(): Promise<Socket> {
    const s = createSocket('udp4')
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()))
    client = s
    return s
  }
  const send = (s: Socket, bytes: Uint8Array, port: number) =>
    new Promise<void>((resolve, reject) =>
      s.send(bytes, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
    )

  it('counts malformed datagrams, keeps serving, and answers a 4011 REQUEST to its source', async () => {
    const opened: Socket[] = []
    server = await startDhcpServer({
      engine: engine('proxy', { record: () => Promise.resolve() }),
      mode: 'proxy',
      bindSocket: loopbackBinder(opened),
      logger: silentLogger,
    })
    const [main, proxy] = opened.map((s) => s.address().port)
    const c = await clientSocket()
    const good = encodePacket(edk2[0]!)
    const badCookie = Uint8Array.from(good)
    badCookie[236] = 0
    const malformed = [
      Uint8Array.of(1, 2, 3),
      good.subarray(0, 239),
      badCookie,
      new Uint8Array(300).fill(0xff),
    ]
    for (const m of malformed) await send(c, m, main!)
    await until(() => server!.stats().malformed === malformed.length)

    const replies: DhcpPacket[] = []
    c.on('message', (buf) => {
      const r = decodePacket(buf)
      if (r.ok) replies.push(r.value)
    })
    const req: DhcpPacket = { ...edk2[1]!, ciaddr: '127.0.0.1' }
    await send(c, encodePacket(req), proxy!)
    await until(() => replies.length === 1)
    expect(replies[0]).toMatchObject({ xid: req.xid, yiaddr: '0.0.0.0', file: 'ipxe.efi' })
    expect(replies[0]!.options.messageType).toBe(DhcpMessageType.Ack)
    const stats = server.stats()
    expect(stats).toMatchObject({
      received: malformed.length + 1,
      malformed: malformed.length,
      replies: 1,
      handlerErrors: 0,
    })
  })

  it('sheds requests beyond maxInFlight while the journal is slow, and counts them', async () => {
    const opened: Socket[] = []
    let release: () => void = () => {}
    const slow = new Promise<void>((r) => (release = r))
    server = await startDhcpServer({
      engine: engine('server', { record: () => slow }),
      mode: 'server',
      bindSocket: loopbackBinder(opened),
      logger: silentLogger,
      maxInFlight: 2,
    })
    const port = opened[0]!.address().port
    const c = await clientSocket()
    for (let i = 0; i < 5; i++) {
      const chaddr = Uint8Array.of(2, 0, 0, 0, 0, i)
      const r: DhcpPacket = {
        ...edk2[1]!,
        xid: 1000 + i,
        chaddr,
        options: { ...edk2[1]!.options, serverId: '127.0.0.1', requestedIp: `127.0.0.${100 + i}` },
      }
      await send(c, encodePacket(r), port)
    }
    await until(() => server!.stats().received === 5)
    expect(server.stats()).toMatchObject({ overloaded: 3, malformed: 0 })
    release()
  })
})
