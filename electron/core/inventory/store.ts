/**
 * Rackboot's state store: one JSON file per data dir (lowdb 7 with a durable adapter), one writer per dir.
 *
 *   <dataDir>/db.json        the state (atomic replace + fsync; see durable-file.ts)
 *   <dataDir>/db.json.bak    rolling last-good backup (policy in db-file.ts)
 *   <dataDir>/rackboot.lock  who owns the dir (lock.ts)
 *
 * Every change runs on a deep copy and is validated with dbSchema before anyone sees it. Writes go through one
 * queue, so two renames never overlap.
 *
 * update(): the change becomes visible in `data` when its turn in the queue comes and its write starts (so
 * updateSoon calls made meanwhile build on it), and resolves once db.json holds it durably. If the write fails
 * (ENOSPC, EROFS, ...) it rejects with a RackbootError naming the file, and `data` goes back to what it was before
 * this update. One exception, because a group commit cannot be taken apart: if updateSoon changes were stacked on
 * top while the failed write ran, everything stays in memory, unsaved, and goes out with the next write (logged).
 *
 * updateSoon(): for hot paths (DHCP leases). The change is visible at once and written within groupCommitMs
 * (default 200 ms); many calls share one write. Loss window: a crash or power loss up to groupCommitMs (plus the
 * time of one write) after the call loses that change; the file is still whole and valid, just older. A failed
 * group write is logged, the changes stay in memory, and the next updateSoon/update/flush retries; flush() and
 * close() reject with the error so the caller knows.
 */
import { join, resolve } from 'node:path'
import { Low } from 'lowdb'
import { type Logger, stderrLogger } from '../util/logger'
import { RackbootError, errorMessage } from '../util/result'
import { type Db, dbSchema, describeIssues } from './schema'
import { DbFileAdapter } from './db-file'
import { DurableWriteError, ensureDir, removeTempFiles } from './durable-file'
import { type DirLock, acquireDirLock } from './lock'
import { type LoadOutcome, loadOrRecover } from './recover'

export interface StoreOptions {
  dataDir: string
  /** When db.json is bad and no backup can be restored, start empty instead of refusing (bad files are kept). */
  resetStore?: boolean
  logger?: Logger
  now?: () => Date
  /** Longest delay between an updateSoon() and its write. Default 200 ms. */
  groupCommitMs?: number
  /**
   * Longest delay between an updateLater() and its write, unless an updateSoon() group commit or a flush
   * carries it sooner. Default 2 s.
   */
  laterCommitMs?: number
  /** Minimum time between refreshes of db.json.bak while running. Default 10 minutes. */
  backupIntervalMs?: number
}

export const DB_FILE = 'db.json'
export const BACKUP_FILE = 'db.json.bak'

export class Store {
  readonly dataDir: string
  readonly file: string
  readonly backupFile: string
  /** What open() found: 'loaded', 'migrated', 'created', 'restored' (from backup) or 'reset'. */
  readonly openedAs: LoadOutcome

  private readonly low: Low<Db>
  private readonly listeners = new Set<(db: Readonly<Db>) => void>()
  private queue: Promise<unknown> = Promise.resolve()
  /** Bumped on every in-memory change; `written` is the last change db.json is known to hold. */
  private changes = 0
  private written = 0
  private timer: NodeJS.Timeout | null = null
  /** The updateLater commit (laterCommitMs); an earlier group commit takes the later changes along. */
  private laterTimer: NodeJS.Timeout | null = null
  private closing: Promise<void> | null = null
  /** updateLater changes not applied yet, one per key (the newest wins). */
  private readonly later = new Map<string, (draft: Db) => void>()

  private constructor(
    private readonly adapter: DbFileAdapter,
    initial: Db,
    private readonly lock: DirLock,
    private readonly logger: Logger,
    private readonly groupCommitMs: number,
    private readonly laterCommitMs: number,
    paths: { dataDir: string; file: string; backupFile: string },
    openedAs: LoadOutcome,
  ) {
    this.low = new Low<Db>(adapter, deepFreeze(initial))
    this.dataDir = paths.dataDir
    this.file = paths.file
    this.backupFile = paths.backupFile
    this.openedAs = openedAs
  }

