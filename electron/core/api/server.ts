/**
 * The headless API: the same contract the Electron preload exposes, served on loopback over HTTP
 * (`POST /api/<domain>/<verb>`) and WebSocket (`/api/ws`, calls + events), plus the built renderer as static
 * files. Every /api request needs the per-run token; every request must name this server in its Host header
 * and, when a browser sends one, come from this server's Origin.
 */
import { realpath } from 'node:fs/promises'
import { type IncomingMessage, type Server, type ServerResponse, STATUS_CODES, createServer } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Events, Handlers } from '../../ipc/contract'
import type { EventBus } from '../util/bus'
import { type Logger, silentLogger } from '../util/logger'
import { RackbootError, errorMessage } from '../util/result'
import {
  bearerToken,
  checkHostAndOrigin,
  isLoopbackHost,
  loopbackGuard,
  newToken,
  tokenMatches,
  urlHost,
} from './auth'
import { handleApiCall, sendResult } from './http-api'
import { API_PREFIX, API_WS_PATH, failure } from './protocol'
import { BASE_HEADERS, contentSecurityPolicy } from './headers'
import { staticSite } from './static'
import { createWsHub } from './ws-hub'

export interface ApiServerOptions {
  /** Must be loopback (127.0.0.0/8, ::1, localhost): the token is the only other lock. */
  host: string
  /** 0 = any free port. */
  port: number
  /** Default: 32 random bytes, hex. */
  token?: string
  handlers: Handlers
  bus: EventBus<Events>
  /** Directory of the built renderer; null = API only. */
  staticRoot: string | null
  logger?: Logger
  /** Limits and keepalive; the defaults suit a UI on the same machine. */
  maxBodyBytes?: number
  maxFrameBytes?: number
  keepaliveMs?: number
}

export interface ApiStats {
  /** Open TCP connections (HTTP keep-alive and WebSocket). */
  sockets: number
  wsClients: number
  malformedFrames: number
}

export interface ApiServer {
  /** What to open in a browser: `http://127.0.0.1:PORT/?token=…`. */
  url: string
  origin: string
  token: string
  port: number
  stats(): ApiStats
  /** Closes every socket and WebSocket client; idempotent. */
  close(): Promise<void>
}

