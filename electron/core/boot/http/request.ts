/** Reading what a client sent: the request target, a MAC in a path segment, the asset key, the Host. Pure. */
import { createHash, timingSafeEqual } from 'node:crypto'
import { parseMac } from '../../util/mac'
import { type Result, ok, err } from '../../util/result'

export interface Target {
  /** Percent-decoded path segments, without the leading empty one: `/kernel/aa-bb..` -> ['kernel', 'aa-bb..']. */
  segments: string[]
  query: URLSearchParams
}

/**
 * Splits an origin-form request target (RFC 9112 §3.2.1). Deliberately not `new URL(target, base)`:
 * `//evil/x` would parse as a host. Percent-decoding happens per segment, so an encoded slash (`%2F`) stays
 * inside its segment where the static-root check refuses it.
 */
export function parseTarget(target: string | undefined): Result<Target> {
  if (!target || !target.startsWith('/')) return err(`request target '${target ?? ''}' must start with '/'`)
  const q = target.indexOf('?')
  const path = q < 0 ? target : target.slice(0, q)
  const segments: string[] = []
  for (const raw of path.split('/').slice(1)) {
    try {
      segments.push(decodeURIComponent(raw))
    } catch {
      return err(`path segment '${raw}' is not valid percent-encoding`)
    }
  }
  return ok({ segments, query: new URLSearchParams(q < 0 ? '' : target.slice(q + 1)) })
}

/** A MAC from a URL path segment: `aa:bb:..`, `aa-bb-..`, upper case, `%3A`-encoded (already decoded here). */
export function macFromSegment(segment: string | undefined): Result<string> {
  if (segment === undefined || segment === '')
    return err('no MAC address in the path, e.g. /ipxe/52-54-00-12-34-56')
  return parseMac(segment)
}

/** Constant-time comparison, hashed first so the lengths always match. */
export function assetKeyMatches(expected: string, given: string | null): boolean {
  if (given === null) return false
  const h = (s: string) => createHash('sha256').update(s).digest()
  return timingSafeEqual(h(expected), h(given))
}

const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/

/** `http://<Host header>` when the header is a plain host[:port] (it ends up inside iPXE scripts), else null. */
export function baseUrlFromHost(host: string | undefined): string | null {
  return host !== undefined && HOST.test(host) ? `http://${host}` : null
}
