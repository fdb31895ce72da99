/** The machine's NICs (`net/interfaces`). No event: the list is read when the step opens or on Refresh. */
import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import type { InterfaceInfo, OtherDhcpServer } from '../../../electron/ipc/contract'
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

  /** The rogue-DHCP probe of one NIC (`net/probe-dhcp`, about 3 s): null until run. */
  const probe = ref<{ interface: string; found: OtherDhcpServer[] } | null>(null)
  const probeError = ref<string | null>(null)
  const probing = ref(false)

  async function probeDhcp(iface: string): Promise<void> {
    probing.value = true
    probeError.value = null
    try {
      probe.value = { interface: iface, found: await client.call('net/probe-dhcp', { interface: iface }) }
    } catch (e) {
      probe.value = null
      probeError.value = e instanceof Error ? e.message : String(e)
    } finally {
      probing.value = false
    }
  }

  return { interfaces, error, loading, reload, probe, probeError, probing, probeDhcp }
})
