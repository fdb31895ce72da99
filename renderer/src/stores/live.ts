/**
 * A value the core owns, mirrored in the UI: load it once over the contract, then follow its change event.
 * The subscription starts before the load, and an event that arrives while the load is in flight wins over
 * the load's (older) answer. Reference-counted: the first user starts it, the last one's disposer stops it.
 */
import { ref, shallowRef, type Ref } from 'vue'
import { sharedSubscription } from './shared-subscription'

export interface LiveSource<T> {
  load(): Promise<T>
  subscribe(apply: (value: T) => void): () => void
  /** Told about every success and failure, e.g. to track the connection. */
  onResult?(outcome: { ok: true } | { ok: false; message: string; transport: boolean }): void
}

export interface Live<T> {
  value: Ref<T | null>
  error: Ref<string | null>
  loading: Ref<boolean>
  /** Starts following (once for all users); returns this user's disposer. */
  start(): () => void
  reload(): Promise<void>
  /** Reloads only while someone follows the value (after a reconnect, say). */
  refresh(): Promise<void>
}

export function createLive<T>(source: LiveSource<T>): Live<T> {
  const value = shallowRef<T | null>(null) as Ref<T | null>
  const error = ref<string | null>(null)
  const loading = ref(false)
  // Bumped by every event; a load only applies its answer if no event came after it was sent.
  let generation = 0

  const apply = (next: T) => {
    generation += 1
    value.value = next
    error.value = null
    source.onResult?.({ ok: true })
  }

  async function reload(): Promise<void> {
    const sentAt = generation
    loading.value = true
    try {
      const loaded = await source.load()
      if (generation === sentAt) {
        value.value = loaded
        error.value = null
      }
      source.onResult?.({ ok: true })
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e)
      error.value = message
      source.onResult?.({ ok: false, message, transport: isTransportFailure(e) })
    } finally {
      loading.value = false
    }
  }

  // The subscription starts before the first load, so no change falls between the two.
  const following = sharedSubscription(() => {
    const unsubscribe = source.subscribe(apply)
    void reload()
    return unsubscribe
  })
  const start = following.start

  const refresh = () => (following.active() ? reload() : Promise.resolve())

  return { value, error, loading, start, reload, refresh }
}

/** The WebSocket client marks a lost connection with `transport: true` (ContractCallError). */
function isTransportFailure(e: unknown): boolean {
  return typeof e === 'object' && e !== null && 'transport' in e && e.transport === true
}
