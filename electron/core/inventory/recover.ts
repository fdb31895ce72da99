/**
 * What the store holds after open, decided once, loudly, and without losing a file:
 * - db.json good            -> use it (migrated if older; the pre-migration bytes are kept as db.json.v<N>-<time>).
 * - db.json bad (not JSON, not UTF-8, schema-invalid) -> move it to db.json.corrupt-<time>, then restore the
 *   backup if it decodes; else refuse with the problems, unless resetStore, which starts empty.
 * - db.json from a newer rackboot -> refuse and touch nothing (the file is fine; this build is too old).
 * - db.json missing         -> restore the backup if it decodes (warn), else start empty, except when an earlier
 *   start moved a bad db.json aside and refused: then keep refusing until resetStore, so a second start is never
 *   a silent reset.
 * A backup that does not decode is moved aside (db.json.bak.corrupt-<time>) before anything replaces it.
 * Must run while holding the data dir lock.
 */
import { readdir } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import type { Logger } from '../util/logger'
import { RackbootError, type Result } from '../util/result'
import { type Db, emptyDb } from './schema'
import { type Decoded, type DbProblem, decodeDb, encodeDb } from './codec'
import { fileTimestamp, moveAside, readFileIfExists, writeFileAtomic } from './durable-file'

export interface LoadOptions {
  file: string
  backupFile: string
  resetStore: boolean
  logger: Logger
  now: () => Date
}

export type LoadOutcome = 'loaded' | 'migrated' | 'created' | 'restored' | 'reset'

export interface Loaded {
  db: Db
  /** The exact text db.json holds now. */
  onDisk: string
  /** The exact text the backup holds now (null if none). */
  backedUp: string | null
  outcome: LoadOutcome
}

const RESET_HINT = 'To start with an empty store (the moved file is kept), run again with --reset-store.'

export async function loadOrRecover(o: LoadOptions): Promise<Loaded> {
  const bytes = await readOrExplain(o.file)
  if (bytes === null) return whenMissing(o)

  const decoded = decodeDb(bytes)
  if (decoded.ok) {
    if (o.resetStore) o.logger.info(`${o.file} is valid; --reset-store ignored`)
    return whenGood(o, bytes, decoded.value)
  }
  if (decoded.error.kind === 'newer')
    throw new RackbootError(
      `cannot start: ${o.file} was ${decoded.error.details.join('; ')}. Run the newer rackboot, or move the file away to start over; it was left untouched.`,
      'store-newer',
    )
  const aside = await moveAside(o.file, `corrupt-${fileTimestamp(o.now())}`)
  const what = `${o.file} is ${problemHead(decoded.error)}`
  const list = `\n  - ${decoded.error.details.join('\n  - ')}`

  const backup = await readBackup(o)
  if (backup.ok) {
    const restored = await restore(o, backup.value.bytes, backup.value.decoded)
    o.logger.warn(
      `${what}; moved it to ${aside} and restored the last good backup ${o.backupFile}. Problems:${list}`,
    )
    return restored
  }
  if (o.resetStore) {
    o.logger.warn(
      `${what}; moved it to ${aside} and started an empty store (--reset-store). Problems:${list}`,
    )
    return startEmpty(o, 'reset')
  }
  throw new RackbootError(
    `cannot start: ${what}. It was moved to ${aside}. The backup ${o.backupFile} ${backup.error}. ${RESET_HINT}\nProblems:${list}`,
    'store-invalid',
    '--reset-store',
  )
}

function problemHead(p: DbProblem): string {
  return p.kind === 'corrupt' ? 'corrupt' : 'not a valid rackboot store'
}

async function readOrExplain(file: string): Promise<Buffer | null> {
  try {
    return await readFileIfExists(file)
  } catch (e) {
    throw new RackbootError(
      `cannot read ${file}: ${(e as Error).message}; check its permissions`,
      'store-unreadable',
    )
  }
}