  /** Creates dataDir if missing, takes its lock, loads or recovers db.json. Throws RackbootError with the fix. */
  static async open(options: StoreOptions): Promise<Store> {
    const dataDir = resolve(options.dataDir)
    const logger = options.logger ?? stderrLogger('rackboot store')
    const now = options.now ?? (() => new Date())
    const file = join(dataDir, DB_FILE)
    const backupFile = join(dataDir, BACKUP_FILE)
    try {
      await ensureDir(dataDir)
    } catch (e) {
      throw new RackbootError(
        `cannot create data dir ${dataDir}: ${errorMessage(e)}; choose another --data-dir`,
        'data-dir',
      )
    }
    const lock = await acquireDirLock({ dir: dataDir, logger, now }).catch((e: unknown) => {
      if (e instanceof RackbootError) throw e
      throw new RackbootError(`cannot lock data dir ${dataDir}: ${errorMessage(e)}`, 'data-dir')
    })
    try {
      // Leftovers of writers killed mid-write; safe to delete only now that we hold the lock.
      for (const leftover of [...(await removeTempFiles(file)), ...(await removeTempFiles(backupFile))])
        logger.info(`removed ${leftover} left by an interrupted write`)
      const loaded = await loadOrRecover({
        file,
        backupFile,
        resetStore: options.resetStore ?? false,
        logger,
        now,
      })
      const adapter = new DbFileAdapter({
        file,
        backupFile,
        logger,
        now,
        backupIntervalMs: options.backupIntervalMs ?? 10 * 60_000,
      })
      adapter.setKnownState(loaded.onDisk, loaded.backedUp)
      const paths = { dataDir, file, backupFile }
      return new Store(
        adapter,
        loaded.db,
        lock,
        logger,
        options.groupCommitMs ?? 200,
        options.laterCommitMs ?? 2000,
        paths,
        loaded.outcome,
      )
    } catch (e) {
      await lock.release()
      if (e instanceof RackbootError) throw e
      throw new RackbootError(`cannot open the store in ${dataDir}: ${errorMessage(e)}`, 'store')
    }
  }

  /** The current state, deep-frozen: change it only through update/updateSoon. */
  get data(): Readonly<Db> {
    return this.low.data
  }

  /** Runs `mutate` on a deep copy; resolves with its return value once the new state is durably in db.json. */
  update<T>(mutate: (draft: Db) => T): Promise<T> {
    this.assertOpen()
    return this.enqueue(async () => {
      const before = this.low.data
      const beforeWasSaved = this.changes === this.written
      const result = this.apply(mutate)
      const mine = this.changes
      try {
        await this.writeState()
      } catch (e) {
        if (e instanceof DurableWriteError && e.stage === 'sync-dir')
          throw new RackbootError(`${e.message}; the change is applied`, 'store-write')
        if (this.changes !== mine) {
          this.logger.error(
            `${errorMessage(e)}; the change stays in memory with later ones and will be retried`,
          )
          throw new RackbootError(
            `${errorMessage(e)}; the change is in memory but not saved yet`,
            'store-write',
          )
        }
        this.setState(before)
        if (beforeWasSaved) this.written = this.changes
        throw new RackbootError(`${errorMessage(e)}; the change was not applied`, 'store-write')
      }
      return result
    })
  }

