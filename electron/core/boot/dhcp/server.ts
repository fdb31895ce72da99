/**
 * The DHCP server's sockets: port 67 (and 4011 in proxy mode) bound to ONE interface, each datagram decoded,
 * handed to the engine, and its replies encoded to the client's size limit and sent where reply.ts says.
 * Malformed packets are dropped and counted; nothing a client sends can throw out of here.
 */
import type { Socket } from 'node:dgram'
import type { Logger } from '../../util/logger'
import { errorMessage } from '../../util/result'
import { decodePacket, encodePacket, DHCP_SERVER_PORT, PXE_PROXY_PORT } from './packet'
import type { DhcpEngine } from './engine'

export interface DhcpStats {
  received: number
  malformed: number
  ignored: number
  replies: number
  sendErrors: number
  overloaded: number
  handlerErrors: number
  lastIgnored: string | null
}

export interface DhcpServerOptions {
  engine: DhcpEngine
  mode: 'server' | 'proxy'
  /** Opens a UDP socket on a port, bound to the serving interface (net/bind.ts in production). */
  bindSocket(port: number): Promise<Socket>
  ports?: { server?: number; proxy?: number }
  logger: Logger
  /** Requests being handled at once (waiting on the lease journal); beyond it packets are dropped, counted. */
  maxInFlight?: number
}

export interface DhcpServer {
  ports: { server: number; proxy: number | null }
  stats(): DhcpStats
  close(): Promise<void>
}

export async function startDhcpServer(o: DhcpServerOptions): Promise<DhcpServer> {
  const stats: DhcpStats = {
    received: 0,
    malformed: 0,
    ignored: 0,
    replies: 0,
    sendErrors: 0,
    overloaded: 0,
    handlerErrors: 0,
    lastIgnored: null,
  }
  const maxInFlight = o.maxInFlight ?? 4096
  let inFlight = 0
  const sockets: Socket[] = []
  let closed = false
  const close = async () => {
    closed = true
    await Promise.allSettled(
      sockets.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    )
  }

  const handlerFailed = (e: unknown, rinfo: { address: string; port: number }) => {
    stats.handlerErrors++
    o.logger.error(`DHCP: handling a packet from ${rinfo.address}:${rinfo.port} failed: ${errorMessage(e)}`)
  }

  const serve = (socket: Socket, localPort: number) => {
    socket.on('error', (e) => o.logger.warn(`DHCP socket on port ${localPort}: ${errorMessage(e)}`))
    socket.on('message', (buf, rinfo) => {
      stats.received++
      const decoded = decodePacket(buf)
      if (!decoded.ok) {
        stats.malformed++
        return
      }
      if (inFlight >= maxInFlight) {
        stats.overloaded++
        return
      }
      inFlight++
      const request = decoded.value
      // One then(ok, fail) per packet rather than then/catch/finally: two promises fewer on the hot path.
      o.engine.handle(request, { localPort, from: { address: rinfo.address, port: rinfo.port } }).then(
        (outcome) => {
          inFlight--
          // Requests that were waiting on the journal when the server closed: their sockets are gone.
          if (closed) return
          if (outcome.kind === 'ignored') {
            stats.ignored++
            stats.lastIgnored = outcome.reason
            return
          }
          try {
            for (const r of outcome.replies) {
              const bytes = encodePacket(r.packet, { maxSize: request.options.maxMessageSize })
              socket.send(bytes, r.to.port, r.to.address, (e) => {
                if (e) {
                  stats.sendErrors++
                  o.logger.warn(`DHCP reply to ${r.to.address}:${r.to.port} failed: ${errorMessage(e)}`)
                } else stats.replies++
              })
            }
          } catch (e) {
            handlerFailed(e, rinfo)
          }
        },
        (e: unknown) => {
          inFlight--
          handlerFailed(e, rinfo)
        },
      )
    })
  }

  try {
    const serverPort = o.ports?.server ?? DHCP_SERVER_PORT
    const main = await o.bindSocket(serverPort)
    sockets.push(main)
    serve(main, serverPort)
    let proxyPort: number | null = null
    if (o.mode === 'proxy') {
      proxyPort = o.ports?.proxy ?? PXE_PROXY_PORT
      const proxy = await o.bindSocket(proxyPort)
      sockets.push(proxy)
      // The engine tells 4011 traffic by its local port: always pass the well-known one.
      serve(proxy, PXE_PROXY_PORT)
    }
    return { ports: { server: serverPort, proxy: proxyPort }, stats: () => ({ ...stats }), close }
  } catch (e) {
    await close()
    throw e
  }
}
