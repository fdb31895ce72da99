/**
 * Keeps every machine's boots as timelines, one JSON file per boot: `<dir>/<mac-with-dashes>/<startedAt>.json`.
 * Fed with the core's boot events; survives a server restart by continuing the newest boot of a MAC from
 * disk (and noting the restart in it). Files are replaced atomically (rename) but not fsynced: a timeline
 * is a record of what happened, losing its last second in a power cut costs nothing.
 */
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '../../util/logger'
import { errorMessage } from '../../util/result'
import type { BootEvent } from '../events'
import {
  type BootRecord,
  type BootView,
  applyEvent,
  macKey,
  newBoot,
  startsNewBoot,
  startsTimeline,
  viewOf,
} from './model'

export interface TimelineRecorderOptions {
  dir: string
  logger: Logger
  now?: () => number
  /** Silence after which the next event starts a new boot. Default 15 min. */
  gapMs?: number
  /** No event for this long before `up`: the boot shows as stalled. Default 3 min (TCG nodes are slow). */
  stallMs?: number
  /** Boots kept per MAC; older files are removed. Default 20. */
  keepPerMac?: number
  /** Machines that are not nodes followed per run (PXE clients only; see `record`). Default 512. */
  maxStrangers?: number
}

/** Routine steps and progress are written within this (see the class comment). */
const PROGRESS_SAVE_MS = 2_000
/** New milestones and first bytes are written within this: a storm's saves come in batches. */
const MILESTONE_SAVE_MS = 250
/**
 * How many machines with unsaved changes make a storm: from then on milestones too wait PROGRESS_SAVE_MS.
 * In a 200-node storm's first second the saves were still the largest share of the main thread (~70 ms of
 * ~770, --cpu-prof, bench/RESULTS.md session 8), taken from the DHCP, TFTP and HTTP replies of that second.
 */
const STORM_DIRTY = 16
/** Machines followed in memory at once; the oldest is dropped (its file stays) beyond this. */
const MAX_TRACKED = 4096

const fileName = (startedAt: string) => `${startedAt.replace(/:/g, '-')}.json`

interface Entry {
  record: BootRecord
  savedAt: number
  /** Changed since its last save (a routine step, or progress): written by the next save or `saveDirty`. */
  dirty: boolean
}

/**
 * Events are applied in order on one promise chain, and written in batches on the same chain: within
 * MILESTONE_SAVE_MS of a new milestone or a transfer's first bytes (PROGRESS_SAVE_MS in a storm, STORM_DIRTY);
 * within PROGRESS_SAVE_MS of a routine step (an OFFER, a REQUEST, a second DISCOVER, a transfer's start) or
 * progress; and at once by flush() (which every reader through this recorder calls) and for a boot ending badly (an
 * abort, a failure: rare, and what a crash right after must not lose). Saving each of a node's ~18 boot events cost
 * 8–13 ms of CPU per node, ~0.5 s for a 50-node storm, spent in the storm's CPU-bound first second (bench:storm
 * --trace); saving at every milestone was still the largest share of the server's main thread in a 200-node storm's
 * ramp (--cpu-prof), since a node's DHCP, iPXE and script milestones come within milliseconds of each other. A
 * crash loses at most the last MILESTONE_SAVE_MS of a timeline (PROGRESS_SAVE_MS in a storm). Only followed
 * machines (see `record`) reach the chain, so a DHCP load of thousands of strangers a second costs a set lookup
 * each and writes nothing.
 */
export class TimelineRecorder {
  private readonly now: () => number
  private readonly startedAt: number
  private readonly current = new Map<string, Entry>()
  /** MACs followed this run (bounded: nodes and at most `maxStrangers` others). */
  private readonly tracked = new Set<string>()
  private queue: Promise<void> = Promise.resolve()
  private readonly strangers = new Set<string>()
  private ignored = 0
  private warnedFull = false
  /** TFTP knows only the client's address: the last DHCP ACK names its MAC. */
  private readonly macByIp = new Map<string, string>()
  /** MACs whose entry has unsaved changes, the timer that saves them and when it fires (ms, this.now). */
  private readonly dirty = new Set<string>()
  private dirtyTimer: NodeJS.Timeout | null = null
  private dirtyDue = 0
  /** MACs whose directory exists (made or seen this run): one mkdir per machine, not per save. */
  private readonly dirsMade = new Set<string>()
  /**
   * The MAC directories there were at start (one readdir, on first use). A machine without one has no boot
   * to continue and none to prune: its first event costs no directory reads (a storm has hundreds).
   */
  private dirsAtStart: Promise<Set<string>> | null = null

