/** Settings: `settings/get` once, then every `settings/changed`; `update` sends a patch the core validates. */
import { defineStore } from 'pinia'
import { watch } from 'vue'
import type { Settings, SettingsPatch } from '../../../electron/core/inventory/schema'
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
  /** Resolves with the saved settings, or rejects with the core's reason (a ContractCallError). */
  async function update(patch: SettingsPatch): Promise<Settings> {
    const saved = await client.call('settings/update', patch)
    live.value.value = saved
    return saved
  }
  return {
    update,
    settings: live.value,
    error: live.error,
    loading: live.loading,
    start: live.start,
    reload: live.reload,
  }
})
