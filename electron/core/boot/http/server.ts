/**
 * The HTTP provisioning server (node:http): iPXE scripts, kernels, images, overlays, /status and two static
 * roots (dispatch.ts has the routes). It owns its sockets; close() ends every connection, transfers included.
 * HTTP/1.1 keep-alive is on (iPXE fetches script, kernel and initrds over one connection); header size is
 * Node's default limit (16 KiB, 431 beyond), a request must arrive within requestTimeoutMs, and a socket that
 * sits idle (a client that stopped reading) is closed after idleTimeoutMs.
 */
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { availableParallelism } from 'node:os'
import { silentLogger } from '../../util/logger'
import { RackbootError, errorMessage } from '../../util/result'
import { dispatch } from './dispatch'
import { startSendfilePool } from './sendfile-pool'
import { replyText } from './reply'
import { baseUrlFromHost } from './request'
import type { RouteContext } from './routes/context'
import type { HttpBootEvent, ProvisioningServer, ProvisioningServerOptions, ProvisioningStats } from './types'

export type {
  Artifact,
  ArtifactKind,
  BootNodeView,
  HttpBootEvent,
  HttpRoute,
  ProvisioningResolver,
  ProvisioningServer,
  ProvisioningServerOptions,
  ProvisioningStats,
} from './types'

/** Refuses options that would end up as broken iPXE scripts; a mistake here is the caller's, so it throws. */
function checkOptions(o: ProvisioningServerOptions): void {
  const bad = (what: string, hint: string) => {
    throw new RackbootError(`HTTP provisioning server: ${what}`, 'http-options', hint)
  }
  if (o.baseUrl !== undefined && !/^https?:\/\/[^\s/$]+(\/[^\s$]*)?$/.test(o.baseUrl))
    bad(
      `baseUrl '${o.baseUrl}' is not an http(s) URL`,
      'use the address nodes reach, e.g. http://198.18.0.1:9873',
    )
  const counts = { waitSeconds: o.waitSeconds, retries: o.retries, retryDelaySeconds: o.retryDelaySeconds }
  for (const [name, v] of Object.entries(counts))
    if (v !== undefined && !(Number.isInteger(v) && v >= 0 && v <= 3600))
      bad(`${name} ${v} is not a whole number from 0 to 3600`, 'iPXE sleeps and counts in whole numbers')
}

