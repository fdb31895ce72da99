/**
 * Address allocation (pure, in memory). Invariant: an address is held by at most one MAC at a time —
 * a reservation (a node's IPv4) belongs to that node's MACs only, and a pool address to whichever MAC holds
 * an unexpired lease on it. Offers hold an address briefly; bindings are recorded by the lease journal before
 * the ACK leaves (pool ones fdatasynced; see journal.ts), so the invariant also holds across a crash.
 */
import { intToIp } from '../../util/ipv4'

export type LeaseState = 'offered' | 'bound' | 'declined'

export interface LeaseEntry {
  mac: string
  ip: number
  /** Epoch ms. */
  expiresAt: number
  state: LeaseState
  hostname: string | null
}

export interface Pool {
  /** Inclusive range of dynamic addresses. */
  start: number
  end: number
  /** Never handed out: our own address, the gateway, network and broadcast addresses. */
  exclude: ReadonlySet<number>
}

/** The inventory's fixed addresses, looked up per packet (nodes change while serving). */
export interface Reservations {
  ipFor(mac: string): number | null
  /** The MACs of the node that owns `ip` (empty while that node has none yet), or null when nobody does. */
  reservedFor(ip: number): readonly string[] | null
}

export class LeaseBook {
  private readonly byIp = new Map<number, LeaseEntry>()
  private readonly byMac = new Map<string, LeaseEntry>()
  private cursor: number

  constructor(
    private readonly pool: Pool | null,
    private readonly reservations: Reservations,
    entries: Iterable<LeaseEntry> = [],
  ) {
    this.cursor = pool?.start ?? 0
    for (const e of entries) this.put(e)
  }

  get size(): number {
    return this.byIp.size
  }

  entries(): IterableIterator<LeaseEntry> {
    return this.byIp.values()
  }

  leaseOf(mac: string): LeaseEntry | null {
    return this.byMac.get(mac) ?? null
  }

  /** Who may use `ip` at `now`, other than `mac`? null when `mac` may have it. */
  holderOther(ip: number, mac: string, now: number): string | null {
    const owners = this.reservations.reservedFor(ip)
    if (owners !== null && !owners.includes(mac))
      return owners.length > 0 ? `reserved for ${owners.join(',')}` : 'reserved for a planned node'
    const e = this.byIp.get(ip)
    if (!e || e.mac === mac) return null
    return e.expiresAt > now ? e.mac : null
  }

  private usable(ip: number, mac: string, now: number): boolean {
    if (this.pool && this.pool.exclude.has(ip)) return false
    return this.holderOther(ip, mac, now) === null
  }

  /** The address the inventory reserves for `mac`, or null. */
  reservedIpOf(mac: string): number | null {
    return this.reservations.ipFor(mac)
  }

  inPool(ip: number): boolean {
    return this.pool !== null && ip >= this.pool.start && ip <= this.pool.end && !this.pool.exclude.has(ip)
  }

  /**
   * The address to offer `mac`: its reservation; else its current or last address; else the one it asks
   * for (option 50) when free; else the next free pool address (never-used before expired ones). null = none.
   */
  choose(mac: string, requested: number | null, now: number): number | null {
    const reserved = this.reservations.ipFor(mac)
    if (reserved !== null) return this.holderOther(reserved, mac, now) === null ? reserved : null
    const previous = this.byMac.get(mac)
    if (
      previous &&
      previous.state !== 'declined' &&
      this.inPool(previous.ip) &&
      this.usable(previous.ip, mac, now)
    )
      return previous.ip
    if (requested !== null && this.inPool(requested) && this.usable(requested, mac, now)) return requested
    return this.scan(mac, now)
  }

  private scan(mac: string, now: number): number | null {
    if (!this.pool) return null
    const { start, end } = this.pool
    const size = end - start + 1
    let expired: number | null = null
    for (let i = 0; i < size; i++) {
      const ip = start + ((this.cursor - start + i) % size)
      if (this.pool.exclude.has(ip) || this.reservations.reservedFor(ip) !== null) continue
      const e = this.byIp.get(ip)
      if (!e) {
        this.cursor = ip === end ? start : ip + 1
        return ip
      }
      if (expired === null && (e.mac === mac || e.expiresAt <= now)) expired = ip
    }
    return expired
  }

