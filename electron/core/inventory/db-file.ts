/**
 * The lowdb adapter behind the store. lowdb's own JSONFile (steno) renames but never fsyncs, so a power loss can
 * leave an empty or old db.json; this one writes through writeFileAtomic and keeps a rolling last-good backup.
 *
 * When the backup (db.json.bak) is refreshed, and why:
 * - on open, from the file just loaded and validated by a fresh process (the best evidence a file is good);
 * - during a run, at the first write after `backupIntervalMs` (default 10 min) since the last refresh, with the
 *   PREVIOUS content of db.json (what was on disk and good before this write). Not on every write: DHCP group
 *   commits can write several times a second and a backup that follows every write also follows a bad one at
 *   once. So a restore loses at most about one interval of changes, and the backup is never the newest write.
 */
import type { Adapter } from 'lowdb'
import type { Logger } from '../util/logger'
import { errorMessage } from '../util/result'
import type { Db } from './schema'
import { decodeDb, encodeDb } from './codec'
import { DurableWriteError, readFileIfExists, writeFileAtomic } from './durable-file'

export interface DbFileOptions {
  file: string
  backupFile: string
  logger: Logger
  now: () => Date
  backupIntervalMs: number
}

export class DbFileAdapter implements Adapter<Db> {
  /** What db.json holds now (as last written or loaded), or null before the first load/write. */
  private onDisk: string | null = null
  private backedUp: string | null = null
  private backupAt = 0

  constructor(private readonly options: DbFileOptions) {}

  /** Tells the adapter what db.json and the backup hold after open (the store does the recovery logic). */
  setKnownState(onDisk: string, backedUp: string | null): void {
    this.onDisk = onDisk
    this.backedUp = backedUp
    this.backupAt = this.options.now().getTime()
  }

  /** lowdb's read: null when the file is missing; a bad file throws (the store uses decodeDb directly to recover). */
  async read(): Promise<Db | null> {
    const bytes = await readFileIfExists(this.options.file)
    if (bytes === null) return null
    const decoded = decodeDb(bytes)
    if (!decoded.ok) throw new Error(`${this.options.file}: ${decoded.error.details.join('; ')}`)
    return decoded.value.db
  }

  /** Serialises synchronously (before the first await), so the caller's state at call time is what gets written. */
  write(db: Db): Promise<void> {
    return this.writeText(encodeDb(db))
  }

  private async writeText(text: string): Promise<void> {
    const { backupFile, backupIntervalMs, now, logger } = this.options
    const previous = this.onDisk
    if (
      previous !== null &&
      previous !== this.backedUp &&
      now().getTime() - this.backupAt >= backupIntervalMs
    ) {
      try {
        await writeFileAtomic(backupFile, previous)
        this.backedUp = previous
        this.backupAt = now().getTime()
      } catch (e) {
        // The backup is insurance; failing it must not block the real write. Retried at the next write.
        logger.warn(`could not refresh the backup ${backupFile}: ${errorMessage(e)}`)
      }
    }
    try {
      await writeFileAtomic(this.options.file, text)
    } catch (e) {
      if (e instanceof DurableWriteError && e.stage === 'sync-dir') this.onDisk = text // renamed: it is the file now
      throw e
    }
    this.onDisk = text
  }
}
