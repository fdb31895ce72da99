/**
 * Validators and conditional requests (RFC 9110 §8.8, §13). Pure.
 *
 * The ETag is strong, `"<size hex>-<mtime ns hex>"` (the shape nginx uses). Strictly, size + mtime cannot prove
 * two files byte-identical; it is strong here because everything we serve is replaced by writing a new file
 * and renaming it over the old one (the image store does so), which always changes the mtime. A strong tag lets
 * If-Range work (§13.1.5 requires a strong comparison), so a client can resume a multi-gigabyte image.
 */

export interface FileValidators {
  etag: string
  lastModified: string
  /** mtime truncated to whole seconds, the precision of HTTP dates. */
  mtimeSeconds: number
}

export function validatorsFor(size: number, mtimeNs: bigint): FileValidators {
  const mtimeMs = Number(mtimeNs / 1_000_000n)
  return {
    etag: `"${size.toString(16)}-${mtimeNs.toString(16)}"`,
    lastModified: new Date(mtimeMs).toUTCString(),
    mtimeSeconds: Math.floor(mtimeMs / 1000),
  }
}

/** Splits an If-None-Match / If-Match list; `W/` prefixes kept. */
function entityTags(header: string): string[] {
  return header.match(/(?:W\/)?"[^"]*"|\*/g) ?? []
}

const opaque = (tag: string) => tag.replace(/^W\//, '')

/** Seconds since the epoch of an HTTP date, or null when it does not parse (then the condition is ignored). */
function httpDateSeconds(value: string): number | null {
  const ms = Date.parse(value)
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000)
}

/**
 * True when a GET/HEAD may answer 304. If-None-Match wins over If-Modified-Since (§13.2.2 step 3 and 4):
 * weak comparison for If-None-Match (§13.1.2), and If-Modified-Since only when If-None-Match is absent.
 */
export function notModified(
  v: FileValidators,
  ifNoneMatch: string | undefined,
  ifModifiedSince: string | undefined,
): boolean {
  if (ifNoneMatch !== undefined) {
    return entityTags(ifNoneMatch).some((t) => t === '*' || opaque(t) === opaque(v.etag))
  }
  if (ifModifiedSince !== undefined) {
    const since = httpDateSeconds(ifModifiedSince)
    return since !== null && v.mtimeSeconds <= since
  }
  return false
}

/**
 * If-Range (§13.1.5): the Range applies only when the validator still matches: an entity tag by strong
 * comparison (a weak tag never matches), or a date equal to Last-Modified. Absent header: the Range applies.
 */
export function rangeStillValid(v: FileValidators, ifRange: string | undefined): boolean {
  if (ifRange === undefined) return true
  const value = ifRange.trim()
  if (value.startsWith('"') || value.startsWith('W/')) return value === v.etag
  const date = httpDateSeconds(value)
  return date !== null && date === v.mtimeSeconds
}
