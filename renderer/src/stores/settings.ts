/** Settings, read-only for now: `settings/get` once, then every `settings/changed`. */
import { defineStore } from 'pinia'
import { watch } from 'vue'
import type { Settings } from '../../../electron/core/inventory/schema'
import { useClient } from './client'
import { useConnectionStore } from './connection'
import { createLive } from './live'

export const useSettingsStore = defineStore('settings', () => {
  const client = useClient()
  const connection = useConnectionStore()
  const live = createLive<Settings>({
    load: () => client.call('settings/get', {}),
    subscribe: (apply) => client.on('settings/changed', apply),
    onResult: connection.report,
  })
  watch(
    () => connection.reconnects,
    () => void live.refresh(),
  )
  return {
    settings: live.value,
    error: live.error,
    loading: live.loading,
    start: live.start,
    reload: live.reload,
  }
})
