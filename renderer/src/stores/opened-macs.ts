/**
 * A vendor MAC list the OS opened with Rackboot (`import/macs-file`: already read and checked in main). It
 * waits here until the MAC list panel takes it into its text box and runs the dry run: shown for review,
 * never assigned without the engineer's Assign.
 */
import { defineStore } from 'pinia'
import { shallowRef } from 'vue'
import type { MacsFileOpened } from '../../../electron/ipc/contract'
import { useClient } from './client'
import { sharedSubscription } from './shared-subscription'

export const useOpenedMacsStore = defineStore('opened-macs', () => {
  const client = useClient()
  const pending = shallowRef<MacsFileOpened | null>(null)
  const { start } = sharedSubscription(() => client.on('import/macs-file', (file) => (pending.value = file)))

  /** The waiting file, now owned by the caller; null when there is none. */
  function take(): MacsFileOpened | null {
    const file = pending.value
    pending.value = null
    return file
  }

  return { pending, start, take }
})
