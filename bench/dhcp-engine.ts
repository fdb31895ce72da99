/**
 * In-process cost of one DHCP exchange (decode, engine, encode; no sockets): the part of bench:dhcp's
 * "CPU µs / exchange" that is ours to cut, measured without the noise of a shared machine's network and
 * scheduler. Client packets are built like perfdhcp's (relayed, one MAC per client) outside the clock.
 *
 *   npx tsx bench/dhcp-engine.ts [--clients 20000] [--rounds 5] [--batch 32] [--journal] [--timelines]
 *
 * --journal: the real lease journal (write + fdatasync per group) in a temporary directory instead of an
 * in-memory stub; --timelines: boot events go to the real timeline recorder, as in `rackboot serve`.
 * Requests are handled `--batch` at a time without waiting, as the server does (group commit needs it).
 * CPU time is the whole process's (all threads: the journal's and recorder's file work runs on libuv's pool).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { DhcpMessageType, decodePacket, encodePacket, type DhcpPacket } from '../electron/core/boot/dhcp'
import { DhcpEngine, type Outcome } from '../electron/core/boot/dhcp/engine'
import { LeaseJournal, type JournalRecord } from '../electron/core/boot/dhcp/journal'
import { LeaseBook } from '../electron/core/boot/dhcp/leases'
import type { BootEvent } from '../electron/core/boot/events'
import { TimelineRecorder } from '../electron/core/boot/timeline/recorder'
import { ipToInt, parseCidr } from '../electron/core/util/ipv4'
import type { Logger } from '../electron/core/util/logger'

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
    batch: { type: 'string', default: '32' },
    journal: { type: 'boolean', default: false },
    timelines: { type: 'boolean', default: false },
  },
})
const CLIENTS = Number(values.clients)
const BATCH = Math.max(1, Number(values.batch))
const parsed = parseCidr('198.19.0.0/16')
if (!parsed.ok) throw new Error(parsed.error)
const subnet = parsed.value
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} } as unknown as Logger

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

/** Decode, handle and encode `packets[from..to)`, all started before any is awaited (as the server does). */
async function serve(
  engine: DhcpEngine,
  packets: Uint8Array[],
  out: Uint8Array[],
  from: number,
  to: number,
): Promise<void> {
  const where = { localPort: 67, from: { address: '198.19.0.2', port: 67 } }
  const pending: Promise<void>[] = []
  for (let i = from; i < to; i++) {
    const d = decodePacket(packets[i]!)
    if (!d.ok) throw new Error(d.error)
    const max = d.value.options.maxMessageSize
    pending.push(
      engine.handle(d.value, where).then((r: Outcome) => {
        if (r.kind !== 'replies') throw new Error(`no reply: ${r.reason}`)
        out[i] = encodePacket(r.replies[0]!.packet, { maxSize: max })
      }),
    )
  }
  await Promise.all(pending)
}

async function round(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'rb-dhcp-engine-'))
  const book = new LeaseBook(
    { start: ipToInt('198.19.1.0')!, end: ipToInt('198.19.254.254')!, exclude: new Set() },
    { ipFor: () => null, reservedFor: () => null },
  )
  const opened = values.journal ? await LeaseJournal.open(join(dir, 'leases.jsonl'), quiet, Date.now()) : null
  opened?.setLive(() => book.entries())
  const journal = opened?.journal ?? { record: async (_r: JournalRecord) => {} }
  const timelines = values.timelines
    ? new TimelineRecorder({ dir: join(dir, 'timelines'), logger: quiet })
    : null
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
    journal,
    nodeName: () => null,
    // Whole milliseconds, as Date.now() gives: under load many packets share one.
    now: () => Math.floor((clock += 0.05)),
    emit: timelines ? (e: BootEvent) => timelines.record(e) : () => {},
  })
  const discovers = Array.from({ length: CLIENTS }, (_, i) => clientPacket(i, DhcpMessageType.Discover))
  const offers = new Array<Uint8Array>(CLIENTS)
  const acks = new Array<Uint8Array>(CLIENTS)
  // CPU time, not wall time: other load on the machine preempts us.
  const a0 = process.cpuUsage()
  for (let i = 0; i < CLIENTS; i += BATCH)
    await serve(engine, discovers, offers, i, Math.min(CLIENTS, i + BATCH))
  await timelines?.flush()
  const a = process.cpuUsage(a0)
  // The clients' REQUESTs, built outside the clock from the OFFERs.
  const requests = offers.map((bytes, i) => {
    const o = decodePacket(bytes)
    if (!o.ok) throw new Error(o.error)
    return clientPacket(i, DhcpMessageType.Request, { requestedIp: o.value.yiaddr, serverId: '198.19.0.1' })
  })
  const b0 = process.cpuUsage()
  for (let i = 0; i < CLIENTS; i += BATCH)
    await serve(engine, requests, acks, i, Math.min(CLIENTS, i + BATCH))
  await timelines?.flush()
  const b = process.cpuUsage(b0)
  await opened?.journal.close()
  rmSync(dir, { recursive: true, force: true })
  return (a.user + a.system + b.user + b.system) / CLIENTS
}

const results: number[] = []
for (let r = 0; r < Number(values.rounds); r++) results.push(await round())
results.sort((a, b) => a - b)
const what = [
  values.journal ? 'file journal' : 'journal stub',
  values.timelines ? 'timelines' : 'no event listener',
]
console.log(
  `CPU µs per exchange, server side (DISCOVER→OFFER + REQUEST→ACK, ${CLIENTS} clients, ${what.join(', ')}): best ${results[0]!.toFixed(1)}, median ${results[Math.floor(results.length / 2)]!.toFixed(1)}`,
)
