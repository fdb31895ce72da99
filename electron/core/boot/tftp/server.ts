/**
 * The TFTP server: one socket on the well-known port takes requests; each accepted read request gets its
 * own session socket (RFC 1350 §4). Read-only: write requests are refused.
 */
import dgram from 'node:dgram'
import { isIPv6 } from 'node:net'
import type { Logger } from '../../util/logger'
import { silentLogger } from '../../util/logger'
import { errorMessage } from '../../util/result'
import type { FileProvider, TftpPeer } from './files'
import { DEFAULT_MAX_BLKSIZE, MAX_WINDOWSIZE } from './options'
import { decodeTftp, encodeTftp, TFTP_ERROR } from './packet'
import { startTftpSession, type TftpEvent, type TftpOutcome } from './session'
import { startSessionPool, type SessionPool } from './session-pool'

export type { TftpEvent } from './session'

export interface TftpServerOptions {
  host: string
  /** 69 in production (needs CAP_NET_BIND_SERVICE); 0 picks a free port. */
  port: number
  provider: FileProvider
  logger?: Logger
  /** Largest blksize granted (RFC 2348); default 1468 fits a 1500-byte MTU. */
  maxBlksize?: number
  /** Largest windowsize granted (RFC 7440); default and upper bound 64. */
  maxWindowsize?: number
  /** Transfers at once, counting ones still opening their file; beyond it: ERROR 0 'server busy'. Default 64. */
  maxTransfers?: number
  /** Retransmission timeout; a client's shorter RFC 2349 timeout wins. Default 1000 ms. */
  timeoutMs?: number
  /** Retransmissions in a row before a transfer fails. Default 5. */
  retries?: number
  /** Binds a UDP socket on `port` (0 = ephemeral); lets the caller bind to an interface. */
  bindSocket?: (port: number) => Promise<dgram.Socket>
  onEvent?: (e: TftpEvent) => void
  now?: () => number
  /**
   * Worker threads that run transfers (session-pool.ts), so they use more than one core; 0 runs them on this
   * thread. Default 2, or 0 when `bindSocket` or `now` is given (both are this thread's: a worker binds its
   * own session sockets on `host` and uses the real clock). Falls back to 0 when the worker cannot start.
   */
  workers?: number
  /**
   * How session threads run transfers: 'epoll' (default where it loads: Linux, 64-bit, koffi) or 'dgram' (Node's
   * loop, as on Windows and macOS). Tests use 'dgram' to keep the portable path tested on Linux.
   */
  sessionLoop?: 'epoll' | 'dgram'
}

export interface TftpStats {
  /** Datagrams on the request port. */
  received: number
  /** Datagrams that did not decode, on the request port or from a session's client. */
  malformed: number
  /** Requests answered with an ERROR: write, busy, bad mode, not found, access violation. */
  refused: number
  /** Well-formed datagrams with no meaning on the request port (DATA, ACK, ERROR, OACK). */
  ignored: number
  /** Datagrams sent to a session port from another address or port (answered with ERROR 5). */
  unknownTid: number
  transfers: { active: number; done: number; failed: number; aborted: number }
}

export interface TftpServer {
  address: { host: string; port: number }
  /** Worker threads running transfers; 0 when they run on the main thread. */
  sessionThreads: number
  stats(): TftpStats
  /** Closes the request socket and every session socket, ends transfers, clears timers. */
  close(): Promise<void>
}

function defaultBinder(host: string): (port: number) => Promise<dgram.Socket> {
  return (port) =>
    new Promise((resolve, reject) => {
      const family = isIPv6(host) ? 6 : 4
      // Replies only ever go to the IP literal a datagram came from: skip dgram's per-send DNS lookup and
      // its deferred callback (measured 10-20% of server CPU per block).
      const socket = dgram.createSocket({
        type: family === 6 ? 'udp6' : 'udp4',
        lookup: (address, _options, callback) => callback(null, address, family),
      })
      socket.once('error', reject)
      socket.bind(port, host, () => {
        socket.off('error', reject)
        resolve(socket)
      })
    })
}

