/**
 * The contract over the headless API's WebSocket: calls correlated by id, core events to listeners, and a
 * reconnect with backoff after a drop. Browser code with no Node imports; the WebSocket class comes in as
 * an option so Node tests can pass the `ws` package's.
 */
import type {
  Channel,
  ContractClient,
  ContractError,
  EventName,
  Events,
  RequestOf,
  ResponseOf,
} from '../../../electron/ipc/contract'
import type { FrameId } from '../../../electron/core/api/protocol'

/** What this client needs of a WebSocket; the browser's and the `ws` package's both fit. */
export interface WebSocketLike {
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void
  addEventListener(type: 'open' | 'close' | 'error', listener: () => void): void
}
export type WebSocketConstructor = new (url: string) => WebSocketLike

export type ConnectionState = 'connecting' | 'open' | 'waiting' | 'closed'

export interface Timers {
  set(callback: () => void, ms: number): unknown
  clear(handle: unknown): void
}

export interface WsClientOptions {
  /** e.g. `ws://127.0.0.1:9000/api/ws`; the token is added as `?token=`. */
  url: string
  token: string
  WebSocketImpl: WebSocketConstructor
  /** Delay before the first reconnect, doubled per failure up to maxMs. */
  backoff?: { initialMs: number; maxMs: number }
  timers?: Timers
  /** A throwing event listener is reported here and does not stop the others. */
  onListenerError?: (error: unknown) => void
}

export interface WsClient extends ContractClient {
  readonly state: ConnectionState
  /** Called on every change of connection state (for a "reconnecting…" banner); returns a disposer. */
  onState(listener: (state: ConnectionState) => void): () => void
  /** Stops for good: pending calls fail, no reconnect. */
  close(): void
}

/** A call that failed: `error` is the ContractError the core sent, or one describing a lost connection. */
export class ContractCallError extends Error {
  readonly code: ContractError['code']
  readonly details: string[]
  constructor(
    readonly channel: Channel | null,
    readonly error: ContractError,
    /** True when the transport failed, not the core: the call may or may not have run. */
    readonly transport = false,
  ) {
    super(error.message)
    this.name = 'ContractCallError'
    this.code = error.code
    this.details = error.details ?? []
  }
}

const OPEN = 1

interface Pending {
  channel: Channel
  text: string
  sent: boolean
  resolve(value: unknown): void
  reject(error: ContractCallError): void
}

