/**
 * The lease book (allocator) and the lease journal. The property test drives random sequences of
 * offer/bind/release/decline/prune against a moving clock and checks, after every step, the invariant the
 * whole server rests on: at no moment do two MACs hold the same address.
 */
import { mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  LeaseBook,
  type LeaseEntry,
  type Pool,
  type Reservations,
} from '../../electron/core/boot/dhcp/leases'
import { LeaseJournal, replay } from '../../electron/core/boot/dhcp/journal'
import { ipToInt } from '../../electron/core/util/ipv4'
import { silentLogger } from '../../electron/core/util/logger'

const ip = (s: string) => ipToInt(s)!
const mac = (n: number) =>
  `02:00:00:00:${((n >> 8) & 0xff).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`
const none: Reservations = { ipFor: () => null, reservedFor: () => null }

/** mulberry32: a seeded PRNG, so a failing sequence can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function pool(start: string, end: string, exclude: string[] = []): Pool {
  return { start: ip(start), end: ip(end), exclude: new Set(exclude.map(ip)) }
}

/** Every address held (unexpired, any state) by more than one owner at `now`; byIp/byMac consistency. */
function checkInvariant(book: LeaseBook, now: number): void {
  const owners = new Map<number, string>()
  for (const e of book.entries()) {
    if (e.expiresAt <= now) continue
    const prev = owners.get(e.ip)
    expect(prev, `address ${e.ip} held by ${prev} and ${e.mac}`).toBeUndefined()
    owners.set(e.ip, e.mac)
    if (e.state !== 'declined') expect(book.leaseOf(e.mac)).toBe(e)
  }
}

describe('LeaseBook: never two MACs on one address (property test)', () => {
  for (const seed of [1, 2, 3, 42, 1337, 9001]) {
    it(`random operation sequence, seed ${seed}`, () => {
      const rnd = prng(seed)
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!
      const reservedMac = mac(999)
      const reservations: Reservations = {
        ipFor: (m) => (m === reservedMac ? ip('198.18.30.10') : null),
        reservedFor: (a) => (a === ip('198.18.30.10') ? [reservedMac] : a === ip('198.18.30.11') ? [] : null),
      }
      // Pool of 8 with reserved and excluded addresses inside it; 14 MACs compete.
      const book = new LeaseBook(pool('198.18.30.5', '198.18.30.12', ['198.18.30.6']), reservations)
      const macs = [...Array.from({ length: 13 }, (_, i) => mac(i)), reservedMac]
      let now = 1_000_000
      /** Every binding that was granted: the oracle the book is checked against. */
      const granted: Array<{ mac: string; ip: number; from: number; to: number }> = []
      const endOf = (m: string, at: number) => {
        for (const g of granted) if (g.mac === m && g.to > at) g.to = at
      }
      for (let step = 0; step < 3000; step++) {
        const m = pick(macs)
        const op = rnd()
        if (op < 0.35) {
          const want = rnd() < 0.3 ? ip('198.18.30.5') + Math.floor(rnd() * 10) : null
          const chosen = book.choose(m, want, now)
          if (chosen !== null) {
            expect(book.holderOther(chosen, m, now)).toBeNull()
            expect(ip('198.18.30.6')).not.toBe(chosen)
            book.offer(m, chosen, now, 30_000)
          }
        } else if (op < 0.7) {
          const target =
            rnd() < 0.7
              ? (book.leaseOf(m)?.ip ?? book.choose(m, null, now))
              : ip('198.18.30.5') + Math.floor(rnd() * 10)
          if (target === null) continue
          const r = book.bind(m, target, now, pick([10_000, 60_000, 300_000]), null)
          if (r.ok) {
            endOf(m, now)
            granted.push({ mac: m, ip: target, from: now, to: r.lease.expiresAt })
          }
        } else if (op < 0.8) {
          const held = book.leaseOf(m)
          if (held && book.release(m, held.ip)) endOf(m, now)
        } else if (op < 0.85) {
          const held = book.leaseOf(m)
          if (held && book.decline(m, held.ip, now, 120_000)) endOf(m, now)
        } else if (op < 0.88) {
          book.prune(now, 60_000)
        } else {
          now += Math.floor(rnd() * 20_000)
        }
        checkInvariant(book, now)
      }
      // The oracle: no two different MACs were ever granted overlapping time on one address.
      for (const a of granted)
        for (const b of granted)
          if (a !== b && a.ip === b.ip && a.mac !== b.mac)
            expect(a.from < b.to && b.from < a.to, `${a.mac} and ${b.mac} overlap on ${a.ip}`).toBe(false)
      // Reservations honoured throughout.
      for (const g of granted) {
        if (g.ip === ip('198.18.30.10')) expect(g.mac).toBe(reservedMac)
        expect(g.ip).not.toBe(ip('198.18.30.11'))
        if (g.mac === reservedMac) expect(g.ip).toBe(ip('198.18.30.10'))
      }
      expect(granted.length).toBeGreaterThan(100)
    })
  }
})

