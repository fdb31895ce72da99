/**
 * The lab's UI seen from the host. The lab's serve listens for its UI and API on 127.0.0.1 *inside* the lab's
 * server namespace, out of a host browser's reach. A Unix socket crosses network namespaces (it is a file):
 * the serve also accepts on `<lab dir>/ui.sock` and forwards to its own 127.0.0.1:port, and a small process in
 * the host's namespace (`rackboot lab ui-bridge`) listens on the host's 127.0.0.1 on the SAME port and forwards
 * to that socket. Same address and port on both sides, so the Host and Origin checks of the API hold and the
 * serve's own UI URL (with its token) works unchanged on the host. Bytes are piped untouched (WebSocket too).
 */
import { type Server, type Socket, createConnection, createServer } from 'node:net'
import { chmod, rm } from 'node:fs/promises'
import { RackbootError } from '../util/result'

export interface Forwarder {
  /** Where it listens: a socket path or host:port. */
  readonly listening: string
  /** Stops listening and cuts every open connection. */
  close(): Promise<void>
}

/** Linux sun_path holds 108 bytes with the NUL. */
const MAX_SOCKET_PATH = 107

function forward(server: Server, connect: () => Socket, open: Set<Socket>): void {
  server.on('connection', (c) => {
    const u = connect()
    open.add(c).add(u)
    c.pipe(u).pipe(c)
    c.on('error', () => u.destroy())
    u.on('error', () => c.destroy())
    c.on('close', () => {
      open.delete(c)
      u.end()
    })
    u.on('close', () => {
      open.delete(u)
      c.end()
    })
  })
}

function closer(server: Server, open: Set<Socket>, after?: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | null = null
  return () =>
    (closing ??= new Promise<void>((resolve) => {
      for (const s of open) s.destroy()
      server.close(() => resolve())
    }).then(() => after?.()))
}

/** The serve's side (inside the namespace): accepts on `socket` (mode 0600), connects to host:port. */
export async function listenSocketToTcp(socket: string, host: string, port: number): Promise<Forwarder> {
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH)
    throw new RackbootError(
      `UI socket path '${socket}' is longer than ${MAX_SOCKET_PATH} bytes (a Unix socket limit)`,
      'bad-request',
      'use a shorter --data-dir',
    )
  // A socket left by a serve that crashed would refuse the bind; it is ours (the lab dir) to replace.
  await rm(socket, { force: true })
  const open = new Set<Socket>()
  const server = createServer()
  forward(server, () => createConnection(port, host), open)
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) =>
      reject(new RackbootError(`cannot listen on the UI socket ${socket}: ${e.message}`, 'lab-ui')),
    )
    server.listen(socket, () => resolve())
  })
  await chmod(socket, 0o600)
  return {
    listening: socket,
    close: closer(server, open, () => rm(socket, { force: true })),
  }
}

/** The host's side: accepts on host:port (loopback), connects to `socket`. */
export async function listenTcpToSocket(host: string, port: number, socket: string): Promise<Forwarder> {
  const open = new Set<Socket>()
  const server = createServer()
  forward(server, () => createConnection(socket), open)
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new RackbootError(
          `the lab's UI bridge cannot listen on ${host}:${port}: ${e.code ?? e.message}`,
          'lab-ui',
          'another program holds that port; run `rackboot lab down` and `lab up --ui` again (it picks a free one)',
        ),
      ),
    )
    server.listen(port, host, () => resolve())
  })
  return { listening: `${host}:${port}`, close: closer(server, open) }
}

/** A TCP port free on the host's `host` right now (the lab's serve then takes the same number inside). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, host, () => {
      const a = s.address()
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))))
    })
  })
}
