/**
 * How a one-shot command (`rackboot nodes …`) reaches the inventory: through the running `serve` on the
 * same data dir when there is one (it holds the store's lock), else by opening the store itself.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import WebSocket from 'ws'
import type { Channel, RequestOf, ResponseOf, CallResult, EventName, Events } from '../ipc/contract'
import { API_WS_PATH } from '../core/api/protocol'
import { Rackboot } from '../core/rackboot'
import { dispatch } from '../core/api/dispatch'
import { RackbootError } from '../core/util/result'
import type { Logger } from '../core/util/logger'
import { API_HANDLE_FILE } from './serve'

export interface ContractSession {
  call<C extends Channel>(channel: C, request: RequestOf<C>): Promise<ResponseOf<C>>
  /** Core events; only when the session was opened with `{ events: true }` (else nothing arrives). */
  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void
  close(): Promise<void>
  via: 'running-serve' | 'store'
}

type AnyListener = (payload: never) => void

/**
 * The running serve's events over its WebSocket. Best effort: a socket that fails only costs the events
 * (e.g. progress lines), never the calls, which go over HTTP.
 */
async function serveEvents(
  url: string,
  token: string,
): Promise<{ listeners: Map<string, Set<AnyListener>>; close(): void }> {
  const listeners = new Map<string, Set<AnyListener>>()
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}${API_WS_PATH}?token=${encodeURIComponent(token)}`)
  ws.on('error', () => {})
  ws.on('message', (data: WebSocket.RawData) => {
    let frame: unknown
    try {
      frame = JSON.parse(data.toString())
    } catch {
      return
    }
    if (typeof frame !== 'object' || frame === null || !('event' in frame) || typeof frame.event !== 'string')
      return
    const payload = (frame as { payload?: unknown }).payload
    for (const l of listeners.get(frame.event) ?? []) (l as (p: unknown) => void)(payload)
  })
  await new Promise<void>((resolve) => {
    ws.once('open', () => resolve())
    ws.once('error', () => resolve())
  })
  return { listeners, close: () => ws.terminate() }
}

const handleSchema = z.object({ url: z.string().url(), token: z.string().min(16), pid: z.number().int() })

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function unwrap<C extends Channel>(result: CallResult<C>): ResponseOf<C> {
  if (result.ok) return result.value
  const details = result.error.details?.length ? `: ${result.error.details.join('; ')}` : ''
  throw new RackbootError(`${result.error.message}${details}`, result.error.code)
}

export async function openSession(
  dataDir: string,
  logger: Logger,
  options: { events?: boolean } = {},
): Promise<ContractSession> {
  const handleText = await readFile(join(dataDir, API_HANDLE_FILE), 'utf8').catch(() => null)
  const handle = handleText ? handleSchema.safeParse(safeJson(handleText)) : null
  if (handle?.success && pidAlive(handle.data.pid)) {
    const { url, token } = handle.data
    const events = options.events ? await serveEvents(url, token) : null
    return {
      via: 'running-serve',
      on(event, listener) {
        const set = events?.listeners.get(event) ?? new Set<AnyListener>()
        events?.listeners.set(event, set)
        set.add(listener as AnyListener)
        return () => set.delete(listener as AnyListener)
      },
      async call(channel, request) {
        const res = await fetch(`${url}/api/${channel}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(request),
        }).catch((e: unknown) => {
          throw new RackbootError(
            `cannot reach the running rackboot (PID ${handle.data.pid}) at ${url}: ${String(e)}`,
          )
        })
        return unwrap((await res.json()) as CallResult<typeof channel>)
      },
      close: async () => events?.close(),
    }
  }
  const core = await Rackboot.open({ dataDir, logger })
  return {
    via: 'store',
    call: async (channel, request) => unwrap(await dispatch(core.handlers, channel, request)),
    on: (event, listener) => core.bus.on(event, listener),
    close: () => core.close(),
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}
