/**
 * What travels over Electron IPC between the preload and main. One invoke channel carries every contract
 * call; one event channel carries every core event. Main answers with a CallResult (never a rejection), so
 * the ContractError's message reaches the UI intact instead of Electron's "Error invoking remote method …".
 */
import type { Channel, EventName, Events } from '../ipc/contract'

export interface InvokeEnvelope {
  channel: Channel
  payload: unknown
}

export type EventEnvelope = { [E in EventName]: { event: E; payload: Events[E] } }[EventName]

/** A call as main receives it: still untrusted, the dispatcher validates channel and payload. */
export function decodeInvokeEnvelope(raw: unknown): { channel: unknown; payload: unknown } | null {
  if (typeof raw !== 'object' || raw === null || !('channel' in raw)) return null
  return { channel: raw.channel, payload: 'payload' in raw ? raw.payload : undefined }
}

/** An event as the preload receives it; anything malformed is dropped. */
export function decodeEventEnvelope(raw: unknown): { event: string; payload: unknown } | null {
  if (typeof raw !== 'object' || raw === null || !('event' in raw) || typeof raw.event !== 'string')
    return null
  return { event: raw.event, payload: 'payload' in raw ? raw.payload : undefined }
}
