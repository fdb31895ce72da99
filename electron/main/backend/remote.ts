/**
 * The elevated boot stack as a backend: calls go over its loopback HTTP API (`POST /api/<channel>`, bearer
 * token), events come over its WebSocket. The token arrives through a pipe or a 0600 file, never argv
 * (elevated-stack.ts). The stack is our own process, but its answers still cross a process boundary, so they
 * are decoded, never trusted as typed.
 */
import WebSocket from 'ws'
import { z } from 'zod'
import { isChannel, type CallResult, type Channel, type Events } from '../../ipc/contract'
import { API_PREFIX, API_WS_PATH, failure } from '../../core/api/protocol'
import type { Logger } from '../../core/util/logger'
import { RackbootError, errorMessage } from '../../core/util/result'
import type { AnyEventListener, CoreBackend } from './backend'

export interface RemoteOptions {
  /** `http://127.0.0.1:PORT` of the stack's API. */
  origin: string
  token: string
  logger: Logger
  /** Called once when the event socket closes without close() (the stack died or stopped). */
  onLost(reason: string): void
}

const callResultSchema = z.union([
  z.object({ ok: z.literal(true), value: z.unknown() }),
  z.object({
    ok: z.literal(false),
    error: z.object({
      code: z.enum(['bad-request', 'not-found', 'conflict', 'internal', 'unauthorized']),
      message: z.string(),
      details: z.array(z.string()).optional(),
    }),
  }),
])

const eventFrameSchema = z.object({ event: z.string().min(1), payload: z.unknown() })

/** Opens the event socket (so a wrong token or a dead stack fails here, not on the first call). */
export async function connectRemote(o: RemoteOptions): Promise<CoreBackend> {
  const listeners = new Set<AnyEventListener>()
  const wsUrl = `${o.origin.replace(/^http/, 'ws')}${API_WS_PATH}?token=${encodeURIComponent(o.token)}`
  const ws = new WebSocket(wsUrl)
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('unexpected-response', (_req, res) =>
      reject(new RackbootError(`elevated boot stack at ${o.origin} refused the UI: HTTP ${res.statusCode}`)),
    )
    ws.once('error', (e) =>
      reject(new RackbootError(`cannot reach the elevated boot stack at ${o.origin}: ${errorMessage(e)}`)),
    )
  })
  let closed = false
  ws.on('error', (e) => o.logger.warn(`elevated stack event socket: ${errorMessage(e)}`))
  ws.on('close', (code) => {
    if (!closed) o.onLost(`the elevated boot stack closed its connection (WebSocket ${code})`)
  })
  ws.on('message', (data: WebSocket.RawData) => {
    let raw: unknown
    try {
      raw = JSON.parse(data.toString())
    } catch {
      return
    }
    const frame = eventFrameSchema.safeParse(raw)
    if (!frame.success) return
    // The stack serves the same contract build as this app (same executable), so names and payloads match.
    const name = frame.data.event as keyof Events
    for (const l of listeners) l(name, frame.data.payload as Events[typeof name])
  })

  async function dispatch(channel: unknown, payload: unknown): Promise<CallResult<Channel>> {
    // Only known names reach the URL: nothing a page sends can choose another path on the stack.
    if (!isChannel(channel)) return failure('not-found', `unknown channel '${String(channel).slice(0, 80)}'`)
    let res: Response
    try {
      res = await fetch(`${o.origin}${API_PREFIX}${channel}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${o.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(payload ?? {}),
      })
    } catch (e) {
      return failure('internal', `cannot reach the elevated boot stack at ${o.origin}: ${errorMessage(e)}`)
    }
    let body: unknown
    try {
      body = await res.json()
    } catch {
      return failure(
        'internal',
        `the elevated boot stack answered ${channel} with HTTP ${res.status}, not JSON`,
      )
    }
    const result = callResultSchema.safeParse(body)
    if (!result.success)
      return failure('internal', `the elevated boot stack answered ${channel} with something not a result`)
    return result.data as CallResult<Channel>
  }

  return {
    kind: 'elevated',
    dispatch,
    onAny(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    async close() {
      if (closed) return
      closed = true
      listeners.clear()
      ws.terminate()
    },
  }
}
