/**
 * The inventory's fixed addresses as an index, rebuilt only when the inventory changes (the store replaces
 * its state object on every write), so the per-packet and per-pool-address lookups stay O(1).
 */
import type { Db } from '../../inventory/schema'
import { ipToInt } from '../../util/ipv4'
import type { Reservations } from './leases'

export function inventoryReservations(db: () => Readonly<Db>): Reservations {
  let seen: Readonly<Db> | null = null
  let byMac = new Map<string, number>()
  let byIp = new Map<number, readonly string[]>()
  const index = () => {
    const current = db()
    if (current === seen) return
    seen = current
    byMac = new Map()
    byIp = new Map()
    for (const n of current.nodes) {
      const ip = n.ipv4 === null ? null : ipToInt(n.ipv4)
      if (ip === null) continue
      byIp.set(ip, n.macs)
      for (const m of n.macs) byMac.set(m, ip)
    }
  }
  return {
    ipFor(mac) {
      index()
      return byMac.get(mac) ?? null
    },
    reservedFor(ip) {
      index()
      return byIp.get(ip) ?? null
    },
  }
}
