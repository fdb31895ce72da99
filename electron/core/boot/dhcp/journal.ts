/**
 * The lease journal: append-only JSON lines with group commit, the Kea memfile design. Leases are the one hot
 * path of state (thousands of changes a second under a boot storm), and rewriting the whole inventory per
 * change is what limits dnsmasq to a few hundred exchanges a second. Lines arriving while one group is written
 * share the next group: one write(2), then one fdatasync.
 *
 * Two levels of "recorded", chosen per record by the caller (the engine, engine.ts):
 *  - 'synced' (default): resolves once the line is fdatasynced. A pool address has no owner but this file, so its
 *    ACK waits for this: no ACKed pool lease is lost to kill -9 or a power cut, and no pool address is ever
 *    given to two MACs after a restart.
 *  - 'written': resolves once write(2) has put the line in the file (the page cache), before the group's
 *    fdatasync. That survives the process being killed (kill -9, a crash: the kernel still writes it out), not
 *    a power cut in the few milliseconds before the fdatasync. The engine uses it for a node's reserved
 *    address only: the inventory (db.json, fsynced) gives that address to the node's MACs whatever this file
 *    says, so losing the line can cost a restarted server its memory of the binding, never an address given
 *    twice. Under a boot storm that takes the fdatasync (p90 ~10 ms, p99 tens of ms while the storm's other
 *    file work loads the disk) off the path of every node's two ACKs.
 * For comparison: Kea's memfile appends each lease with a stream flush and never fsyncs (src/lib/util/
 * csv_file.cc); dnsmasq rewrites and fsyncs its whole lease file before sending the reply (src/dhcp.c,
 * lease_update_file in src/lease.c).
 */
import { open, readFile, type FileHandle } from 'node:fs/promises'
import { z } from 'zod'
import { writeFileAtomic } from '../../inventory/durable-file'
import type { Logger } from '../../util/logger'
import { RackbootError, errorMessage } from '../../util/result'
import type { LeaseEntry } from './leases'

export const LEASE_FILE = 'leases.jsonl'
/** Lines the journal may hold beyond 4 per live lease before it is compacted. */
const COMPACT_SLACK = 10_000

const lineSchema = z.object({
  m: z.string().max(64),
  i: z.number().int().min(0).max(0xffffffff),
  x: z.number().int(),
  s: z.enum(['bound', 'declined', 'released']),
  h: z.string().max(255).nullable().optional(),
})
type Line = z.infer<typeof lineSchema>

/** How far a record must get before record() resolves (see the file comment). */
export type JournalLevel = 'written' | 'synced'

export type JournalRecord =
  { kind: 'lease'; lease: LeaseEntry } | { kind: 'released'; mac: string; ip: number }

function toLine(r: JournalRecord): string {
  const l: Line =
    r.kind === 'lease'
      ? {
          m: r.lease.mac,
          i: r.lease.ip,
          x: r.lease.expiresAt,
          s: r.lease.state === 'declined' ? 'declined' : 'bound',
          h: r.lease.hostname,
        }
      : { m: r.mac, i: r.ip, x: 0, s: 'released' }
  return `${JSON.stringify(l)}\n`
}

/** Offers are promises, not bindings: only bound and declined leases are written. */
function durableLines(leases: Iterable<LeaseEntry>): string {
  let out = ''
  for (const lease of leases) if (lease.state !== 'offered') out += toLine({ kind: 'lease', lease })
  return out
}

/** Replays journal text: the last line per address wins; `released` frees it. Bad lines are counted, not fatal. */
export function replay(text: string): { entries: LeaseEntry[]; badLines: number } {
  const byIp = new Map<number, LeaseEntry>()
  let badLines = 0
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue
    let parsed: unknown
    try {
      parsed = JSON.parse(raw)
    } catch {
      badLines++
      continue
    }
    const l = lineSchema.safeParse(parsed)
    if (!l.success) {
      badLines++
      continue
    }
    const { m, i, x, s, h } = l.data
    // A release frees the address only from the MAC that released it; re-inserting keeps the Map in
    // write order, so LeaseBook's constructor (later entries win per MAC) sees a MAC's newest address last.
    if (s === 'released') {
      if (byIp.get(i)?.mac === m) byIp.delete(i)
    } else {
      byIp.delete(i)
      byIp.set(i, { mac: m, ip: i, expiresAt: x, state: s, hostname: h ?? null })
    }
  }
  return { entries: [...byIp.values()], badLines }
}

export class LeaseJournal {
  private pending: string[] = []
  private waiters: Array<{ level: JournalLevel; resolve: () => void; reject: (e: Error) => void }> = []
  private writing: Promise<void> | null = null
  private linesSinceCompact = 0
  /** linesSinceCompact at which compaction can next be due (see maybeCompact). */
  private compactCheckAt = COMPACT_SLACK
  private closed = false
  /** Bytes of whole lines in the file: a failed append is cut back to this, so no torn line stays mid-file. */
  private size = 0

