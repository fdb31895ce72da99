/**
 * What the window's IPC talks to: the core inside this process, or the elevated boot stack over its
 * authenticated loopback API. Both answer the same contract, so the IPC layer never knows which one it has.
 */
import type { CallResult, Channel, Events } from '../../ipc/contract'

export type AnyEventListener = <K extends keyof Events>(name: K, payload: Events[K]) => void

export interface CoreBackend {
  readonly kind: 'in-process' | 'elevated'
  /** Never throws: every failure is a ContractError, like dispatch(). */
  dispatch(channel: unknown, payload: unknown): Promise<CallResult<Channel>>
  onAny(listener: AnyEventListener): () => void
  /** Releases everything (in-process: sockets, store and its data dir lock); idempotent. */
  close(): Promise<void>
}