describe('LeaseBook: allocation rules', () => {
  it('hands out never-used addresses before expired ones, and nothing when exhausted', () => {
    const book = new LeaseBook(pool('198.18.30.100', '198.18.30.102'), none)
    const now = 1000
    const got = [0, 1, 2].map((i) => {
      const a = book.choose(mac(i), null, now)!
      expect(book.bind(mac(i), a, now, 10_000, null).ok).toBe(true)
      return a
    })
    expect(new Set(got).size).toBe(3)
    expect(book.choose(mac(3), null, now)).toBeNull() // exhausted
    expect(book.choose(mac(3), null, now + 10_001)).not.toBeNull() // expired leases are reused
  })

  it('a returning client gets its previous address back, and the one it asks for when free', () => {
    const book = new LeaseBook(pool('198.18.30.100', '198.18.30.150'), none)
    book.bind(mac(1), ip('198.18.30.120'), 0, 1000, null)
    expect(book.choose(mac(1), null, 5000)).toBe(ip('198.18.30.120'))
    expect(book.choose(mac(2), ip('198.18.30.140'), 5000)).toBe(ip('198.18.30.140'))
    expect(book.choose(mac(2), ip('198.18.30.120'), 500)).not.toBe(ip('198.18.30.120'))
  })

  it('reservations: the owner gets its address, others never; a planned node’s address is kept free', () => {
    const reservations: Reservations = {
      ipFor: (m) => (m === mac(1) ? ip('198.18.30.101') : null),
      reservedFor: (a) => (a === ip('198.18.30.101') ? [mac(1)] : a === ip('198.18.30.100') ? [] : null),
    }
    const book = new LeaseBook(pool('198.18.30.100', '198.18.30.102'), reservations)
    expect(book.choose(mac(1), null, 0)).toBe(ip('198.18.30.101'))
    expect(book.choose(mac(2), ip('198.18.30.101'), 0)).toBe(ip('198.18.30.102'))
    expect(book.bind(mac(2), ip('198.18.30.101'), 0, 1000, null)).toMatchObject({ ok: false })
    expect(book.bind(mac(2), ip('198.18.30.100'), 0, 1000, null)).toMatchObject({ ok: false })
    expect(book.bind(mac(1), ip('198.18.30.102'), 0, 1000, null)).toMatchObject({ ok: false })
    book.bind(mac(2), ip('198.18.30.102'), 0, 1000, null)
    expect(book.choose(mac(3), null, 0)).toBeNull() // only reserved addresses left
  })

  it('refuses excluded and out-of-pool addresses', () => {
    const book = new LeaseBook(pool('198.18.30.100', '198.18.30.110', ['198.18.30.105']), none)
    expect(book.bind(mac(1), ip('198.18.30.105'), 0, 1000, null)).toMatchObject({ ok: false })
    expect(book.bind(mac(1), ip('198.18.30.111'), 0, 1000, null)).toMatchObject({ ok: false })
  })
})

