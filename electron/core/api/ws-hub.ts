/**
 * The WebSocket side of the headless API: calls in (`{ id, channel, payload }` → `{ id, result }`), every
 * core event out (`{ event, payload }`), keepalive pings, and a bounded, crash-proof reading of what clients
 * send. Authentication happens before a socket gets here (server.ts).
 */
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { type RawData, type WebSocket, WebSocketServer } from 'ws'
import type { Events, Handlers } from '../../ipc/contract'
import type { EventBus } from '../util/bus'
import type { Logger } from '../util/logger'
import { dispatch } from './dispatch'
import { type FrameId, decodeCallFrame, encodeReply, failure } from './protocol'

export interface WsHubOptions {
  handlers: Handlers
  bus: EventBus<Events>
  logger: Logger
  /** Largest frame a client may send; ws closes the connection with 1009 beyond it. */
  maxFrameBytes: number
  /** A client that misses a whole interval of pings is dropped. */
  keepaliveMs: number
  /** A client that lets this much pile up unread is dropped rather than holding the server's memory. */
  maxBufferedBytes: number
  /** Calls one client may have running at once. */
  maxInFlight: number
}

export interface WsHub {
  accept(req: IncomingMessage, socket: Duplex, head: Buffer): void
  clientCount(): number
  /** Frames refused because they were not a well-formed call (binary, not JSON, no id…). */
  malformedFrames(): number
  close(): Promise<void>
}

/** How long close() lets clients answer the close handshake before cutting them off. */
const CLOSE_GRACE_MS = 500

export function createWsHub(o: WsHubOptions): WsHub {
  const wss = new WebSocketServer({ noServer: true, maxPayload: o.maxFrameBytes, perMessageDeflate: false })
  const alive = new WeakSet<WebSocket>()
  let malformed = 0
  let closing: Promise<void> | null = null

  const send = (ws: WebSocket, text: string): void => {
    if (ws.readyState !== ws.OPEN) return
    if (ws.bufferedAmount > o.maxBufferedBytes) {
      o.logger.warn(
        `api: dropping a WebSocket client that stopped reading (${ws.bufferedAmount} bytes queued)`,
      )
      ws.terminate()
      return
    }
    ws.send(text)
  }

  const disposeBus = o.bus.onAny((event, payload) => {
    if (wss.clients.size === 0) return
    let text: string
    try {
      text = JSON.stringify({ event, payload })
    } catch (e) {
      o.logger.error(
        `api: event ${String(event)} could not be encoded: ${e instanceof Error ? e.message : String(e)}`,
      )
      return
    }
    for (const ws of wss.clients) send(ws, text)
  })

  const keepalive = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.has(ws)) {
        ws.terminate()
        continue
      }
      alive.delete(ws)
      ws.ping()
    }
  }, o.keepaliveMs)
  keepalive.unref()

  const refuse = (ws: WebSocket, id: FrameId | null, message: string): void => {
    malformed++
    send(ws, encodeReply(id, failure('bad-request', message)))
  }

  const onConnection = (ws: WebSocket): void => {
    alive.add(ws)
    let inFlight = 0
    ws.on('pong', () => alive.add(ws))
    // ws reports protocol violations (oversized frame, bad UTF-8) here and closes the socket itself; without
    // a listener the error would crash the process.
    ws.on('error', (e) => o.logger.warn(`api: WebSocket client error: ${e.message}`))
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) return refuse(ws, null, 'binary frames are not accepted; send JSON text frames')
      const frame = decodeCallFrame(rawText(data))
      if (!frame.ok) return refuse(ws, frame.error.id, frame.error.message)
      const { id, channel, payload } = frame.value
      if (inFlight >= o.maxInFlight)
        return send(
          ws,
          encodeReply(
            id,
            failure('bad-request', `more than ${o.maxInFlight} calls in flight; wait for replies`),
          ),
        )
      inFlight++
      void dispatch(o.handlers, channel, payload, o.logger).then((result) => {
        inFlight--
        send(ws, encodeReply(id, result))
      })
    })
  }

  return {
    accept(req, socket, head) {
      if (closing) {
        socket.destroy()
        return
      }
      wss.handleUpgrade(req, socket, head, onConnection)
    },
    clientCount: () => wss.clients.size,
    malformedFrames: () => malformed,
    close() {
      closing ??= (async () => {
        disposeBus()
        clearInterval(keepalive)
        const clients = [...wss.clients]
        const closed = clients.map((ws) => new Promise<void>((resolve) => ws.once('close', () => resolve())))
        for (const ws of clients) ws.close(1001, 'server shutting down')
        let grace: NodeJS.Timeout | undefined
        await Promise.race([
          Promise.all(closed),
          new Promise<void>((resolve) => (grace = setTimeout(resolve, CLOSE_GRACE_MS))),
        ])
        clearTimeout(grace)
        for (const ws of wss.clients) ws.terminate()
        await Promise.all(closed)
        await new Promise<void>((resolve) => wss.close(() => resolve()))
      })()
      return closing
    },
  }
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8')
  return data.toString('utf8')
}