  /** Records an offer (not durable: an offer is a promise, not a binding). */
  offer(mac: string, ip: number, now: number, holdMs: number): LeaseEntry {
    const current = this.byMac.get(mac)
    // A client with a live binding on this address keeps it while it re-discovers.
    if (current && current.ip === ip && current.state === 'bound' && current.expiresAt > now) return current
    return this.put({
      mac,
      ip,
      expiresAt: now + holdMs,
      state: 'offered',
      hostname: current?.hostname ?? null,
    })
  }

  /** Binds `ip` to `mac`; refuses (with who holds it) when another MAC may still use it. */
  bind(
    mac: string,
    ip: number,
    now: number,
    leaseMs: number,
    hostname: string | null,
  ): { ok: true; lease: LeaseEntry } | { ok: false; reason: string } {
    const other = this.holderOther(ip, mac, now)
    if (other !== null) return { ok: false, reason: `${intToIp(ip)} is held by ${other}` }
    if (this.pool?.exclude.has(ip))
      return { ok: false, reason: `${intToIp(ip)} is not given out (server, gateway or subnet address)` }
    const reserved = this.reservations.ipFor(mac)
    if (reserved !== null && reserved !== ip)
      return { ok: false, reason: `${mac} is reserved ${intToIp(reserved)}, not ${intToIp(ip)}` }
    if (reserved === null && !this.inPool(ip))
      return { ok: false, reason: `${intToIp(ip)} is outside the pool` }
    return { ok: true, lease: this.put({ mac, ip, expiresAt: now + leaseMs, state: 'bound', hostname }) }
  }

  /** RELEASE: the address is free again (only when the MAC really holds it). Returns the freed entry. */
  release(mac: string, ip: number): LeaseEntry | null {
    const e = this.byIp.get(ip)
    if (!e || e.mac !== mac) return null
    this.byIp.delete(ip)
    if (this.byMac.get(mac) === e) this.byMac.delete(mac)
    return e
  }

  /** DECLINE: the address is in use by someone we do not know; quarantine it under a placeholder owner. */
  decline(mac: string, ip: number, now: number, quarantineMs: number): LeaseEntry | null {
    const e = this.byIp.get(ip)
    if (!e || e.mac !== mac) return null
    if (this.byMac.get(mac) === e) this.byMac.delete(mac)
    const q: LeaseEntry = {
      mac: `declined:${mac}`,
      ip,
      expiresAt: now + quarantineMs,
      state: 'declined',
      hostname: null,
    }
    this.byIp.set(ip, q)
    return q
  }

  /** Restores an entry as recorded (journal replay); later entries for the same IP or MAC replace earlier ones. */
  put(e: LeaseEntry): LeaseEntry {
    const oldByIp = this.byIp.get(e.ip)
    if (oldByIp && oldByIp.mac !== e.mac && this.byMac.get(oldByIp.mac) === oldByIp)
      this.byMac.delete(oldByIp.mac)
    const oldByMac = this.byMac.get(e.mac)
    if (oldByMac && oldByMac.ip !== e.ip && this.byIp.get(oldByMac.ip) === oldByMac)
      this.byIp.delete(oldByMac.ip)
    this.byIp.set(e.ip, e)
    if (e.state !== 'declined') this.byMac.set(e.mac, e)
    return e
  }

  /** Drops entries long expired (keeps recent ones so a returning client gets its old address back). */
  prune(now: number, keepMs: number): number {
    let n = 0
    for (const e of [...this.byIp.values()]) {
      if (e.expiresAt + keepMs > now) continue
      this.byIp.delete(e.ip)
      if (this.byMac.get(e.mac) === e) this.byMac.delete(e.mac)
      n++
    }
    return n
  }
}