/** The backup's bytes and decoding, or why it cannot be used (moving a bad one aside so it is never overwritten). */
async function readBackup(o: LoadOptions): Promise<Result<{ bytes: Buffer; decoded: Decoded }, string>> {
  const bytes = await readOrExplain(o.backupFile)
  if (bytes === null) return { ok: false, error: 'does not exist' }
  const decoded = decodeDb(bytes)
  if (decoded.ok) return { ok: true, value: { bytes, decoded: decoded.value } }
  if (decoded.error.kind === 'newer')
    return { ok: false, error: `is ${decoded.error.details.join('; ')} and was left alone` }
  const aside = await moveAside(o.backupFile, `corrupt-${fileTimestamp(o.now())}`)
  return {
    ok: false,
    error: `is not usable either (${decoded.error.details.join('; ')}); moved it to ${aside}`,
  }
}

async function whenGood(o: LoadOptions, bytes: Buffer, decoded: Decoded): Promise<Loaded> {
  let onDisk = bytes.toString('utf8')
  let outcome: LoadOutcome = 'loaded'
  if (decoded.fromVersion < decoded.db.version) {
    const kept = `${o.file}.v${decoded.fromVersion}-${fileTimestamp(o.now())}`
    await writeFileAtomic(kept, bytes)
    onDisk = encodeDb(decoded.db)
    await writeFileAtomic(o.file, onDisk)
    o.logger.info(
      `upgraded ${o.file} from schema version ${decoded.fromVersion} to ${decoded.db.version}; the old file is kept as ${kept}`,
    )
    outcome = 'migrated'
  }
  return { db: decoded.db, onDisk, backedUp: await refreshBackup(o, onDisk), outcome }
}

/** On open the backup becomes the file just validated; an older good backup is simply replaced (it is rolling). */
async function refreshBackup(o: LoadOptions, onDisk: string): Promise<string> {
  const current = await readOrExplain(o.backupFile)
  if (current !== null && current.toString('utf8') === onDisk) return onDisk
  if (current !== null) {
    const decoded = decodeDb(current)
    if (!decoded.ok) {
      const aside = await moveAside(o.backupFile, `corrupt-${fileTimestamp(o.now())}`)
      o.logger.warn(
        `the backup ${o.backupFile} was unusable (${decoded.error.details.join('; ')}); moved it to ${aside}`,
      )
    }
  }
  await writeFileAtomic(o.backupFile, onDisk)
  return onDisk
}

async function restore(o: LoadOptions, bytes: Buffer, decoded: Decoded): Promise<Loaded> {
  // Write what the backup decodes to (migrated if it was older), so db.json is always current-version.
  const onDisk = decoded.fromVersion < decoded.db.version ? encodeDb(decoded.db) : bytes.toString('utf8')
  await writeFileAtomic(o.file, onDisk)
  return { db: decoded.db, onDisk, backedUp: bytes.toString('utf8'), outcome: 'restored' }
}

async function startEmpty(o: LoadOptions, outcome: 'created' | 'reset'): Promise<Loaded> {
  const db = emptyDb()
  const onDisk = encodeDb(db)
  await writeFileAtomic(o.file, onDisk)
  return { db, onDisk, backedUp: await refreshBackup(o, onDisk), outcome }
}

async function whenMissing(o: LoadOptions): Promise<Loaded> {
  const backup = await readBackup(o)
  if (backup.ok) {
    o.logger.warn(
      `${o.file} is missing; restored the last good backup ${o.backupFile} (move the backup away to start empty)`,
    )
    return restore(o, backup.value.bytes, backup.value.decoded)
  }
  const leftovers = (await readdir(dirname(o.file))).filter((n) =>
    n.startsWith(`${basename(o.file)}.corrupt-`),
  )
  if (leftovers.length > 0 && !o.resetStore)
    throw new RackbootError(
      `cannot start: ${o.file} is missing and an earlier start moved an unreadable store aside (${leftovers.sort().join(', ')}); ` +
        `the backup ${o.backupFile} ${backup.error}. ${RESET_HINT}`,
      'store-invalid',
      '--reset-store',
    )
  if (leftovers.length > 0)
    o.logger.warn(
      `started an empty store in ${dirname(o.file)} (--reset-store); earlier files kept: ${leftovers.join(', ')}`,
    )
  else o.logger.info(`created a new store at ${o.file}`)
  return startEmpty(o, leftovers.length > 0 ? 'reset' : 'created')
}
