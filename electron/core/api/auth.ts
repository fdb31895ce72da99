/**
 * Who may talk to the headless API: a per-run token (the API hands out full control of the appliance), and
 * only through a loopback name, so a web page elsewhere cannot reach it by DNS rebinding (Host check) or
 * by cross-site requests from the user's browser (Origin check).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { isIP } from 'node:net'
import { ipToInt } from '../util/ipv4'

export function newToken(random: (size: number) => Buffer = randomBytes): string {
  return random(32).toString('hex')
}

/**
 * Constant-time comparison. Hashing first gives both sides the same length, so not even the token's length
 * leaks through timing.
 */
export function tokenMatches(expected: string, presented: string | null | undefined): boolean {
  if (typeof presented !== 'string') return false
  const a = createHash('sha256').update(expected).digest()
  const b = createHash('sha256').update(presented).digest()
  return timingSafeEqual(a, b)
}

/** `Authorization: Bearer <token>` (RFC 6750 §2.1); null when absent or another scheme. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null
  const m = /^Bearer[ ]+([^\s]+)\s*$/i.exec(header)
  return m ? m[1]! : null
}

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true
  const n = ipToInt(host)
  return n !== null && n >>> 24 === 127
}

/** How the host appears in a URL or Host header: IPv6 literals in brackets (RFC 3986 §3.2.2). */
export function urlHost(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host
}

export interface LoopbackGuard {
  /** The Host header values this server answers to (lowercase `host:port`). */
  hosts: ReadonlySet<string>
  /** The browser origins that are this server. */
  origins: ReadonlySet<string>
}

/**
 * The listening address and `localhost` are both this server; any other name in a Host header means a
 * request that was meant for someone else, or a rebinding attack.
 */
export function loopbackGuard(listenHosts: readonly string[], port: number): LoopbackGuard {
  const hosts = new Set<string>()
  for (const h of [...listenHosts, 'localhost']) {
    const u = urlHost(h).toLowerCase()
    hosts.add(`${u}:${port}`)
    if (port === 80) hosts.add(u) // RFC 9110 §7.2: the default port may be omitted
  }
  const origins = new Set([...hosts].map((h) => `http://${h}`))
  return { hosts, origins }
}

export type GuardVerdict = { ok: true } | { ok: false; status: 421 | 403; message: string }

export function checkHostAndOrigin(
  guard: LoopbackGuard,
  host: string | undefined,
  origin: string | undefined,
): GuardVerdict {
  if (!host || !guard.hosts.has(host.toLowerCase()))
    return {
      ok: false,
      status: 421,
      message: `Host '${host ?? ''}' is not this server; use ${[...guard.hosts].join(' or ')}`,
    }
  // No Origin: not a browser's cross-origin request (curl, the CLI, a same-origin navigation).
  if (origin !== undefined && !guard.origins.has(origin.toLowerCase()))
    return { ok: false, status: 403, message: `Origin '${origin}' may not use this API` }
  return { ok: true }
}