  constructor(private readonly o: TimelineRecorderOptions) {
    this.now = o.now ?? Date.now
    this.startedAt = this.now()
  }

  /** Events of machines that are not followed (plain DHCP strangers, or past `maxStrangers`). */
  get ignoredEvents(): number {
    return this.ignored
  }

  /**
   * Takes one event. Followed: nodes of the inventory (the event names a node), and machines that asked as a
   * PXE client or fetched a boot file (capture candidates, nodes not yet planned; `startsTimeline`), up to
   * `maxStrangers` of those per run. Phones,
   * BMCs and load generators on the wire (plain DHCP, no node) get no timeline: they would otherwise fill the
   * disk with a directory per MAC.
   */
  record(e: BootEvent): void {
    const mac = e.mac || (e.ip ? this.macByIp.get(e.ip) : undefined)
    if (!mac || !this.follows(mac, e)) {
      this.ignored++
      return
    }
    if (e.stage === 'dhcp' && e.step === 'ack' && e.ip && e.mac) this.remember(e.ip, e.mac)
    const event = e.mac ? e : { ...e, mac }
    this.tracked.add(mac)
    this.queue = this.queue
      .then(() => this.apply(mac, event))
      .catch((err: unknown) => {
        this.o.logger.warn(`timeline for ${mac}: ${errorMessage(err)}`)
      })
  }

  /** Resolves once every event recorded so far is on disk. */
  flush(): Promise<void> {
    this.queue = this.queue.then(() => this.saveDirty())
    return this.queue
  }

  /** The newest boots of `mac`, newest first, each with its state now. */
  async list(mac: string, limit = 10): Promise<BootView[]> {
    await this.flush()
    const dir = join(this.o.dir, macKey(mac))
    const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json'))
    const views: BootView[] = []
    for (const name of names.sort().reverse().slice(0, limit)) {
      const r = await readRecord(join(dir, name))
      if (r) views.push(viewOf(r, this.now(), this.o.stallMs ?? 180_000))
    }
    return views
  }

  private followed(mac: string): boolean {
    return this.tracked.has(mac)
  }

  private follows(mac: string, e: BootEvent): boolean {
    if (e.node || this.followed(mac) || this.strangers.has(mac)) return true
    if (!startsTimeline(e)) return false
    const cap = this.o.maxStrangers ?? 512
    if (this.strangers.size < cap) {
      this.strangers.add(mac)
      return true
    }
    if (!this.warnedFull) {
      this.warnedFull = true
      this.o.logger.warn(
        `boot timelines: ${cap} PXE clients that are not nodes already followed this run; ${mac} and later ` +
          'ones get no timeline (plan or capture them to follow them)',
      )
    }
    return false
  }

  private remember(ip: string, mac: string): void {
    this.macByIp.delete(ip)
    this.macByIp.set(ip, mac)
    if (this.macByIp.size > MAX_TRACKED) this.macByIp.delete(this.macByIp.keys().next().value!)
  }

  private async apply(mac: string, e: BootEvent): Promise<void> {
    const onDisk = this.current.has(mac) || (await this.hasDir(mac))
    let entry = this.current.get(mac) ?? (onDisk ? await this.resume(mac) : undefined)
    if (!entry || startsNewBoot(entry.record, e, this.o.gapMs ?? 15 * 60_000)) {
      // The boot before goes to disk whole before the new one starts.
      if (entry?.dirty) await this.saveEntry(mac, entry)
      entry = { record: newBoot(mac, e.time), savedAt: 0, dirty: false }
      if (onDisk) await this.prune(mac)
    }
    this.current.delete(mac)
    this.current.set(mac, entry)
    if (this.current.size > MAX_TRACKED) {
      const [oldMac, oldest] = this.current.entries().next().value!
      if (oldest.dirty) await this.saveEntry(oldMac, oldest)
      this.current.delete(oldMac)
    }
    // At once for a bad end; soon for a milestone or first bytes, or when the last save is old.
    const urgency = applyEvent(entry.record, e)
    if (urgency === 'now') return this.saveEntry(mac, entry)
    entry.dirty = true
    this.dirty.add(mac)
    this.saveWithin(
      urgency === 'soon' || this.now() - entry.savedAt >= PROGRESS_SAVE_MS
        ? MILESTONE_SAVE_MS
        : PROGRESS_SAVE_MS,
    )
  }

