/**
 * The virtual rack this core serves (`lab/status`, `lab/power`), when it is a `rackboot lab` serve. Any other
 * core answers 'not a virtual rack': then `isLab` is false and nothing lab-shaped shows. No event: the panel
 * polls while it is open (the consoles change without telling the core).
 */
import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import type { LabStatusView } from '../../../electron/ipc/contract'
import { useClient } from './client'

const isTransport = (e: unknown) =>
  typeof e === 'object' && e !== null && 'transport' in e && e.transport === true

export const useLabStore = defineStore('lab', () => {
  const client = useClient()
  const status = shallowRef<LabStatusView | null>(null)
  /** null until the first answer. */
  const isLab = ref<boolean | null>(null)
  const error = ref<string | null>(null)
  /** The core's refusal of the last power change (kept across polls until the next change). */
  const powerError = ref<string | null>(null)
  const busy = ref(false)

  async function reload(): Promise<void> {
    try {
      status.value = await client.call('lab/status', {})
      isLab.value = true
      error.value = null
    } catch (e) {
      // Once a lab, a failed poll is an error to show. Before, only the core's own answer says it is no lab:
      // a lost connection (or a call before it opened) says nothing yet, and the next poll asks again.
      if (isLab.value) error.value = e instanceof Error ? e.message : String(e)
      else if (!isTransport(e)) isLab.value = false
    }
  }

  async function power(slot: number | 'all', on: boolean, intervalS = 0): Promise<void> {
    busy.value = true
    try {
      await client.call('lab/power', { slot, on, intervalS })
      powerError.value = null
    } catch (e) {
      powerError.value = e instanceof Error ? e.message : String(e)
    } finally {
      busy.value = false
    }
    await reload()
  }

  /** Polls every `everyMs` until the core says it is no lab; returns the stop. */
  function start(everyMs = 2000): () => void {
    let timer: ReturnType<typeof setInterval> | null = null
    const stop = () => {
      if (timer !== null) clearInterval(timer)
      timer = null
    }
    const poll = () => reload().then(() => (isLab.value === false ? stop() : undefined))
    void poll()
    timer = setInterval(() => void poll(), everyMs)
    return stop
  }

  return { status, isLab, error, powerError, busy, reload, power, start }
})
