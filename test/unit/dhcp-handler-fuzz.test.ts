/**
 * 100,000 mutated and random packets through decode AND the server's handler (the engine, with a lease book
 * and a journal stand-in), then through the real socket layer on loopback: nothing throws, nothing hangs,
 * every datagram is counted, and the lease book never holds one address for two MACs.
 */
import { createSocket, type Socket } from 'node:dgram'
import { describe, expect, it } from 'vitest'
import { decodePacket, encodePacket } from '../../electron/core/boot/dhcp'
import { DhcpEngine, type EngineConfig } from '../../electron/core/boot/dhcp/engine'
import { LeaseBook, type LeaseEntry } from '../../electron/core/boot/dhcp/leases'
import { startDhcpServer } from '../../electron/core/boot/dhcp/server'
import { ipToInt, parseCidr } from '../../electron/core/util/ipv4'
import { silentLogger } from '../../electron/core/util/logger'
import { mutate, prng, seeds } from '../support/dhcp-fuzz'

function makeEngine(mode: 'server' | 'proxy', book: LeaseBook, now: () => number): DhcpEngine {
  const subnet = parseCidr('198.18.0.0/16')
  if (!subnet.ok) throw new Error(subnet.error)
  const config: EngineConfig = {
    mode,
    serverIp: '198.18.0.1',
    subnet: subnet.value,
    gateway: '198.18.0.254',
    dns: ['198.18.0.1'],
    domain: 'rack.test',
    leaseSeconds: 600,
    offerHoldMs: 30_000,
    declineQuarantineMs: 60_000,
    boot: { httpPort: 9873, efiBootFile: 'ipxe.efi' },
  }
  return new DhcpEngine({
    config,
    book,
    journal: { record: async () => {} },
    nodeName: (mac) => (mac.endsWith('01') ? 'node01' : null),
    onPxeDiscover: async () => {},
    now,
    emit: () => {},
  })
}

function assertOneMacPerAddress(entries: Iterable<LeaseEntry>): void {
  const owner = new Map<number, string>()
  for (const e of entries) {
    const other = owner.get(e.ip)
    if (other !== undefined && other !== e.mac)
      throw new Error(`address ${e.ip} held by ${other} and ${e.mac}`)
    owner.set(e.ip, e.mac)
  }
}

describe('DHCP handler fuzz', () => {
  it('handles 100,000 mutated and random packets in server and proxy mode without throwing', async () => {
    const r = prng(0x0dcb)
    const pool = seeds()
    let clock = Date.UTC(2026, 0, 1)
    const book = new LeaseBook(
      {
        start: ipToInt('198.18.1.0')!,
        end: ipToInt('198.18.1.63')!,
        exclude: new Set([ipToInt('198.18.0.1')!]),
      },
      {
        ipFor: (mac) => (mac.endsWith('01') ? ipToInt('198.18.0.11') : null),
        reservedFor: (ip) => (ip === ipToInt('198.18.0.11') ? [] : null),
      },
    )
    const engines = {
      server: makeEngine('server', book, () => clock),
      proxy: makeEngine('proxy', book, () => clock),
    }
    const tally = { malformed: 0, replies: 0, ignored: 0 }
    for (let i = 0; i < 100_000; i++) {
      clock += r.int(2000)
      const decoded = decodePacket(mutate(r, pool))
      if (!decoded.ok) {
        tally.malformed++
        continue
      }
      const engine = r.int(4) === 0 ? engines.proxy : engines.server
      const outcome = await engine.handle(decoded.value, {
        localPort: r.pick([67, 67, 67, 4011]),
        from: { address: '198.18.0.99', port: 68 },
      })
      if (outcome.kind === 'ignored') tally.ignored++
      else
        for (const reply of outcome.replies) {
          tally.replies++
          const bytes = encodePacket(reply.packet, { maxSize: decoded.value.options.maxMessageSize })
          expect(decodePacket(bytes).ok).toBe(true)
        }
      if (i % 5000 === 0) assertOneMacPerAddress(book.entries())
    }
    assertOneMacPerAddress(book.entries())
    // The mix must exercise every path, or the fuzz proves little.
    expect(tally.malformed).toBeGreaterThan(1000)
    expect(tally.replies).toBeGreaterThan(1000)
    expect(tally.ignored).toBeGreaterThan(1000)
  })

  it('counts every fuzzed datagram at the socket and keeps answering', async () => {
    const r = prng(0xbeef)
    const pool = seeds()
    const book = new LeaseBook(
      { start: ipToInt('198.18.2.0')!, end: ipToInt('198.18.2.255')!, exclude: new Set() },
      { ipFor: () => null, reservedFor: () => null },
    )
    const engine = makeEngine('server', book, () => Date.now())
    const opened: Socket[] = []
    const server = await startDhcpServer({
      engine,
      mode: 'server',
      logger: silentLogger,
      bindSocket: () =>
        new Promise<Socket>((resolve) => {
          const s = createSocket('udp4')
          s.bind(0, '127.0.0.1', () => {
            opened.push(s)
            resolve(s)
          })
        }),
    })
    const port = opened[0]!.address().port
    const client = createSocket('udp4')
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', () => resolve()))
    try {
      // Paced in bursts of 50: loopback UDP drops what overflows the receive buffer, which would test the
      // kernel, not the server. Each burst must be fully counted before the next.
      const sent = 5000
      for (let i = 0; i < sent; i++) {
        await new Promise<void>((resolve) => client.send(mutate(r, pool), port, '127.0.0.1', () => resolve()))
        if ((i + 1) % 50 === 0)
          for (let k = 0; k < 500 && server.stats().received < i + 1; k++)
            await new Promise((x) => setTimeout(x, 2))
      }
      const s = server.stats()
      expect(s.received).toBe(sent)
      expect(s.malformed).toBeGreaterThan(0)
      expect(s.handlerErrors).toBe(0)
      // Still serving: a clean fixture DISCOVER gets handled after the storm.
      const before = s.received
      await new Promise<void>((resolve) => client.send(pool[0]!, port, '127.0.0.1', () => resolve()))
      for (let i = 0; i < 200 && server.stats().received === before; i++)
        await new Promise((x) => setTimeout(x, 10))
      expect(server.stats().received).toBe(before + 1)
    } finally {
      client.close()
      await server.close()
    }
  })
})