const MIN_TOKEN_LENGTH = 16

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const logger = options.logger ?? silentLogger
  if (!isLoopbackHost(options.host))
    throw new RackbootError(
      `API host '${options.host}' is not a loopback address`,
      'bad-request',
      'the API gives full control of the appliance, so it listens only on 127.0.0.1, ::1 or localhost; use an SSH tunnel to reach it from elsewhere',
    )
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)
    throw new RackbootError(
      `API port ${options.port} is not a TCP port`,
      'bad-request',
      'use 0..65535 (0 = any free port)',
    )
  const token = options.token ?? newToken()
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token))
    throw new RackbootError(
      `API token is too weak`,
      'bad-request',
      `use at least ${MIN_TOKEN_LENGTH} characters and no spaces`,
    )
  const root = options.staticRoot === null ? null : await realRoot(options.staticRoot)

  const server = createServer()
  const sockets = new Set<Socket>()
  server.on('connection', (s: Socket) => {
    sockets.add(s)
    s.once('close', () => sockets.delete(s))
  })
  await listen(server, options.host, options.port)
  const address = server.address() as AddressInfo
  const port = address.port
  const guard = loopbackGuard([options.host, address.address], port)
  const origin = `http://${urlHost(options.host)}:${port}`
  const csp = contentSecurityPolicy([...guard.hosts].map((h) => `ws://${h}`))
  const site = root === null ? null : staticSite(root, csp, logger)
  const hub = createWsHub({
    handlers: options.handlers,
    bus: options.bus,
    logger,
    maxFrameBytes: options.maxFrameBytes ?? 1024 * 1024,
    keepaliveMs: options.keepaliveMs ?? 30_000,
    maxBufferedBytes: 16 * 1024 * 1024,
    maxInFlight: 64,
  })
  const api = { token, handlers: options.handlers, maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024, logger }

  server.on('request', (req, res) => {
    const rawPath = pathOf(req)
    const isApi = rawPath === '/api' || rawPath.startsWith(API_PREFIX)
    const verdict = checkHostAndOrigin(guard, req.headers.host, req.headers.origin)
    const route = async (): Promise<void> => {
      if (!verdict.ok) {
        if (isApi) return sendResult(res, failure('unauthorized', verdict.message), verdict.status)
        return sendText(res, verdict.status, verdict.message)
      }
      if (rawPath === API_WS_PATH)
        return sendText(res, 426, 'this is a WebSocket endpoint', { Upgrade: 'websocket' })
      if (isApi) return handleApiCall(req, res, rawPath, api)
      if (site === null)
        return sendText(res, 404, 'no UI is served here (headless API only); use POST /api/<domain>/<verb>')
      return site.serve(req, res, rawPath)
    }
    route().catch((e: unknown) => {
      logger.error(
        `api: ${req.method} ${rawPath} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
      )
      if (!res.headersSent) sendText(res, 500, 'internal error; the server log has the details')
      else res.destroy()
    })
  })

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy())
    const rawPath = pathOf(req)
    if (rawPath !== API_WS_PATH)
      return rejectUpgrade(socket, 404, `no WebSocket endpoint at ${rawPath}; use ${API_WS_PATH}`)
    const verdict = checkHostAndOrigin(guard, req.headers.host, req.headers.origin)
    if (!verdict.ok) return rejectUpgrade(socket, verdict.status, verdict.message)
    // Browsers cannot set headers on a WebSocket, hence the query parameter; other clients may use either.
    const presented = queryToken(req) ?? bearerToken(req.headers.authorization)
    if (!tokenMatches(token, presented))
      return rejectUpgrade(socket, 401, 'missing or wrong API token (?token=…)')
    hub.accept(req, socket, head)
  })

  let closing: Promise<void> | null = null
  return {
    url: `${origin}/?token=${encodeURIComponent(token)}`,
    origin,
    token,
    port,
    stats: () => ({
      sockets: sockets.size,
      wsClients: hub.clientCount(),
      malformedFrames: hub.malformedFrames(),
    }),
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
        await hub.close()
        // Idle keep-alive and upgraded sockets would otherwise hold server.close() open.
        await Promise.all(
          [...sockets].map(
            (s) => new Promise<void>((resolve) => (s.once('close', () => resolve()), s.destroy())),
          ),
        )
        await stopped
      })()
      return closing
    },
  }
}

async function realRoot(dir: string): Promise<string> {
  try {
    return await realpath(dir)
  } catch (e) {
    throw new RackbootError(
      `UI directory ${dir} cannot be served: ${errorMessage(e)}`,
      'not-found',
      'build the renderer first (npm run build:renderer) or start the API without a UI',
    )
  }
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) =>
      reject(
        new RackbootError(
          `API cannot listen on ${urlHost(host)}:${port}: ${e.code ?? e.message}`,
          'conflict',
          e.code === 'EADDRINUSE' ? 'another program uses that port; pick another or use 0' : undefined,
        ),
      )
    server.once('error', onError)
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError)
      resolve()
    })
  })
}

/** The path as sent (still percent-encoded): static.ts checks it before anything decodes `..` away. */
function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/'
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}

function queryToken(req: IncomingMessage): string | null {
  const url = req.url ?? ''
  const q = url.indexOf('?')
  return q === -1 ? null : new URLSearchParams(url.slice(q + 1)).get('token')
}

function sendText(
  res: ServerResponse,
  status: number,
  message: string,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...BASE_HEADERS,
    ...extra,
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': 'no-store',
  })
  res.end(`${message}\n`)
}

function rejectUpgrade(socket: Duplex, status: number, message: string): void {
  const body = `${message}\n`
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  )
}
