/**
 * Reads YAML the way Warewulf's Go structs see it: every scalar as its text (Go fields are strings, so
 * `mtu: 1500` and `write: true` are "1500" and "true"), plain `~`/`null`/empty as null, and a line for any path.
 * Uses the failsafe schema so no scalar is reinterpreted (1.10 stays "1.10", 0755 stays "0755").
 */
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml'
import { type Result, ok, err } from '../util/result'
import type { WwValue } from './warewulf-types'

export interface YamlTree {
  value: WwValue
  /** 1-based line of the key at `path` (or of the item, for a list index); null when the path is absent. */
  lineOf(path: readonly (string | number)[]): number | null
}

export interface YamlProblem {
  line: number | null
  message: string
}

/** Upper bound on nodes visited while resolving aliases: a "billion laughs" file stops here. */
const MAX_NODES = 200_000

export function readYamlTree(text: string): Result<YamlTree, YamlProblem[]> {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, schema: 'failsafe', uniqueKeys: true, prettyErrors: true })
  if (doc.errors.length > 0)
    return err(
      doc.errors.map((e) => ({
        line: e.linePos?.[0].line ?? null,
        message: `invalid YAML: ${e.message.split('\n')[0]}`,
      })),
    )
  const line = (offset: number | undefined) =>
    offset === undefined ? null : lineCounter.linePos(offset).line
  let budget = MAX_NODES
  const toValue = (n: unknown, depth: number): WwValue => {
    if (--budget < 0 || depth > 64) throw new TooBig()
    if (isAlias(n)) return toValue(n.resolve(doc as Document), depth + 1)
    if (isScalar(n)) {
      const plain = n.type === 'PLAIN' || n.type === undefined
      const s = String(n.value ?? '')
      if (plain && (s === '' || s === '~' || s === 'null' || s === 'Null' || s === 'NULL')) return null
      return s
    }
    if (isSeq(n)) return n.items.map((i) => toValue(i, depth + 1))
    if (isMap(n)) {
      const out: { [k: string]: WwValue } = {}
      for (const pair of n.items) {
        const k = isScalar(pair.key) ? String(pair.key.value ?? '') : String(toValue(pair.key, depth + 1))
        out[k] = toValue(pair.value, depth + 1)
      }
      return out
    }
    return null
  }
  let value: WwValue
  try {
    value = toValue(doc.contents, 0)
  } catch (e) {
    if (e instanceof TooBig)
      return err([{ line: null, message: 'the YAML expands to too many values (aliases nested too deep?)' }])
    return err([{ line: null, message: `invalid YAML: ${e instanceof Error ? e.message : String(e)}` }])
  }
  const lineOf = (path: readonly (string | number)[]): number | null => {
    let cur: unknown = doc.contents
    let at: number | null = null
    for (const seg of path) {
      if (isAlias(cur)) cur = cur.resolve(doc as Document)
      if (isMap(cur)) {
        const pair = cur.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg))
        if (!pair) return null
        at = line(isScalar(pair.key) ? pair.key.range?.[0] : undefined)
        cur = pair.value
      } else if (isSeq(cur) && typeof seg === 'number') {
        const item = cur.items[seg]
        if (item === undefined) return null
        at = line(isScalar(item) || isMap(item) || isSeq(item) ? item.range?.[0] : undefined)
        cur = item
      } else return null
    }
    return at
  }
  return ok({ value, lineOf })
}

class TooBig extends Error {}
