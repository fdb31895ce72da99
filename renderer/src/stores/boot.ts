/**
 * Boot progress per node, from `boot/event`: the last BOOT_EVENTS_KEPT events per node (or per MAC while the
 * node is unknown). A node this window has not seen boot yet is seeded from the core's saved timeline of its
 * newest boot (`nodes/timeline`), so a reload or a late window still shows where each node got to.
 */
import { defineStore } from 'pinia'
import { shallowRef } from 'vue'
import type { BootEvent } from '../../../electron/ipc/contract'
import { useClient } from './client'
import { sharedSubscription } from './shared-subscription'

export const BOOT_EVENTS_KEPT = 40

/** Events per node name, or per `mac:<mac>` before a node owns the MAC. */
export type BootLog = ReadonlyMap<string, readonly BootEvent[]>

export function bootKey(e: Pick<BootEvent, 'node' | 'mac'>): string {
  return e.node ?? `mac:${e.mac}`
}

export function appendBootEvent(log: BootLog, e: BootEvent, kept = BOOT_EVENTS_KEPT): BootLog {
  const next = new Map(log)
  const key = bootKey(e)
  next.set(key, [...(log.get(key) ?? []), e].slice(-kept))
  return next
}

export const useBootStore = defineStore('boot', () => {
  const client = useClient()
  const log = shallowRef<BootLog>(new Map())
  /** Reference-counted like the live stores: the last user's disposer unsubscribes. */
  const { start } = sharedSubscription(() =>
    client.on('boot/event', (e) => (log.value = appendBootEvent(log.value, e))),
  )
  const clear = () => (log.value = new Map())
  /** Asked once per node name per store: a node with no saved boot is not asked again on every change. */
  const seeded = new Set<string>()
  async function seed(names: readonly string[]): Promise<void> {
    for (const node of names) {
      if (seeded.has(node) || log.value.has(node)) continue
      seeded.add(node)
      try {
        const [newest] = await client.call('nodes/timeline', { node, limit: 1 })
        // Live events that arrived meanwhile are newer: they win.
        if (newest && !log.value.has(node))
          log.value = new Map(log.value).set(node, newest.events.slice(-BOOT_EVENTS_KEPT))
      } catch {
        // A core without saved timelines (or a node removed meanwhile): live events still fill the log.
      }
    }
  }
  return { log, start, clear, seed }
})
