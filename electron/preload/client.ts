/**
 * The ContractClient the preload exposes, written against a small slice of ipcRenderer so it can be tested
 * without Electron. Listeners never see the IpcRendererEvent: it carries `sender`, which is ipcRenderer.
 */
import type {
  CallResult,
  Channel,
  ContractClient,
  EventName,
  Events,
  RequestOf,
  ResponseOf,
} from '../ipc/contract'
import { decodeEventEnvelope, type InvokeEnvelope } from './envelope'
import { IPC_EVENT, IPC_INVOKE } from './ipc-names'

export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown
}

export function createIpcClient(ipc: IpcRendererLike): ContractClient {
  return {
    async call<C extends Channel>(channel: C, request: RequestOf<C>): Promise<ResponseOf<C>> {
      const envelope: InvokeEnvelope = { channel, payload: request }
      const result = (await ipc.invoke(IPC_INVOKE, envelope)) as CallResult<C> | undefined
      if (!result || typeof result !== 'object')
        throw new Error(`${channel}: no answer from the Rackboot core`)
      if (result.ok) return result.value
      const details = result.error.details?.length ? `\n${result.error.details.join('\n')}` : ''
      throw new Error(`${result.error.message}${details}`)
    },
    on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void {
      const relay = (_event: unknown, raw: unknown) => {
        const envelope = decodeEventEnvelope(raw)
        if (envelope && envelope.event === event) listener(envelope.payload as Events[E])
      }
      ipc.on(IPC_EVENT, relay)
      return () => {
        ipc.removeListener(IPC_EVENT, relay)
      }
    },
  }
}
