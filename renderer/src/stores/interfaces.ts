/** The machine's NICs (`net/interfaces`). No event: the list is read when the step opens or on Refresh. */
import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import type { InterfaceInfo } from '../../../electron/ipc/contract'
import { useClient } from './client'
import { useConnectionStore } from './connection'

export const useInterfacesStore = defineStore('interfaces', () => {
  const client = useClient()
  const connection = useConnectionStore()
  const interfaces = shallowRef<InterfaceInfo[] | null>(null)
  const error = ref<string | null>(null)
  const loading = ref(false)

  async function reload(): Promise<void> {
    loading.value = true
    try {
      interfaces.value = await client.call('net/interfaces', {})
      error.value = null
      connection.report({ ok: true })
    } catch (e) {
      error.value = e instanceof Error ? e.message : String(e)
      const transport = typeof e === 'object' && e !== null && 'transport' in e && e.transport === true
      connection.report({ ok: false, message: error.value, transport })
    } finally {
      loading.value = false
    }
  }

  return { interfaces, error, loading, reload }
})