export async function startTftpServer(options: TftpServerOptions): Promise<TftpServer> {
  const logger = options.logger ?? silentLogger
  const bind = options.bindSocket ?? defaultBinder(options.host)
  const maxTransfers = options.maxTransfers ?? 64
  const limits = {
    maxBlksize: options.maxBlksize ?? DEFAULT_MAX_BLKSIZE,
    maxWindowsize: Math.min(options.maxWindowsize ?? MAX_WINDOWSIZE, MAX_WINDOWSIZE),
    timeoutMs: options.timeoutMs ?? 1000,
    retries: options.retries ?? 5,
  }
  const stats: TftpStats = {
    received: 0,
    malformed: 0,
    refused: 0,
    ignored: 0,
    unknownTid: 0,
    transfers: { active: 0, done: 0, failed: 0, aborted: 0 },
  }
  /** Slots taken, including requests still binding a socket or opening a file. */
  let slots = 0
  let closing = false
  /** Running transfers, in-process or in a worker: close() aborts each. */
  const sessions = new Set<{ abort(reason: string): unknown; outcome: Promise<unknown> }>()
  /** Sockets bound for a request whose session has not started yet, so close() can reach them. */
  const pendingSockets = new Set<dgram.Socket>()
  /** Every request being served, so close() can wait until each has released its socket and file. */
  const inflight = new Set<Promise<void>>()

  const threads = options.workers ?? (options.bindSocket || options.now ? 0 : 2)
  // Threads first: once the request port is bound, a request must find them ready.
  const pool: SessionPool | null =
    threads > 0
      ? await startSessionPool({
          threads,
          epoll: options.sessionLoop !== 'dgram',
          logger,
          onMalformed: () => stats.malformed++,
          onStranger: () => stats.unknownTid++,
        })
      : null
  if (pool) logger.info(`TFTP: transfers run in ${pool.threads} worker threads`)
  else if (threads > 0) logger.warn('TFTP: session threads unavailable; transfers run on the main thread')

  let main: dgram.Socket
  try {
    main = await bind(options.port)
  } catch (e) {
    await pool?.close('TFTP request port not bound')
    throw new Error(
      `TFTP: cannot bind ${options.host}:${options.port}: ${errorMessage(e)}` +
        (options.port < 1024 ? ' (ports below 1024 need root or CAP_NET_BIND_SERVICE)' : ''),
      { cause: e },
    )
  }
  const bound = main.address()
  const address = { host: bound.address, port: bound.port }

  const reply = (socket: dgram.Socket, to: TftpPeer, code: number, message: string): Promise<void> =>
    new Promise((resolve) =>
      socket.send(encodeTftp({ op: 'error', code, message }), to.port, to.address, () => resolve()),
    )

  const closeSocket = (socket: dgram.Socket): Promise<void> =>
    new Promise((resolve) => {
      try {
        socket.close(() => resolve())
      } catch {
        resolve()
      }
    })

  /** The same request flow as serveRead, with the session in a worker thread (which binds its socket). */
  async function serveReadPooled(
    workers: SessionPool,
    peer: TftpPeer,
    filename: string,
    mode: 'octet' | 'netascii',
    opts: Record<string, string>,
  ) {
    const opened = await options.provider.open(filename, peer).catch((e: unknown) => ({
      ok: false as const,
      error: { code: TFTP_ERROR.notDefined, message: `cannot open '${filename}': ${errorMessage(e)}` },
    }))
    if (closing) {
      if (opened.ok) await opened.value.close().catch(() => {})
      return
    }
    if (!opened.ok) {
      // Refusals go out from a fresh socket on this thread, as serveRead does: error paths stay identical.
      return serveRead(peer, filename, mode, opts, opened)
    }
    const file = opened.value
    stats.transfers.active++
    let outcome: TftpOutcome | { kind: 'unbound'; error: string }
    try {
      const session = workers.run({
        host: options.host,
        peer,
        filename,
        mode,
        options: opts,
        file,
        limits,
        ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      })
      const handle = { abort: (reason: string) => session.abort(reason), outcome: session.outcome }
      sessions.add(handle)
      outcome = await session.outcome
      sessions.delete(handle)
    } finally {
      stats.transfers.active--
      await file.close().catch(() => {})
    }
    if (outcome.kind === 'unbound') {
      if (closing) return
      logger.error(
        `TFTP RRQ from ${peer.address}:${peer.port}: cannot bind a transfer socket: ${outcome.error}`,
      )
      stats.refused++
      await reply(main, peer, TFTP_ERROR.notDefined, 'server cannot open a transfer socket')
      return
    }
    stats.transfers[outcome.kind]++
  }

  async function serveRead(
    peer: TftpPeer,
    filename: string,
    mode: 'octet' | 'netascii',
    opts: Record<string, string>,
    refusal?: { ok: false; error: { code: number; message: string } },
  ) {
    const who = `TFTP RRQ from ${peer.address}:${peer.port}`
    let socket: dgram.Socket
    try {
      socket = await bind(0)
    } catch (e) {
      logger.error(`${who}: cannot bind a transfer socket: ${errorMessage(e)}`)
      stats.refused++
      await reply(main, peer, TFTP_ERROR.notDefined, 'server cannot open a transfer socket')
      return
    }
    if (closing) return closeSocket(socket)
    pendingSockets.add(socket)
    socket.on('error', () => {}) // until the session takes over; a send error must not crash the process
    const opened =
      refusal ??
      (await options.provider.open(filename, peer).catch((e: unknown) => ({
        ok: false as const,
        error: { code: TFTP_ERROR.notDefined, message: `cannot open '${filename}': ${errorMessage(e)}` },
      })))
    pendingSockets.delete(socket)
    if (closing) {
      if (opened.ok) await opened.value.close().catch(() => {})
      return closeSocket(socket)
    }
    if (!opened.ok) {
      stats.refused++
      logger.warn(`${who}: ${opened.error.message}`)
      options.onEvent?.({
        kind: 'failed',
        client: `${peer.address}:${peer.port}`,
        file: filename,
        bytes: 0,
        total: null,
        error: opened.error.message,
      })
      // Sent from the new TID, like every other answer to this request.
      await reply(socket, peer, opened.error.code, opened.error.message)
      return closeSocket(socket)
    }
    stats.transfers.active++
    const session = startTftpSession({
      socket,
      peer,
      filename,
      mode,
      options: opts,
      file: opened.value,
      limits,
      logger,
      ...(options.now ? { now: options.now } : {}),
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      onMalformed: () => stats.malformed++,
      onStranger: () => stats.unknownTid++,
    })
    sessions.add(session)
    const outcome = await session.outcome
    sessions.delete(session)
    stats.transfers.active--
    stats.transfers[outcome.kind]++
  }

  main.on('error', (e) => logger.error(`TFTP request socket ${address.host}:${address.port}: ${e.message}`))
  main.on('message', (msg, rinfo) => {
    if (closing) return
    stats.received++
    const peer = { address: rinfo.address, port: rinfo.port }
    const decoded = decodeTftp(msg)
    if (!decoded.ok) {
      stats.malformed++
      return
    }
    const p = decoded.value
    if (p.op !== 'rrq' && p.op !== 'wrq') {
      stats.ignored++
      return
    }
    const refuse = (code: number, message: string) => {
      stats.refused++
      logger.warn(
        `TFTP ${p.op.toUpperCase()} from ${peer.address}:${peer.port} for '${p.filename}': ${message}`,
      )
      void reply(main, peer, code, message)
    }
    if (p.op === 'wrq') return refuse(TFTP_ERROR.accessViolation, 'write requests are not accepted')
    if (p.mode !== 'octet' && p.mode !== 'netascii') {
      return refuse(TFTP_ERROR.illegalOperation, `transfer mode '${p.mode}' is not supported (use octet)`)
    }
    if (slots >= maxTransfers) return refuse(TFTP_ERROR.notDefined, 'server busy')
    slots++
    const served = (
      pool?.handles(p.mode, options.host)
        ? serveReadPooled(pool, peer, p.filename, p.mode, p.options)
        : serveRead(peer, p.filename, p.mode, p.options)
    )
      .catch((e: unknown) => logger.error(`TFTP RRQ from ${peer.address}:${peer.port}: ${errorMessage(e)}`))
      .finally(() => {
        slots--
        inflight.delete(served)
      })
    inflight.add(served)
  })

  return {
    address,
    sessionThreads: pool?.threads ?? 0,
    stats: () => ({ ...stats, transfers: { ...stats.transfers } }),
    async close() {
      if (closing) return
      closing = true
      await Promise.all([
        closeSocket(main),
        ...[...sessions].map((s) => s.abort('server closing')),
        ...[...pendingSockets].map(closeSocket),
      ])
      await pool?.close('server closing')
      await Promise.all([...inflight])
    },
  }
}
