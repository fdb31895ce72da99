/**
 * Capture mode as the Nodes step sees it: `capture/status` once, then every `capture/changed`; the recent
 * `capture/event`s (assignments, ambiguities, duplicates) for the log and the slot highlight. The actions
 * return the core's error message instead of throwing, so the step shows it next to the button pressed.
 */
import { defineStore } from 'pinia'
import { computed, ref, watch } from 'vue'
import type { CaptureEvent, CaptureStatus } from '../../../electron/ipc/contract'
import { useClient } from './client'
import { useConnectionStore } from './connection'
import { createLive } from './live'

/** Enough for the log on screen; older events are on the server's log. */
export const CAPTURE_EVENTS_KEPT = 50

export const useCaptureStore = defineStore('capture', () => {
  const client = useClient()
  const connection = useConnectionStore()
  const events = ref<CaptureEvent[]>([])
  /** Node that got a MAC last (the slot the step highlights briefly). */
  const justAssigned = ref<{ node: string; mac: string; seq: number } | null>(null)
  let seq = 0
  const live = createLive<CaptureStatus>({
    load: () => client.call('capture/status', {}),
    subscribe: (apply) => {
      const offStatus = client.on('capture/changed', apply)
      const offEvent = client.on('capture/event', (e) => {
        events.value = [e, ...events.value].slice(0, CAPTURE_EVENTS_KEPT)
        if (e.kind === 'assigned') justAssigned.value = { node: e.node, mac: e.mac, seq: ++seq }
      })
      return () => {
        offStatus()
        offEvent()
      }
    },
    onResult: connection.report,
  })
  watch(
    () => connection.reconnects,
    () => void live.refresh(),
  )

  const busy = ref(false)
  const actionError = ref<string | null>(null)
  async function act(run: () => Promise<CaptureStatus | unknown>): Promise<boolean> {
    busy.value = true
    actionError.value = null
    try {
      const answer = await run()
      if (isStatus(answer)) live.value.value = answer
      return true
    } catch (e) {
      actionError.value = e instanceof Error ? e.message : String(e)
      return false
    } finally {
      busy.value = false
    }
  }

  const duplicates = computed(() =>
    events.value.filter((e): e is Extract<CaptureEvent, { kind: 'duplicate' }> => e.kind === 'duplicate'),
  )

  return {
    status: live.value,
    error: live.error,
    events,
    duplicates,
    justAssigned,
    busy,
    actionError,
    start: live.start,
    reload: live.reload,
    startCapture: () => act(() => client.call('capture/start', {})),
    stopCapture: () => act(() => client.call('capture/stop', {})),
    undo: () => act(() => client.call('capture/undo', {})),
    /** The MACs in `order` take the questioned slot and the next ones; candidates left out are discarded. */
    resolve: (order: string[]) => act(() => client.call('capture/resolve', { order })),
    /** Swaps two nodes' MACs (either may have none, so this also moves a MAC into an empty slot). */
    swap: (a: string, b: string) => act(() => client.call('nodes/swap', { a, b })),
    dismissDuplicates: () => {
      events.value = events.value.filter((e) => e.kind !== 'duplicate')
    },
  }
})

function isStatus(v: unknown): v is CaptureStatus {
  return typeof v === 'object' && v !== null && 'active' in v && 'waiting' in v
}