  /** Group commit: applies at once (same validation), writes within groupCommitMs together with other calls. */
  updateSoon<T>(mutate: (draft: Db) => T): T {
    this.assertOpen()
    const result = this.apply(mutate)
    this.schedule()
    return result
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => this.groupCommit(), this.groupCommitMs)
  }

  private groupCommit(): void {
    this.flush().catch((e: unknown) =>
      this.logger.error(
        `group commit failed: ${errorMessage(e)}; the changes stay in memory and are retried at the next write`,
      ),
    )
  }

  /** Applies every pending updateLater change in one copy (or one by one when the batch is refused). */
  private applyLater(): void {
    if (this.later.size === 0) return
    const pending = [...this.later.values()]
    this.later.clear()
    try {
      this.apply((draft) => {
        for (const m of pending) m(draft)
      })
    } catch {
      for (const m of pending)
        try {
          this.apply(m)
        } catch (e) {
          this.logger.warn(`a deferred store change was refused and dropped: ${errorMessage(e)}`)
        }
    }
  }

  /**
   * Deferred group commit, for facts a hot path notices about a record that nobody waits to read (a node's
   * SMBIOS UUID seen in a DISCOVER): applied together with every other pending `later` change in ONE validated
   * copy, then written, within laterCommitMs (2 s), or sooner with the next updateSoon's group commit or a
   * flush. Not visible in `data` until then. Why: each update copies and validates the whole db, so a 200-node
   * boot storm doing one updateSoon per DISCOVER spent ~2 s of the event loop (O(nodes²)) while every DHCP
   * reply waited behind it; committed every 200 ms, the storm's first second still spent ~60 ms of it
   * validating copies (--cpu-prof, bench/RESULTS.md session 8). One pending change per `key` (the newest
   * replaces the older), so a flood cannot grow the queue past the keys the caller has. A batch the schema
   * refuses is retried change by change; refused ones are logged. A crash loses the facts of the last
   * laterCommitMs: the next DISCOVER tells them again.
   */
  updateLater(key: string, mutate: (draft: Db) => void): void {
    this.assertOpen()
    this.later.delete(key)
    this.later.set(key, mutate)
    this.laterTimer ??= setTimeout(() => this.groupCommit(), this.laterCommitMs)
  }

  /** Writes any pending group commit now; rejects if that write fails. */
  flush(): Promise<void> {
    this.clearTimers()
    this.applyLater()
    return this.enqueue(() => this.writePending())
  }

  /** Flushes, releases the lock, drops listeners; idempotent. Rejects (after releasing) if the last write failed. */
  close(): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  onChange(listener: (db: Readonly<Db>) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private async shutdown(): Promise<void> {
    let failure: unknown = null
    await this.flush().catch((e: unknown) => (failure = e))
    await this.lock.release()
    this.listeners.clear()
    if (failure !== null)
      throw new RackbootError(
        `closing the store: ${errorMessage(failure)}; the last changes were NOT saved`,
        'store-write',
      )
  }

  /** Validates the mutated copy and swaps it in; throws (state untouched) if mutate throws or the result is invalid. */
  private apply<T>(mutate: (draft: Db) => T): T {
    const draft = structuredClone(this.low.data) as Db
    const result = mutate(draft)
    if (isThenable(result))
      throw new RackbootError(
        'a store change must be synchronous: do the async work first, then call update() with its result',
        'store-usage',
      )
    const parsed = dbSchema.safeParse(draft)
    if (!parsed.success)
      throw new RackbootError(
        `change refused, it would make ${this.file} invalid:\n  - ${describeIssues(parsed.error).join('\n  - ')}`,
        'store-invalid',
      )
    this.setState(parsed.data)
    return result
  }

  private setState(next: Db): void {
    this.low.data = deepFreeze(next)
    this.changes++
    for (const listener of this.listeners) {
      try {
        listener(this.low.data)
      } catch (e) {
        this.logger.error(`a store change listener failed: ${errorMessage(e)}`)
      }
    }
  }

  /** Writes the whole current state (so pending group commits ride along). */
  private async writeState(): Promise<void> {
    const upTo = this.changes
    try {
      await this.low.write() // the adapter serialises synchronously, so this writes the state as of now
    } catch (e) {
      if (e instanceof DurableWriteError && e.stage === 'sync-dir')
        this.written = Math.max(this.written, upTo)
      throw e
    }
    this.written = Math.max(this.written, upTo)
  }

  private async writePending(): Promise<void> {
    if (this.changes !== this.written) await this.writeState()
  }

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job)
    this.queue = run.catch(() => {})
    return run
  }

  /** Both commit timers: whatever runs now (a flush) takes the group commit and the later changes along. */
  private clearTimers(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    if (this.laterTimer !== null) clearTimeout(this.laterTimer)
    this.laterTimer = null
  }

  private assertOpen(): void {
    if (this.closing !== null)
      throw new RackbootError(`the store in ${this.dataDir} is closed`, 'store-closed')
  }
}

function isThenable(v: unknown): boolean {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function'
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}
