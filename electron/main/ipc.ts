/**
 * The one IPC entry point: every contract call arrives on IPC_INVOKE, is checked for its sender, and goes to
 * the same dispatch() the headless API uses. Every core event goes out on IPC_EVENT. Pure of Electron at
 * runtime (types only), so tests drive it with fakes.
 */
import type { IpcMain } from 'electron'
import {
  IPC_EVENT,
  IPC_INVOKE,
  type CallResult,
  type Channel,
  type Events,
  type Handlers,
} from '../ipc/contract'
import type { EventBus } from '../core/util/bus'
import type { Logger } from '../core/util/logger'
import { decodeInvokeEnvelope, type EventEnvelope } from '../preload/envelope'
import type { SenderLike } from './security/sender'

export type Dispatch = (
  handlers: Handlers,
  channel: unknown,
  payload: unknown,
) => Promise<CallResult<Channel>>

export interface InvokeHandlerDeps {
  /** Whichever core is current (core-host.ts): the in-process one or the elevated stack. */
  dispatch(channel: unknown, payload: unknown): Promise<CallResult<Channel>>
  isTrustedSender(event: SenderLike): boolean
  logger: Logger
}

export type InvokeHandler = (event: SenderLike, raw: unknown) => Promise<CallResult<Channel>>

export function createInvokeHandler(deps: InvokeHandlerDeps): InvokeHandler {
  return async (event, raw) => {
    if (!deps.isTrustedSender(event)) {
      const from = event.senderFrame?.url ?? 'a destroyed frame'
      deps.logger.warn(`IPC call refused from ${from}: only the Rackboot window may call the core`)
      return {
        ok: false,
        error: { code: 'unauthorized', message: `IPC call refused: ${from} is not the Rackboot UI` },
      }
    }
    const envelope = decodeInvokeEnvelope(raw)
    if (!envelope)
      return {
        ok: false,
        error: { code: 'bad-request', message: 'IPC call malformed: expected { channel, payload }' },
      }
    return deps.dispatch(envelope.channel, envelope.payload)
  }
}

/** Registers the invoke handler; the returned function removes it. */
export function registerInvokeHandler(
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>,
  handler: InvokeHandler,
): () => void {
  ipcMain.handle(IPC_INVOKE, (event, raw: unknown) => handler(event, raw))
  return () => ipcMain.removeHandler(IPC_INVOKE)
}

/** Forwards every bus event to one window; `send` is skipped once the window is gone. */
export function forwardEvents(
  bus: Pick<EventBus<Events>, 'onAny'>,
  target: { isDestroyed(): boolean; send(channel: string, message: EventEnvelope): void },
): () => void {
  return bus.onAny((event, payload) => {
    if (target.isDestroyed()) return
    target.send(IPC_EVENT, { event, payload } as EventEnvelope)
  })
}
