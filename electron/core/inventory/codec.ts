/**
 * Bytes of db.json <-> Db. Decoding is JSON.parse, then the migrations, then dbSchema; it never throws and says
 * which of the three failed, because the store reacts differently: a corrupt or invalid file is moved aside and
 * the backup restored, a file from a newer rackboot is left alone (it is not broken, this build is too old).
 */
import { type Result, ok, err } from '../util/result'
import { type Db, dbSchema, describeIssues } from './schema'
import { migrate } from './migrations'

export type DbProblem =
  | { kind: 'corrupt'; details: string[] }
  | { kind: 'invalid'; details: string[] }
  | { kind: 'newer'; details: string[] }

export interface Decoded {
  db: Db
  /** Schema version found in the file (0 = pre-release, unversioned). */
  fromVersion: number
}

export function decodeDb(bytes: Uint8Array): Result<Decoded, DbProblem> {
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return err({ kind: 'corrupt', details: ['not UTF-8 text'] })
  }
  if (text.trim() === '') return err({ kind: 'corrupt', details: ['the file is empty'] })
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (e) {
    return err({ kind: 'corrupt', details: [`not valid JSON: ${(e as Error).message}`] })
  }
  const migrated = migrate(raw)
  if (!migrated.ok)
    return err({
      kind: migrated.error.kind === 'newer' ? 'newer' : 'invalid',
      details: [migrated.error.message],
    })
  const parsed = dbSchema.safeParse(migrated.value.value)
  if (!parsed.success) return err({ kind: 'invalid', details: describeIssues(parsed.error) })
  return ok({ db: parsed.data, fromVersion: migrated.value.from })
}

/** Stable, human-diffable form: two-space indent and a final newline. */
export function encodeDb(db: Db): string {
  return JSON.stringify(db, null, 2) + '\n'
}
