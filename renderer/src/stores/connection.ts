/**
 * Whether the UI can reach the core. The WebSocket client (headless) reports its own state, reconnects
 * included; the Electron bridge has no connection to lose, so there the first answer means connected.
 * A ContractError (the core answered "no") never counts as a lost connection; a transport failure, or a
 * failure before anything ever answered, does.
 */
import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { ContractClient } from '../../../electron/ipc/contract'
import type { ConnectionState as TransportState } from '../ipc/client'
import { useClient } from './client'

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected'

interface ConnectionAware {
  readonly state: TransportState
  onState(listener: (state: TransportState) => void): () => void
}

function isConnectionAware(client: ContractClient): client is ContractClient & ConnectionAware {
  const c = client as Partial<ConnectionAware>
  return typeof c.onState === 'function' && typeof c.state === 'string'
}

const fromTransport: Record<TransportState, ConnectionState> = {
  connecting: 'connecting',
  open: 'connected',
  waiting: 'reconnecting',
  closed: 'disconnected',
}

export const useConnectionStore = defineStore('connection', () => {
  const client = useClient()
  const state = ref<ConnectionState>('connecting')
  const lastError = ref<string | null>(null)
  /** Bumped on every reconnection: events may have been missed, so live values reload. */
  const reconnects = ref(0)

  function set(next: ConnectionState): void {
    if (next === 'connected' && (state.value === 'reconnecting' || state.value === 'disconnected'))
      reconnects.value += 1
    state.value = next
  }

  /** Follows the transport's own state when it has one; returns a disposer. */
  function follow(): () => void {
    if (!isConnectionAware(client)) return () => {}
    state.value = fromTransport[client.state] ?? state.value
    return client.onState((s) => set(fromTransport[s] ?? state.value))
  }

  function report(outcome: { ok: true } | { ok: false; message: string; transport: boolean }): void {
    if (outcome.ok) {
      lastError.value = null
      if (!isConnectionAware(client)) set('connected')
      return
    }
    lastError.value = outcome.message
    if (!isConnectionAware(client) && (outcome.transport || state.value === 'connecting')) set('disconnected')
  }

  /** The UI now talks to another core (app/notice coreSwitched): reload every live value, as after a reconnect. */
  function reloadAll(): void {
    reconnects.value += 1
  }

  return { state, lastError, reconnects, follow, report, reloadAll }
})
