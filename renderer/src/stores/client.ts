/**
 * The contract client is provided to the app once (main.ts) and injected by the stores, so component tests
 * mount with a fake client and never touch window.rackboot or a WebSocket.
 */
import { inject, type InjectionKey } from 'vue'
import type { ContractClient } from '../../../electron/ipc/contract'

export const clientKey: InjectionKey<ContractClient> = Symbol('rackboot contract client')

export function useClient(): ContractClient {
  const client = inject(clientKey, null)
  if (!client)
    throw new Error('No contract client provided: call app.provide(clientKey, client) before mounting')
  return client
}
