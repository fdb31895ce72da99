/**
 * The racks: `racks/list` once, then again after every store change. The core has no rack event of its own,
 * but every store write emits `nodes/changed`, so that is the signal to reload.
 */
import { defineStore } from 'pinia'
import { computed, watch } from 'vue'
import type { Rack } from '../../../electron/core/inventory/schema'
import { useClient } from './client'
import { useConnectionStore } from './connection'
import { createLive } from './live'

export const useRacksStore = defineStore('racks', () => {
  const client = useClient()
  const connection = useConnectionStore()
  const load = () => client.call('racks/list', {})
  const live = createLive<Rack[]>({
    load,
    subscribe: (apply) =>
      client.on('nodes/changed', () => {
        load().then(apply, () => {
          // A failed reload keeps the last list; the next change or reconnect tries again.
        })
      }),
    onResult: connection.report,
  })
  watch(
    () => connection.reconnects,
    () => void live.refresh(),
  )
  return {
    racks: computed<Rack[]>(() => live.value.value ?? []),
    loaded: computed(() => live.value.value !== null),
    error: live.error,
    start: live.start,
    reload: live.reload,
  }
})
