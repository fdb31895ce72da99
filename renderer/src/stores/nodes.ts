/** The node inventory: `nodes/list` once, then every `nodes/changed`. */
import { defineStore } from 'pinia'
import { computed, watch } from 'vue'
import type { Node } from '../../../electron/core/inventory/schema'
import { useClient } from './client'
import { useConnectionStore } from './connection'
import { createLive } from './live'

export const useNodesStore = defineStore('nodes', () => {
  const client = useClient()
  const connection = useConnectionStore()
  const live = createLive<Node[]>({
    load: () => client.call('nodes/list', {}),
    subscribe: (apply) => client.on('nodes/changed', (event) => apply(event.nodes)),
    onResult: connection.report,
  })
  watch(
    () => connection.reconnects,
    () => void live.refresh(),
  )
  const nodes = computed<Node[]>(() => live.value.value ?? [])
  return {
    nodes,
    loaded: computed(() => live.value.value !== null),
    error: live.error,
    loading: live.loading,
    start: live.start,
    reload: live.reload,
  }
})