const defaultTimers: Timers = {
  set: (callback, ms) => setTimeout(callback, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

export function createWsClient(options: WsClientOptions): WsClient {
  const { initialMs, maxMs } = options.backoff ?? { initialMs: 250, maxMs: 10_000 }
  const timers = options.timers ?? defaultTimers
  const reportListenerError =
    options.onListenerError ?? ((e: unknown) => console.error('rackboot: event listener failed', e))
  const target = new URL(options.url)
  target.searchParams.set('token', options.token)

  const pending = new Map<FrameId, Pending>()
  const listeners = new Map<EventName, Set<(payload: never) => void>>()
  const stateListeners = new Set<(state: ConnectionState) => void>()
  let state: ConnectionState = 'connecting'
  let socket: WebSocketLike | null = null
  let retryTimer: unknown = null
  let failures = 0
  let nextId = 1

  const setState = (next: ConnectionState): void => {
    if (next === state) return
    state = next
    for (const l of stateListeners) l(next)
  }

  const failAll = (message: string): void => {
    for (const [id, p] of pending) {
      pending.delete(id)
      p.reject(
        new ContractCallError(p.channel, { code: 'internal', message: `${p.channel}: ${message}` }, true),
      )
    }
  }

  const onFrame = (data: unknown): void => {
    if (typeof data !== 'string') return
    let frame: unknown
    try {
      frame = JSON.parse(data)
    } catch {
      return
    }
    if (typeof frame !== 'object' || frame === null) return
    const f = frame as Record<string, unknown>
    if ('result' in f) {
      const p = pending.get(f.id as FrameId)
      if (!p) return
      pending.delete(f.id as FrameId)
      const result = f.result as { ok?: unknown; value?: unknown; error?: unknown } | null
      if (typeof result === 'object' && result !== null && result.ok === true) p.resolve(result.value)
      else p.reject(new ContractCallError(p.channel, asContractError(result?.error)))
    } else if (typeof f.event === 'string') {
      for (const l of listeners.get(f.event as EventName) ?? []) {
        try {
          ;(l as (payload: unknown) => void)(f.payload)
        } catch (e) {
          reportListenerError(e)
        }
      }
    }
  }

  const connect = (): void => {
    retryTimer = null
    setState('connecting')
    const ws = new options.WebSocketImpl(target.toString())
    socket = ws
    let opened = false
    ws.addEventListener('open', () => {
      if (socket !== ws) return
      opened = true
      failures = 0
      setState('open')
      for (const p of pending.values()) {
        if (p.sent) continue
        p.sent = true
        ws.send(p.text)
      }
    })
    ws.addEventListener('message', (event) => {
      if (socket === ws) onFrame(event.data)
    })
    // 'error' is always followed by 'close'; the close does the work.
    ws.addEventListener('error', () => {})
    ws.addEventListener('close', () => {
      if (socket !== ws) return
      socket = null
      failAll(
        opened
          ? 'the connection to the Rackboot API dropped before the answer came; the call may or may not have run'
          : 'could not connect to the Rackboot API (is it running, and is the token current?)',
      )
      if (state === 'closed') return
      setState('waiting')
      const delay = Math.min(maxMs, initialMs * 2 ** Math.min(failures, 20))
      failures++
      retryTimer = timers.set(connect, delay)
    })
  }

  const client: WsClient = {
    get state() {
      return state
    },
    call<C extends Channel>(channel: C, request: RequestOf<C>): Promise<ResponseOf<C>> {
      if (state === 'closed')
        return Promise.reject(
          new ContractCallError(
            channel,
            { code: 'internal', message: `${channel}: the API client is closed` },
            true,
          ),
        )
      return new Promise<ResponseOf<C>>((resolve, reject) => {
        const id = nextId++
        const text = JSON.stringify({ id, channel, payload: request })
        const p: Pending = {
          channel,
          text,
          sent: false,
          resolve: resolve as (value: unknown) => void,
          reject,
        }
        pending.set(id, p)
        if (socket && socket.readyState === OPEN) {
          p.sent = true
          socket.send(text)
        }
      })
    },
    on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void {
      let set = listeners.get(event)
      if (!set) listeners.set(event, (set = new Set()))
      const l = listener as (payload: never) => void
      set.add(l)
      return () => {
        set.delete(l)
      }
    },
    onState(listener) {
      stateListeners.add(listener)
      return () => {
        stateListeners.delete(listener)
      }
    },
    close() {
      if (state === 'closed') return
      setState('closed')
      if (retryTimer !== null) timers.clear(retryTimer)
      retryTimer = null
      const ws = socket
      socket = null
      failAll('the API client was closed before the answer came')
      ws?.close(1000, 'client closed')
    },
  }
  connect()
  return client
}

function asContractError(e: unknown): ContractError {
  const codes: ReadonlyArray<ContractError['code']> = [
    'bad-request',
    'not-found',
    'conflict',
    'internal',
    'unauthorized',
  ]
  if (typeof e === 'object' && e !== null) {
    const o = e as Record<string, unknown>
    const code = codes.find((c) => c === o.code) ?? 'internal'
    const message = typeof o.message === 'string' ? o.message : 'the API reported an error without a message'
    const details = Array.isArray(o.details)
      ? o.details.filter((d): d is string => typeof d === 'string')
      : undefined
    return details ? { code, message, details } : { code, message }
  }
  return { code: 'internal', message: 'the API sent a malformed error' }
}