describe('lease journal', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rackboot-journal-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })
  const lease = (m: string, a: string, x: number, state: LeaseEntry['state'] = 'bound'): LeaseEntry => ({
    mac: m,
    ip: ip(a),
    expiresAt: x,
    state,
    hostname: null,
  })

  it('replay: last line per address wins, releases free, a torn last line is counted not fatal', () => {
    const text =
      [
        { m: mac(1), i: ip('198.18.30.100'), x: 5000, s: 'bound' },
        { m: mac(2), i: ip('198.18.30.101'), x: 5000, s: 'bound' },
        { m: mac(1), i: ip('198.18.30.100'), x: 9000, s: 'bound', h: 'n1' },
        { m: mac(2), i: ip('198.18.30.101'), x: 0, s: 'released' },
      ]
        .map((l) => JSON.stringify(l))
        .join('\n') + '\n{"m":"02:00:00:00:00:03","i":33'
    const r = replay(text)
    expect(r.badLines).toBe(1)
    expect(r.entries).toEqual([
      { mac: mac(1), ip: ip('198.18.30.100'), expiresAt: 9000, state: 'bound', hostname: 'n1' },
    ])
  })

  it('replay: a release by a MAC that no longer holds the address frees nothing', () => {
    const lines = [
      { m: mac(1), i: 1, x: 5000, s: 'bound' },
      { m: mac(2), i: 1, x: 9000, s: 'bound' },
      { m: mac(1), i: 1, x: 0, s: 'released' },
    ]
    expect(replay(lines.map((l) => JSON.stringify(l)).join('\n')).entries).toEqual([
      expect.objectContaining({ mac: mac(2), ip: 1 }),
    ])
  })

  it('replay into a book: a MAC that moved away and back ends on its newest address', () => {
    const lines = [
      { m: mac(1), i: ip('198.18.30.100'), x: 5000, s: 'bound' },
      { m: mac(1), i: ip('198.18.30.101'), x: 6000, s: 'bound' },
      { m: mac(1), i: ip('198.18.30.100'), x: 7000, s: 'bound' },
    ]
    const { entries } = replay(lines.map((l) => JSON.stringify(l)).join('\n'))
    const book = new LeaseBook(pool('198.18.30.100', '198.18.30.101'), none, entries)
    expect(book.leaseOf(mac(1))).toMatchObject({ ip: ip('198.18.30.100'), expiresAt: 7000 })
    expect(book.holderOther(ip('198.18.30.101'), mac(2), 0)).toBeNull()
  })

  it('records are durable, group-committed, and survive reopening; a torn tail is dropped', async () => {
    const file = join(dir, 'leases.jsonl')
    const now = Date.now()
    const opened = await LeaseJournal.open(file, silentLogger, now)
    expect(opened.entries).toEqual([])
    // 200 records at once share a few fsyncs and all resolve.
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        opened.journal.record({ kind: 'lease', lease: lease(mac(i), `198.18.31.${i % 250}`, now + 60_000) }),
      ),
    )
    await opened.journal.record({ kind: 'released', mac: mac(0), ip: ip('198.18.31.0') })
    await opened.journal.close()
    await expect(opened.journal.record({ kind: 'released', mac: mac(1), ip: 1 })).rejects.toThrow(/closed/)
    await appendFile(file, '{"m":"02:00:00:00:09:99","i":12')
    const again = await LeaseJournal.open(file, silentLogger, now)
    expect(again.entries).toHaveLength(199)
    expect(again.entries.find((e) => e.mac === mac(0))).toBeUndefined()
    await again.journal.close()
    // Reopening compacted the file: every line parses now.
    const text = await readFile(file, 'utf8')
    expect(replay(text).badLines).toBe(0)
    expect(text.trim().split('\n')).toHaveLength(199)
  })

  it('compacts once the file holds 4 lines per live lease + 10,000, without recounting the book per fsync group', async () => {
    const file = join(dir, 'leases.jsonl')
    const now = Date.now()
    const opened = await LeaseJournal.open(file, silentLogger, now)
    const live = Array.from({ length: 3000 }, (_, i) =>
      lease(
        `02:00:00:01:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
        `198.18.${40 + (i >> 8)}.${i & 255}`,
        now + 60_000,
      ),
    )
    let walks = 0
    opened.setLive(() => {
      walks++
      return live.values()
    })
    const burst = (n: number) =>
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          opened.journal.record({ kind: 'lease', lease: live[i % live.length]! }),
        ),
      )
    await burst(10_000)
    for (let g = 0; g < 40; g++) await burst(100) // 40 fsync groups past 10,000 lines, compaction due at 22,000
    expect(walks).toBeGreaterThan(0)
    expect(walks).toBeLessThanOrEqual(5)
    expect((await readFile(file, 'utf8')).trim().split('\n')).toHaveLength(14_000)
    for (let g = 0; g < 20; g++) await burst(500) // past 22,000: compacted to the live leases
    await opened.journal.close()
    const lines = (await readFile(file, 'utf8')).trim().split('\n')
    expect(lines.length).toBeLessThan(10_000)
    expect(replay(lines.join('\n')).entries).toHaveLength(3000)
  })

  it('drops leases expired for more than a day when it opens', async () => {
    const file = join(dir, 'leases.jsonl')
    const now = Date.now()
    await writeFile(
      file,
      [lease(mac(1), '198.18.30.1', now - 2 * 86_400_000), lease(mac(2), '198.18.30.2', now + 1000)]
        .map((l) => JSON.stringify({ m: l.mac, i: l.ip, x: l.expiresAt, s: l.state }))
        .join('\n'),
    )
    const o = await LeaseJournal.open(file, silentLogger, now)
    expect(o.entries.map((e) => e.mac)).toEqual([mac(2)])
    await o.journal.close()
  })

  it("'written' resolves once the line is in the file, before the group's fdatasync; 'synced' only after it", async () => {
    const file = join(dir, 'leases.jsonl')
    const o = await LeaseJournal.open(file, silentLogger, Date.now())
    // Hold the fdatasync: what resolves meanwhile did not wait for it.
    const handle = (o.journal as unknown as { handle: { datasync(): Promise<void> } }).handle
    const realSync = handle.datasync.bind(handle)
    let release: () => void = () => undefined
    const held = new Promise<void>((r) => (release = r))
    handle.datasync = () => held.then(realSync)
    // Resolves although its group's fdatasync is held, with the line already in the file.
    await o.journal.record(
      { kind: 'lease', lease: lease(mac(1), '198.18.30.1', Date.now() + 60_000) },
      'written',
    )
    expect(replay(await readFile(file, 'utf8')).entries.map((e) => e.mac)).toEqual([mac(1)])
    // A pool lease waits for an fdatasync: not while the one before it is held.
    let synced = false
    const pool = o.journal.record({ kind: 'lease', lease: lease(mac(2), '198.18.30.2', Date.now() + 60_000) })
    void pool.then(() => (synced = true))
    await new Promise((r) => setTimeout(r, 20))
    expect(synced).toBe(false)
    release()
    await pool
    expect(replay(await readFile(file, 'utf8')).entries.map((e) => e.mac)).toEqual([mac(1), mac(2)])
    await o.journal.close()
  })

  it('a write failure rejects the record (no ACK) instead of pretending', async () => {
    const file = join(dir, 'leases.jsonl')
    const o = await LeaseJournal.open(file, silentLogger, Date.now())
    // Close the handle under the journal: the next write fails like a dead disk would.
    await (o.journal as unknown as { handle: { close(): Promise<void> } }).handle.close()
    await expect(o.journal.record({ kind: 'released', mac: mac(1), ip: 1 })).rejects.toThrow(/lease journal/)
    await o.journal.close().catch(() => undefined)
  })
})
