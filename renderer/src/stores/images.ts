/**
 * The images: `images/list` once, then again after every store change (recording or forgetting an image is a
 * store write, and every store write emits `nodes/changed`). `images/progress` events are kept per image name
 * while an import runs, for the progress bar. Actions return the core's message instead of throwing, so the
 * step shows it next to the button pressed.
 */
import { defineStore } from 'pinia'
import { computed, ref, watch } from 'vue'
import type { Image } from '../../../electron/core/inventory/schema'
import type { ImageProgressEvent, RequestOf } from '../../../electron/ipc/contract'
import { useClient } from './client'
import { useConnectionStore } from './connection'
import { createLive } from './live'

export const useImagesStore = defineStore('images', () => {
  const client = useClient()
  const connection = useConnectionStore()
  const progress = ref<Record<string, ImageProgressEvent>>({})
  const load = () => client.call('images/list', {})
  const live = createLive<Image[]>({
    load,
    subscribe: (apply) => {
      const offNodes = client.on('nodes/changed', () => {
        load().then(apply, () => {
          // A failed reload keeps the last list; the next change or reconnect tries again.
        })
      })
      const offProgress = client.on('images/progress', (p) => {
        progress.value = { ...progress.value, [p.name]: p }
      })
      return () => {
        offNodes()
        offProgress()
      }
    },
    onResult: connection.report,
  })
  watch(
    () => connection.reconnects,
    () => void live.refresh(),
  )

  /** Names of imports this UI started and that have not answered yet. */
  const importing = ref<string[]>([])

  async function attempt(run: () => Promise<unknown>): Promise<string | null> {
    try {
      await run()
      return null
    } catch (e) {
      return e instanceof Error ? e.message : String(e)
    }
  }

  async function importImage(request: RequestOf<'images/import'>): Promise<string | null> {
    importing.value = [...importing.value, request.name]
    const { [request.name]: _old, ...rest } = progress.value
    progress.value = rest
    try {
      return await attempt(async () => {
        await client.call('images/import', request)
        await live.reload()
      })
    } finally {
      importing.value = importing.value.filter((n) => n !== request.name)
    }
  }

  return {
    images: computed<Image[]>(() => live.value.value ?? []),
    loaded: computed(() => live.value.value !== null),
    error: live.error,
    progress,
    importing,
    start: live.start,
    reload: live.reload,
    importImage,
    /** Removes an image, or cancels its import while it runs (the core tells which). */
    remove: (name: string) =>
      attempt(async () => {
        await client.call('images/remove', { name })
        await live.reload()
      }),
    setBoot: (request: RequestOf<'nodes/set-boot'>) => attempt(() => client.call('nodes/set-boot', request)),
  }
})
