/**
 * One-sentence notices from the app shell (`app/notice`): the privilege prompt's outcome, the elevated stack
 * starting or stopping, a data dir that cannot be written. When the UI now talks to another core, every
 * live value reloads, as after a reconnect.
 */
import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import type { AppNotice } from '../../../electron/ipc/contract'
import { useClient } from './client'
import { useConnectionStore } from './connection'
import { sharedSubscription } from './shared-subscription'

export const useNoticesStore = defineStore('notices', () => {
  const client = useClient()
  const connection = useConnectionStore()
  const latest = shallowRef<AppNotice | null>(null)
  const { start } = sharedSubscription(() =>
    client.on('app/notice', (notice) => {
      latest.value = notice
      if (notice.coreSwitched) connection.reloadAll()
    }),
  )

  function dismiss(): void {
    latest.value = null
  }

  /** A notice from the UI itself (e.g. the answer to its own request). */
  function show(notice: AppNotice): void {
    latest.value = notice
  }

  /** The status bar's "Start with administrator rights": the desktop app asks the OS once (app/elevate). */
  const elevating = ref(false)
  async function elevate(): Promise<void> {
    elevating.value = true
    try {
      const r = await client.call('app/elevate', {})
      show({ level: r.outcome === 'elevated' ? 'info' : 'warn', message: r.message })
    } catch (e) {
      show({ level: 'error', message: e instanceof Error ? e.message : String(e) })
    } finally {
      elevating.value = false
    }
  }

  return { latest, start, dismiss, show, elevate, elevating }
})
