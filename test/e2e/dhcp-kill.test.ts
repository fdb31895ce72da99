/**
 * Crash consistency (issue "DHCPv4 for PXE"): `rackboot serve` with a 16-address pool is SIGKILLed again and
 * again while 24 relayed clients (dhcp-relay-client.ts) acquire, renew and release leases, and is restarted
 * each time. From every ACK the clients received:
 *  - no address was ever ACKed to two MACs whose leases overlap in time (a lease is valid from its ACK until
 *    REQUEST time + lease, RFC 2131 §4.4.1, and ends early at the client's RELEASE, a NAK, or its next
 *    address);
 *  - every ACK was on disk before it was sent: the journal as it was right after each kill holds a bound line
 *    for that MAC and address lasting at least as long as the ACK said;
 *  - the journal parses after each crash (a torn last line at most) and is clean after the final stop.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { replay } from '../../electron/core/boot/dhcp/journal'
import { ipToInt } from '../../electron/core/util/ipv4'
import { missing } from '../support/env'
import { buildCli } from '../support/cli'
import { createNetnsPair, type NetnsPair } from '../support/netns'
import { RELAY_CLIENT, serveInNs, type InNsServe } from './dhcp-serve'

const skip = missing({ root: true, commands: ['ip'] })
const KILLS = 6
/** An upper bound only: the test stops the clients with SIGTERM once the kills are done. */
const CLIENT_MS = 90_000

interface Ack {
  ev: 'ack'
  mac: string
  ip: string
  reqAt: number
  ackAt: number
  lease: number
}
type Ev =
  | Ack
  | { ev: 'release' | 'nak'; mac: string; ip: string; at: number }
  | { ev: 'done'; counts: Record<string, number> }

describe.skipIf(skip)('DHCP server under repeated kill -9', () => {
  let net: NetnsPair
  let dir: string
  let server: InNsServe | null = null

  beforeAll(async () => {
    buildCli()
    dir = await mkdtemp(join(tmpdir(), 'rbds-kill-'))
    net = createNetnsPair({
      prefix: 'rbds-k',
      serverAddress: '198.18.31.1/24',
      clientAddresses: ['198.18.31.2/24'],
    })
  })
  afterAll(async () => {
    await server?.stop('SIGKILL').catch(() => undefined)
    net?.destroy()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it(
    'never ACKs one address to two MACs at once, and every ACK was durable',
    { timeout: 120_000 },
    async () => {
      const data = join(dir, 'data')
      const leaseFile = join(data, 'leases.jsonl')
      const start = () =>
        serveInNs(net, [
          '--interface',
          net.serverIf,
          '--dhcp-mode',
          'server',
          '--data-dir',
          data,
          '--pool',
          '198.18.31.100-198.18.31.115',
        ])
      server = await start()

      const client = net.spawn('cli', process.execPath, [
        '--import',
        'tsx',
        RELAY_CLIENT,
        JSON.stringify({
          mode: 'load',
          giaddr: '198.18.31.2',
          server: '198.18.31.1',
          macs: 24,
          durationMs: CLIENT_MS,
          releaseRatio: 0.35,
          seed: 11,
        }),
      ])
      let out = ''
      let err = ''
      client.stdout!.on('data', (d: Buffer) => (out += d.toString()))
      client.stderr!.on('data', (d: Buffer) => (err += d.toString()))
      const clientDone = new Promise<number | null>((resolve) => client.once('exit', (c) => resolve(c)))

      // Kill at varied moments (some right after start-up), restart at once; snapshot the journal as the crash left it.
      const snapshots: Array<{ from: number; to: number; text: string }> = []
      let since = 0
      let seed = 5
      const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296
      for (let k = 0; k < KILLS; k++) {
        await new Promise((r) => setTimeout(r, k % 3 === 0 ? 150 + rnd() * 200 : 800 + rnd() * 1500))
        await server.stop('SIGKILL')
        const killedAt = Date.now()
        snapshots.push({ from: since, to: killedAt, text: await readFile(leaseFile, 'utf8').catch(() => '') })
        since = killedAt
        server = await start()
      }
      // A last stretch of normal service after the final restart, then the clients stop and report.
      await new Promise((r) => setTimeout(r, 2000))
      client.kill('SIGTERM')
      expect(await clientDone, err).toBe(0)
      await server.stop('SIGTERM')
      server = null
      const finalText = await readFile(leaseFile, 'utf8')
      snapshots.push({ from: since, to: Date.now(), text: finalText })

      const events = out
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Ev)
      const acks = events.filter((e): e is Ack => e.ev === 'ack')
      const done = events.find((e) => e.ev === 'done')
      // The run meant something: many leases, churn, and addresses passed between MACs.
      expect(acks.length).toBeGreaterThan(100)
      expect(events.filter((e) => e.ev === 'release').length).toBeGreaterThan(20)
      const macsPerIp = new Map<string, Set<string>>()
      for (const a of acks) macsPerIp.set(a.ip, (macsPerIp.get(a.ip) ?? new Set()).add(a.mac))
      expect([...macsPerIp.values()].some((s) => s.size > 1)).toBe(true)
      for (let k = 0; k < KILLS; k++)
        expect(
          acks.some((a) => a.ackAt > snapshots[k]!.to),
          `ACKs after kill ${k + 1}`,
        ).toBe(true)

      // 1. No overlap: each ACK's validity, cut short by that MAC's next RELEASE/NAK/other address.
      const intervals = acks.map((a) => {
        let end = a.reqAt + a.lease * 1000
        for (const e of events) {
          if (e.ev === 'done' || e.mac !== a.mac) continue
          const t = e.ev === 'ack' ? e.ackAt : e.at
          if (t <= a.ackAt) continue
          if (e.ev === 'release' || e.ev === 'nak' || (e.ev === 'ack' && e.ip !== a.ip))
            end = Math.min(end, t)
        }
        return { mac: a.mac, ip: a.ip, start: a.ackAt, end }
      })
      const clashes: string[] = []
      for (const a of intervals)
        for (const b of intervals)
          if (a.ip === b.ip && a.mac < b.mac && a.start < b.end && b.start < a.end)
            clashes.push(`${a.ip}: ${a.mac} [${a.start},${a.end}) and ${b.mac} [${b.start},${b.end})`)
      expect(clashes).toEqual([])

      // 2. Durable before ACK: what the crash left on disk covers every ACK received during that run.
      const missingOnDisk: string[] = []
      for (const s of snapshots) {
        const { badLines } = replay(s.text)
        expect(badLines).toBeLessThanOrEqual(1) // a torn last line, nothing else
        const lines = s.text
          .split('\n')
          .filter((l) => l.startsWith('{') && l.endsWith('}'))
          .map((l) => JSON.parse(l) as { m: string; i: number; x: number; s: string })
        for (const a of acks) {
          if (a.ackAt <= s.from || a.ackAt >= s.to) continue
          const need = a.reqAt + a.lease * 1000
          if (!lines.some((l) => l.m === a.mac && l.i === ipToInt(a.ip) && l.s === 'bound' && l.x >= need))
            missingOnDisk.push(`${a.mac} ${a.ip} acked at ${a.ackAt}`)
        }
      }
      expect(missingOnDisk).toEqual([])

      // 3. A clean stop leaves a journal that parses completely.
      expect(replay(finalText).badLines).toBe(0)
      expect(done).toBeDefined()
    },
  )
})
