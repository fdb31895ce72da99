/** The boot stack's status: `stack/status` once, then every `stack/changed`. */
import { defineStore } from 'pinia'
import { watch } from 'vue'
import type { StackStatus } from '../../../electron/ipc/contract'
import { useClient } from './client'
import { useConnectionStore } from './connection'
import { createLive } from './live'

export const useStackStore = defineStore('stack', () => {
  const client = useClient()
  const connection = useConnectionStore()
  const live = createLive<StackStatus>({
    load: () => client.call('stack/status', {}),
    subscribe: (apply) => client.on('stack/changed', apply),
    onResult: connection.report,
  })
  watch(
    () => connection.reconnects,
    () => void live.refresh(),
  )
  return {
    status: live.value,
    error: live.error,
    loading: live.loading,
    start: live.start,
    reload: live.reload,
  }
})