export async function startProvisioningServer(o: ProvisioningServerOptions): Promise<ProvisioningServer> {
  checkOptions(o)
  const logger = o.logger ?? silentLogger
  const requestTimeout = o.requestTimeoutMs ?? 30_000
  const stats: ProvisioningStats = {
    requests: 0,
    statuses: {},
    bytesSent: 0,
    activeTransfers: 0,
    openConnections: 0,
    connectionsAccepted: 0,
    sendfileBodies: 0,
  }
  const sockets = new Set<Socket>()
  let url = ''

  const emit = (e: HttpBootEvent) => {
    if (e.done) {
      stats.bytesSent += e.bytes
      const who = e.mac ? ` for ${e.mac}${e.node ? ` (${e.node})` : ''}` : ''
      const line = `HTTP ${e.route}${who}: ${e.status}, ${e.bytes} of ${e.total ?? 0} bytes`
      if (e.aborted) logger.warn(`${line}, client went away`)
      else if (e.mac) logger.info(line)
    }
    try {
      o.onEvent?.(e)
    } catch (err) {
      logger.warn(`HTTP event listener failed: ${errorMessage(err)}`)
    }
  }
  const idleTimeoutMs = o.idleTimeoutMs ?? 120_000
  const progressIntervalMs = o.progressIntervalMs ?? 250
  // Two threads where there are two cores: on a veth or a fast NIC the kernel's send work runs on the
  // sending thread's CPU, and one thread stopped at ~0.7x nginx (2 workers) for 8 and 32 clients (bench:http).
  const threads = o.sendfileThreads ?? Math.min(2, availableParallelism())
  const offload =
    threads > 0 ? startSendfilePool({ workers: threads, progressIntervalMs, idleTimeoutMs }) : null
  const fixedBase = o.baseUrl?.replace(/\/+$/, '')
  const ctx: RouteContext = {
    resolver: o.resolver,
    logger,
    emit,
    baseUrlFor: (req) => fixedBase ?? baseUrlFromHost(req.headers.host) ?? url,
    waitSeconds: o.waitSeconds ?? 10,
    retries: o.retries ?? 5,
    retryDelaySeconds: o.retryDelaySeconds ?? 3,
    progressIntervalMs,
    now: o.now ?? Date.now,
    offload,
  }
  const roots = { bootRoot: o.bootRoot, filesRoot: o.filesRoot }

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    stats.requests++
    stats.activeTransfers++
    res.on('close', () => {
      stats.activeTransfers--
      stats.statuses[res.statusCode] = (stats.statuses[res.statusCode] ?? 0) + 1
    })
    dispatch(ctx, roots, req, res).catch((e: unknown) => {
      logger.error(`HTTP ${req.method} ${req.url}: ${errorMessage(e)}`)
      replyText(res, 500, `internal error: ${errorMessage(e)}`)
    })
  }

  const server = createServer(
    {
      requestTimeout,
      headersTimeout: requestTimeout,
      // How often Node looks for requests past their timeout (default 30 s would double a short timeout).
      connectionsCheckingInterval: Math.min(5_000, requestTimeout),
      // TCP keepalive (HTTP keep-alive is on by default): notices a node power-cycled mid-transfer.
      keepAlive: true,
    },
    onRequest,
  )
  server.keepAliveTimeout = 15_000
  server.setTimeout(idleTimeoutMs) // no 'timeout' listener: Node destroys the idle socket
  server.on('connection', (s: Socket) => {
    sockets.add(s)
    stats.connectionsAccepted++
    s.on('close', () => sockets.delete(s))
  })
  server.on('clientError', (e: NodeJS.ErrnoException, socket) => {
    if (e.code === 'ECONNRESET' || !socket.writable) return socket.destroy()
    const status =
      e.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : e.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? '408 Request Timeout'
          : '400 Bad Request'
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
  })

  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) =>
      reject(
        new RackbootError(
          `HTTP provisioning server cannot listen on ${o.host}:${o.port}: ${e.code ?? e.message}`,
          'http-listen',
          e.code === 'EADDRINUSE'
            ? 'another program uses the port; pick another HTTP port in the settings'
            : undefined,
        ),
      )
    server.once('error', onError)
    server.listen(o.port, o.host, () => {
      server.off('error', onError)
      resolve()
    })
  })
  server.on('error', (e) => logger.error(`HTTP provisioning server: ${errorMessage(e)}`))
  // The sendfile threads load now, not on a node's kernel (which would stream meanwhile): bounded, and a
  // pool that cannot start leaves bodies streaming as before.
  if (offload && !(await offload.warm(10_000)))
    logger.warn('HTTP: the sendfile threads did not start within 10 s; large files stream until they do')
  const bound = server.address() as AddressInfo
  const address = { host: bound.address, port: bound.port }
  url = `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`
  logger.info(`HTTP provisioning server listening on ${url}`)

  let closing: Promise<void> | null = null
  return {
    address,
    url,
    stats: () => ({
      ...stats,
      statuses: { ...stats.statuses },
      openConnections: sockets.size,
      sendfileBodies: offload?.started() ?? 0,
    }),
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
        // Each socket's own 'close' (after our bookkeeping listener), not only the server's count of them.
        const gone = [...sockets].map((s) => new Promise<void>((resolve) => s.once('close', () => resolve())))
        server.closeAllConnections()
        for (const s of sockets) s.destroy()
        await Promise.all([stopped, ...gone])
        await offload?.close()
        logger.info(`HTTP provisioning server on ${url} closed`)
      })()
      return closing
    },
  }
}
