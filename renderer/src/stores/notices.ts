/**
 * One-sentence notices from the app shell (`app/notice`): the privilege prompt's outcome, the elevated stack
 * starting or stopping, a data dir that cannot be written. When the UI now talks to another core, every
 * live value reloads, as after a reconnect.
 */
import { defineStore } from 'pinia'
import { shallowRef } from 'vue'
import type { AppNotice } from '../../../electron/ipc/contract'
import { useClient } from './client'
import { useConnectionStore } from './connection'

export const useNoticesStore = defineStore('notices', () => {
  const client = useClient()
  const connection = useConnectionStore()
  const latest = shallowRef<AppNotice | null>(null)
  let users = 0
  let unsubscribe: (() => void) | null = null

  /** Starts following (once for all users); returns this user's disposer. */
  function start(): () => void {
    users += 1
    unsubscribe ??= client.on('app/notice', (notice) => {
      latest.value = notice
      if (notice.coreSwitched) connection.reloadAll()
    })
    let stopped = false
    return () => {
      if (stopped) return
      stopped = true
      users -= 1
      if (users > 0) return
      unsubscribe?.()
      unsubscribe = null
    }
  }

  function dismiss(): void {
    latest.value = null
  }

  return { latest, start, dismiss }
})
