/**
 * Boot progress per node, from `boot/event`. The core keeps no event history for the UI: this store keeps
 * the last BOOT_EVENTS_KEPT events per node (or per MAC while the node is unknown), from the moment the app
 * connected. After a reload the dashboard starts again from the node states of `nodes/list`.
 */
import { defineStore } from 'pinia'
import { shallowRef } from 'vue'
import type { BootEvent } from '../../../electron/ipc/contract'
import { useClient } from './client'

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
  let users = 0
  let off: (() => void) | null = null

  /** Reference-counted like the live stores: the last user's disposer unsubscribes. */
  function start(): () => void {
    users += 1
    if (users === 1) off = client.on('boot/event', (e) => (log.value = appendBootEvent(log.value, e)))
    let done = false
    return () => {
      if (done) return
      done = true
      users -= 1
      if (users === 0 && off) {
        off()
        off = null
      }
    }
  }
  const clear = () => (log.value = new Map())
  return { log, start, clear }
})