  /** Makes sure the dirty entries are written within `ms` (one timer; an earlier deadline replaces a later one). */
  private saveWithin(asked: number): void {
    const ms = this.dirty.size >= STORM_DIRTY ? Math.max(asked, PROGRESS_SAVE_MS) : asked
    const due = this.now() + ms
    if (this.dirtyTimer && this.dirtyDue <= due) return
    if (this.dirtyTimer) clearTimeout(this.dirtyTimer)
    this.dirtyDue = due
    this.dirtyTimer = setTimeout(() => {
      this.dirtyTimer = null
      this.queue = this.queue
        .then(() => this.saveDirty())
        .catch((err: unknown) => this.o.logger.warn(`timelines: ${errorMessage(err)}`))
    }, ms)
    this.dirtyTimer.unref?.()
  }

  private async saveEntry(mac: string, entry: Entry): Promise<void> {
    entry.savedAt = this.now()
    entry.dirty = false
    this.dirty.delete(mac)
    await this.save(entry.record)
  }

  /** Saves every entry with unsaved changes (on the chain: after the events applied before it). */
  private async saveDirty(): Promise<void> {
    if (this.dirtyTimer) clearTimeout(this.dirtyTimer)
    this.dirtyTimer = null
    for (const mac of [...this.dirty]) {
      const entry = this.current.get(mac)
      this.dirty.delete(mac)
      if (entry?.dirty) await this.saveEntry(mac, entry)
    }
  }

  /** The newest boot on disk, when this recorder has not seen the MAC yet (e.g. after a restart). */
  private async resume(mac: string): Promise<Entry | undefined> {
    const dir = join(this.o.dir, macKey(mac))
    const newest = (await readdir(dir).catch(() => [] as string[]))
      .filter((n) => n.endsWith('.json'))
      .sort()
      .at(-1)
    const record = newest ? await readRecord(join(dir, newest)) : null
    if (!record) return undefined
    if (Date.parse(record.updatedAt) < this.startedAt)
      record.serverRestarts.push(new Date(this.startedAt).toISOString())
    return { record, savedAt: 0, dirty: false }
  }

  /** Whether the MAC's directory exists: made this run, or there at start. */
  private async hasDir(mac: string): Promise<boolean> {
    if (this.dirsMade.has(join(this.o.dir, macKey(mac)))) return true
    this.dirsAtStart ??= readdir(this.o.dir).then(
      (names) => new Set(names),
      () => new Set<string>(),
    )
    return (await this.dirsAtStart).has(macKey(mac))
  }

  private async save(r: BootRecord): Promise<void> {
    const dir = join(this.o.dir, macKey(r.mac))
    if (!this.dirsMade.has(dir)) {
      await mkdir(dir, { recursive: true, mode: 0o700 })
      this.dirsMade.add(dir)
    }
    const file = join(dir, fileName(r.startedAt))
    try {
      await writeFile(`${file}.tmp`, `${JSON.stringify(r)}\n`, { mode: 0o600 })
      await rename(`${file}.tmp`, file)
    } catch (e) {
      this.dirsMade.delete(dir) // removed under us? the next save makes it again
      throw e
    }
  }

  private async prune(mac: string): Promise<void> {
    const keep = (this.o.keepPerMac ?? 20) - 1
    const dir = join(this.o.dir, macKey(mac))
    const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json')).sort()
    for (const name of names.slice(0, Math.max(0, names.length - keep)))
      await rm(join(dir, name), { force: true })
  }
}

/** A boot file, or null when it is missing or not one of ours (never throws: files can be edited by hand). */
export async function readRecord(file: string): Promise<BootRecord | null> {
  try {
    const r = JSON.parse(await readFile(file, 'utf8')) as Partial<BootRecord>
    if (
      r.version !== 1 ||
      typeof r.mac !== 'string' ||
      !Array.isArray(r.milestones) ||
      !Array.isArray(r.events)
    )
      return null
    return { serverRestarts: [], transfers: {}, ...r } as BootRecord
  } catch {
    return null
  }
}

/** The newest boot of `mac` under a data dir's timeline folder, read straight from disk (for `lab status`). */
export async function readLatestBoot(dir: string, mac: string): Promise<BootRecord | null> {
  const d = join(dir, macKey(mac))
  const newest = (await readdir(d).catch(() => [] as string[]))
    .filter((n) => n.endsWith('.json'))
    .sort()
    .at(-1)
  return newest ? readRecord(join(d, newest)) : null
}