  private constructor(
    private readonly file: string,
    private handle: FileHandle,
    private live: () => Iterable<LeaseEntry>,
    private readonly logger: Logger,
  ) {}

  /**
   * Reads and compacts the journal. `live` later returns the current leases for compaction. A torn last line
   * (the process died mid-append, before that ACK was sent) is expected and only logged.
   */
  static async open(
    file: string,
    logger: Logger,
    now: number,
  ): Promise<{
    journal: LeaseJournal
    entries: LeaseEntry[]
    setLive(fn: () => Iterable<LeaseEntry>): void
  }> {
    let text = ''
    try {
      text = await readFile(file, 'utf8')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new RackbootError(`cannot read the lease journal ${file}: ${errorMessage(e)}`)
    }
    const { entries, badLines } = replay(text)
    if (badLines > 0)
      logger.warn(
        `lease journal ${file}: skipped ${badLines} unreadable line(s) (a torn last line after a crash is normal)`,
      )
    const kept = entries.filter((e) => e.expiresAt > now - 86_400_000)
    await writeFileAtomic(file, durableLines(kept))
    const handle = await open(file, 'a', 0o600)
    let liveFn: () => Iterable<LeaseEntry> = () => kept
    const journal = new LeaseJournal(file, handle, () => liveFn(), logger)
    journal.size = (await handle.stat()).size
    return { journal, entries: kept, setLive: (fn) => (liveFn = fn) }
  }

  /** Resolves when the record is on disk ('synced', the default) or written to the file ('written'). */
  record(r: JournalRecord, level: JournalLevel = 'synced'): Promise<void> {
    if (this.closed) return Promise.reject(new RackbootError(`lease journal ${this.file} is closed`))
    this.pending.push(toLine(r))
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ level, resolve, reject }))
    if (!this.writing) this.writing = this.drain()
    return done
  }

  private async drain(): Promise<void> {
    do {
      await this.writePending()
      await this.maybeCompact()
    } while (this.pending.length > 0)
    this.writing = null
  }

  private async writePending(): Promise<void> {
    while (this.pending.length > 0) {
      const lines = this.pending
      const waiters = this.waiters
      this.pending = []
      this.waiters = []
      const text = lines.join('')
      const bytes = Buffer.byteLength(text)
      let written = false
      try {
        // A full disk can take part of a write and refuse the rest: that is a failure, not a short success.
        const { bytesWritten } = await this.handle.write(text)
        if (bytesWritten !== bytes)
          throw new Error(`short write, ${bytesWritten} of ${bytes} bytes (disk full?)`)
        written = true
        for (const w of waiters) if (w.level === 'written') w.resolve()
        await this.handle.datasync()
        this.size += bytes
        this.linesSinceCompact += lines.length
        for (const w of waiters) if (w.level === 'synced') w.resolve()
      } catch (e) {
        // Cut the partial line off; the next append (O_APPEND) then starts a line of its own. After a failed
        // fdatasync the group goes too: its 'written' records (reserved addresses) were answered, and losing
        // them costs what a power cut would, while a 'synced' one must not stay on file unacknowledged.
        await this.handle.truncate(this.size).catch(() => undefined)
        const err = new RackbootError(
          `cannot write the lease journal ${this.file}: ${errorMessage(e)}; no lease is acknowledged until it can`,
        )
        this.logger.error(err.message)
        for (const w of waiters) if (!(written && w.level === 'written')) w.reject(err)
      }
    }
  }

  /** Rewrites the file with the live leases once it holds 4 lines per live lease plus COMPACT_SLACK. */
  private async maybeCompact(): Promise<void> {
    // Counting live leases walks the whole book: not on every fsync group, only once compaction could be due.
    if (this.linesSinceCompact < this.compactCheckAt) return
    let live = 0
    for (const lease of this.live()) if (lease.state !== 'offered') live++
    const due = 4 * live + COMPACT_SLACK
    if (this.linesSinceCompact < due) {
      // A line lowers the live count by one at most (a release), so after n more lines compaction is due only
      // if n >= (due - lines) / 5: no recount before that (it walked 20,000 leases per fsync group under load).
      this.compactCheckAt = this.linesSinceCompact + Math.ceil((due - this.linesSinceCompact) / 5)
      return
    }
    try {
      await this.handle.close()
      await writeFileAtomic(this.file, durableLines(this.live()))
      this.linesSinceCompact = 0
      this.compactCheckAt = COMPACT_SLACK
    } catch (e) {
      this.logger.warn(
        `lease journal ${this.file}: compaction failed (${errorMessage(e)}); appending to the old file`,
      )
    } finally {
      this.handle = await open(this.file, 'a', 0o600)
      this.size = (await this.handle.stat()).size
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    while (this.writing) await this.writing
    await this.handle.close()
  }
}
