/**
 * Versioned upgrades of the stored state. `MIGRATIONS[n]` turns a version-n object into a version-(n+1) object;
 * `migrate` runs them in order up to SCHEMA_VERSION. Each step sees plain JSON (validation with dbSchema comes
 * after the last step), so a step must not assume the old file was valid. Pure; never throws on bad input.
 *
 * To change the schema: bump SCHEMA_VERSION in schema.ts, append one step here, add a fixture test of the old shape.
 */
import { type Result, ok, err } from '../util/result'
import { SCHEMA_VERSION } from './schema'

export type JsonObject = Record<string, unknown>
export type Migration = (old: JsonObject) => JsonObject

/**
 * v0 is the pre-release shape: the same fields as v1 but no `version` key (builds before the store was
 * versioned). Nothing else changed, so the step only stamps the version.
 */
const v0ToV1: Migration = (old) => ({ ...old, version: 1 })

export const MIGRATIONS: readonly Migration[] = Object.freeze([v0ToV1])

export type MigrationProblem =
  | { kind: 'not-an-object'; message: string }
  | { kind: 'bad-version'; message: string }
  | { kind: 'newer'; version: number; message: string }

export interface Migrated {
  value: JsonObject
  /** The version the input had (0 when absent); equal to `to` when nothing ran. */
  from: number
}

export function storedVersion(raw: JsonObject): Result<number, MigrationProblem> {
  if (!('version' in raw) || raw.version === undefined) return ok(0)
  const v = raw.version
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    return err({ kind: 'bad-version', message: `version: expected a whole number, got ${JSON.stringify(v)}` })
  return ok(v)
}

export function migrate(
  raw: unknown,
  to: number = SCHEMA_VERSION,
  steps: readonly Migration[] = MIGRATIONS,
): Result<Migrated, MigrationProblem> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return err({
      kind: 'not-an-object',
      message: `expected a JSON object at the top level, got ${Array.isArray(raw) ? 'an array' : typeof raw}`,
    })
  const version = storedVersion(raw as JsonObject)
  if (!version.ok) return version
  const from = version.value
  if (from > to)
    return err({
      kind: 'newer',
      version: from,
      message: `written by a newer rackboot (schema version ${from}; this build reads up to ${to})`,
    })
  let value = raw as JsonObject
  for (let v = from; v < to; v++) {
    const step = steps[v]
    if (!step)
      return err({ kind: 'bad-version', message: `no migration from schema version ${v} to ${v + 1}` })
    value = step(value)
  }
  return ok({ value, from })
}
