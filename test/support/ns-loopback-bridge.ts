/**
 * Reaches a loopback port inside a test namespace from the root namespace: `rackboot serve` in `<prefix>-srv`
 * listens for its UI on that namespace's 127.0.0.1, and the browser under test runs in the root namespace.
 * A helper inside the namespace accepts on a Unix socket (file-system sockets cross network namespaces) and
 * connects to its 127.0.0.1:port; the root side listens on the root's 127.0.0.1 on the SAME port number, so the
 * Host and Origin headers the server checks name the address it listens on.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import type { NetnsPair } from './netns'

// Runs in the namespace: `node -e SCRIPT <socket path> <port>`; prints `ready` once listening.
const INSIDE = `
const net = require('node:net')
const [sock, port] = process.argv.slice(1)
net.createServer((c) => {
  const u = net.connect(Number(port), '127.0.0.1')
  c.pipe(u).pipe(c)
  c.on('error', () => u.destroy())
  u.on('error', () => c.destroy())
}).listen(sock, () => console.log('ready'))
`

/** A free TCP port on the root namespace's 127.0.0.1 (used for both ends). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))))
    })
  })
}

export interface LoopbackBridge {
  close(): Promise<void>
}

/** Forwards root 127.0.0.1:port to 127.0.0.1:port inside `net`'s server namespace, through `dir`/bridge.sock. */
export async function bridgeLoopbackPort(net: NetnsPair, port: number, dir: string): Promise<LoopbackBridge> {
  const sock = join(dir, `bridge-${port}.sock`)
  const inside = net.spawn('srv', process.execPath, ['-e', INSIDE, sock, String(port)])
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('namespace side of the bridge not ready in 10 s')),
      10_000,
    )
    inside.once('exit', (code) => reject(new Error(`namespace side of the bridge exited with ${code}`)))
    createInterface({ input: inside.stdout! }).on('line', (l) => {
      if (l !== 'ready') return
      clearTimeout(timer)
      resolve()
    })
  })
  const open = new Set<Socket>()
  const server: Server = createServer((c) => {
    const u = createConnection(sock)
    open.add(c).add(u)
    c.pipe(u).pipe(c)
    c.on('error', () => u.destroy())
    u.on('error', () => c.destroy())
    c.on('close', () => open.delete(c))
    u.on('close', () => open.delete(u))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy()
        inside.kill('SIGKILL')
        server.close(() => resolve())
      }),
  }
}
