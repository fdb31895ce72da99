/**
 * The lease journal: append-only JSON lines with group commit, the Kea memfile design. Leases are the one hot
 * path of state (thousands of changes a second under a boot storm), and rewriting the whole inventory per
 * change is what limits dnsmasq to a few hundred exchanges a second. record() resolves only once its line
 * is fsynced, and the server sends an ACK only after that, so no ACKed lease is lost to kill -9 or power loss
 * and no address is ever given to two MACs after a restart. Lines arriving while one fsync runs share the next.
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
  private waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = []
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

  /** Resolves when the record is on disk. */
  record(r: JournalRecord): Promise<void> {
    if (this.closed) return Promise.reject(new RackbootError(`lease journal ${this.file} is closed`))
    this.pending.push(toLine(r))
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }))
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
      try {
        // A full disk can take part of a write and refuse the rest: that is a failure, not a short success.
        const { bytesWritten } = await this.handle.write(text)
        if (bytesWritten !== bytes)
          throw new Error(`short write, ${bytesWritten} of ${bytes} bytes (disk full?)`)
        await this.handle.datasync()
        this.size += bytes
        this.linesSinceCompact += lines.length
        for (const w of waiters) w.resolve()
      } catch (e) {
        // Cut the partial line off; the next append (O_APPEND) then starts a line of its own.
        await this.handle.truncate(this.size).catch(() => undefined)
        const err = new RackbootError(
          `cannot write the lease journal ${this.file}: ${errorMessage(e)}; no lease is acknowledged until it can`,
        )
        this.logger.error(err.message)
        for (const w of waiters) w.reject(err)
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
