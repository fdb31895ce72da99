/**
 * The lab's UI bridge on loopback (no namespace needed to check the plumbing): a request to the host side
 * reaches the server behind the socket side with its Host header untouched, a WebSocket-style upgrade stream
 * flows both ways, close() cuts open connections and removes the socket, and a too-long socket path is refused.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createServer, type Server } from 'node:http'
import { connect } from 'node:net'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, listenSocketToTcp, listenTcpToSocket } from '../../electron/core/lab/ui-bridge'

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function backend(): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => res.end(`host=${req.headers.host} path=${req.url}`))
  server.on('upgrade', (_req, socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n')
    socket.on('data', (d) => socket.write(`echo:${d.toString()}`))
    // http.Server sockets are half-open by default: end ours when the bridge ends its side.
    socket.on('end', () => socket.end())
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  cleanups.push(
    () =>
      new Promise((r) => {
        server.close(r)
        server.closeAllConnections()
      }),
  )
  const a = server.address()
  return { server, port: a && typeof a === 'object' ? a.port : 0 }
}

describe('lab UI bridge', () => {
  it('forwards HTTP and an upgraded stream from host:port through the socket, then closes cleanly', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rb-uibr-'))
    cleanups.push(() => rm(dir, { recursive: true, force: true }))
    const { server, port } = await backend()
    const sock = join(dir, 'ui.sock')
    const inside = await listenSocketToTcp(sock, '127.0.0.1', port)
    const hostPort = await freePort()
    const host = await listenTcpToSocket('127.0.0.1', hostPort, sock)
    cleanups.push(
      () => host.close(),
      () => inside.close(),
    )

    const res = await fetch(`http://127.0.0.1:${hostPort}/api/x?token=t`)
    expect(await res.text()).toBe(`host=127.0.0.1:${hostPort} path=/api/x?token=t`)

    const c = connect(hostPort, '127.0.0.1')
    const got: string[] = []
    c.on('data', (d) => got.push(d.toString()))
    c.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n')
    for (let i = 0; i < 200 && !got.join('').includes('101'); i++) await new Promise((r) => setTimeout(r, 10))
    c.write('ping')
    for (let i = 0; i < 200 && !got.join('').includes('echo:ping'); i++)
      await new Promise((r) => setTimeout(r, 10))
    expect(got.join('')).toContain('echo:ping')

    const closed = new Promise<void>((r) => c.on('close', () => r()))
    await host.close()
    await inside.close()
    await closed
    expect(existsSync(sock)).toBe(false)
    await expect(fetch(`http://127.0.0.1:${hostPort}/`)).rejects.toThrow()
    expect(server.listening).toBe(true)
  })

  it('refuses a socket path longer than a Unix socket holds, saying what to do', async () => {
    await expect(listenSocketToTcp(`/tmp/${'x'.repeat(120)}/ui.sock`, '127.0.0.1', 1)).rejects.toThrow(
      /longer than 107 bytes.*/,
    )
  })
})
