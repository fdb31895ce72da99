/**
 * The headless API over real loopback sockets: HTTP calls, WebSocket calls and events, the token, Host and
 * Origin guards, static confinement, and a close() that leaves nothing open.
 */
import { request as httpRequest } from 'node:http'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect as tcpConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { type ApiServer, startApiServer } from '../../electron/core/api/server'
import type { Events } from '../../electron/ipc/contract'
import { EventBus } from '../../electron/core/util/bus'
import { RackbootError } from '../../electron/core/util/result'
import { fakeHandlers, testStatus as status } from '../support/fake-handlers'

/** Removing a node the fake core does not have: the not-found path. */
const handlers = () =>
  fakeHandlers({
    'nodes/remove': async (req) => {
      throw new RackbootError(`no node '${req.name}'`, 'not-found')
    },
  })

interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** node:http, not fetch: fetch normalises `/../x` away before it reaches the server. */
function send(
  server: ApiServer,
  o: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: server.port,
        method: o.method ?? 'GET',
        path: o.path,
        headers: o.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        )
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(o.body)
  })
}

const post = (server: ApiServer, channel: string, body: unknown, headers: Record<string, string> = {}) =>
  send(server, {
    method: 'POST',
    path: `/api/${channel}`,
    headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })

/** Opens a WebSocket; resolves with the socket, or with the HTTP status that refused the upgrade. */
function openWs(
  url: string,
  options: WebSocket.ClientOptions = {},
): Promise<{ ws: WebSocket } | { status: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options)
    ws.once('open', () => resolve({ ws }))
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 })
      res.resume()
      ws.terminate()
    })
    ws.once('error', reject)
  })
}

async function openedWs(url: string, options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const r = await openWs(url, options)
  if (!('ws' in r)) throw new Error(`WebSocket refused with HTTP ${r.status}`)
  return r.ws
}

/** Reads frames in order; every wait is bounded by the test timeout. */
function frames(ws: WebSocket): () => Promise<Record<string, unknown>> {
  const queue: Record<string, unknown>[] = []
  const waiting: ((f: Record<string, unknown>) => void)[] = []
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data)) as Record<string, unknown>
    const w = waiting.shift()
    if (w) w(frame)
    else queue.push(frame)
  })
  return () => new Promise((resolve) => (queue.length > 0 ? resolve(queue.shift()!) : waiting.push(resolve)))
}

const closed = (ws: WebSocket) =>
  new Promise<number>((resolve) =>
    ws.readyState === WebSocket.CLOSED ? resolve(-1) : ws.once('close', (code) => resolve(code)),
  )

let base = ''
let root = ''
const servers: ApiServer[] = []
const sockets: WebSocket[] = []

async function start(
  extra: Partial<Parameters<typeof startApiServer>[0]> = {},
): Promise<{ server: ApiServer; bus: EventBus<Events> }> {
  const bus = new EventBus<Events>()
  const server = await startApiServer({
    host: '127.0.0.1',
    port: 0,
    handlers: handlers(),
    bus,
    staticRoot: root,
    ...extra,
  })
  servers.push(server)
  return { server, bus }
}
const wsUrl = (server: ApiServer, token = server.token) =>
  `ws://127.0.0.1:${server.port}/api/ws?token=${token}`

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'rackboot-api-server-'))
  root = join(base, 'www')
  await mkdir(join(root, 'assets'), { recursive: true })
  await writeFile(join(root, 'index.html'), '<!doctype html><title>rackboot ui</title>')
  await writeFile(join(root, 'assets', 'app.js'), 'export {}')
  await writeFile(join(base, 'package.json'), '{"name":"outside-the-root"}')
})
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate()
  await Promise.all(servers.splice(0).map((s) => s.close()))
})
afterAll(async () => {
  if (base) await rm(base, { recursive: true, force: true })
})

describe('startApiServer', () => {
  it('refuses a host that is not loopback, and a missing UI directory', async () => {
    for (const host of ['0.0.0.0', '198.18.0.1', '::', 'example.com'])
      await expect(
        startApiServer({
          host,
          port: 0,
          handlers: handlers(),
          bus: new EventBus<Events>(),
          staticRoot: null,
        }),
        host,
      ).rejects.toThrow(/not a loopback address/)
    await expect(start({ staticRoot: join(base, 'no-such-dir') })).rejects.toThrow(/cannot be served/)
  })

  it('hands out a URL with a fresh 64-hex-digit token', async () => {
    const { server } = await start()
    expect(server.token).toMatch(/^[0-9a-f]{64}$/)
    expect(server.origin).toBe(`http://127.0.0.1:${server.port}`)
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${server.token}`)
  })
})

describe('HTTP API', () => {
  it('answers a call with its CallResult', async () => {
    const { server } = await start()
    const r = await post(server, 'nodes/add', { name: 'n7' })
    expect(r.status).toBe(200)
    expect(r.headers['content-type']).toMatch(/^application\/json/)
    expect(JSON.parse(r.body)).toMatchObject({ ok: true, value: { name: 'n7', state: 'planned' } })
    const empty = await post(server, 'app/status', '')
    expect(JSON.parse(empty.body)).toEqual({ ok: true, value: status })
  })

  it('maps failures to statuses with the ContractError as body', async () => {
    const { server } = await start({ maxBodyBytes: 1000 })
    const invalid = await post(server, 'nodes/add', { name: 'bad name', slot: 0 })
    expect(invalid.status).toBe(400)
    const err = JSON.parse(invalid.body) as { ok: false; error: { code: string; details: string[] } }
    expect(err.error.code).toBe('bad-request')
    expect(err.error.details).toHaveLength(2)
    const unknown = await post(server, 'nodes/fly', {})
    expect(unknown.status).toBe(404)
    expect(unknown.body).toContain('nodes/fly')
    const missing = await post(server, 'nodes/remove', { name: 'n9' })
    expect(missing.status).toBe(404)
    expect(JSON.parse(missing.body)).toEqual({
      ok: false,
      error: { code: 'not-found', message: "no node 'n9'" },
    })
    const badJson = await post(server, 'nodes/list', '{"oops"')
    expect(badJson.status).toBe(400)
    expect(badJson.body).toContain('not JSON')
    const tooBig = await post(server, 'nodes/list', JSON.stringify({ pad: 'x'.repeat(5000) }))
    expect(tooBig.status).toBe(413)
    const wrongType = await post(server, 'nodes/list', '{}', { 'Content-Type': 'text/plain' })
    expect(wrongType.status).toBe(415)
    const get = await send(server, {
      path: '/api/nodes/list',
      headers: { Authorization: `Bearer ${server.token}` },
    })
    expect(get.status).toBe(405)
  })

  it('answers 401 without the token or with a wrong one', async () => {
    const { server } = await start()
    const tries: Record<string, string>[] = [
      {},
      { Authorization: `Bearer ${'0'.repeat(64)}` },
      { Authorization: `Basic ${server.token}` },
    ]
    for (const headers of tries) {
      const r = await send(server, {
        method: 'POST',
        path: '/api/nodes/list',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: '{}',
      })
      expect(r.status).toBe(401)
      expect(JSON.parse(r.body)).toMatchObject({ ok: false, error: { code: 'unauthorized' } })
    }
    // A token in the query string does not count for HTTP calls (it would end up in logs and history).
    const query = await send(server, {
      method: 'POST',
      path: `/api/nodes/list?token=${server.token}`,
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    })
    expect(query.status).toBe(401)
  })

  it('refuses a foreign Origin and a Host that is not this server, even with the token', async () => {
    const { server } = await start()
    const foreign = await post(server, 'nodes/list', {}, { Origin: 'http://evil.example' })
    expect(foreign.status).toBe(403)
    const own = await post(server, 'nodes/list', {}, { Origin: server.origin })
    expect(own.status).toBe(200)
    const rebound = await post(server, 'nodes/list', {}, { Host: `evil.example:${server.port}` })
    expect(rebound.status).toBe(421)
    const page = await send(server, { path: '/', headers: { Host: `evil.example:${server.port}` } })
    expect(page.status).toBe(421)
    expect(page.body).not.toContain('rackboot ui')
  })
})

describe('WebSocket API', () => {
  it('answers calls by id and pushes bus events', async () => {
    const { server, bus } = await start()
    const ws = await openedWs(wsUrl(server))
    sockets.push(ws)
    const next = frames(ws)
    ws.send(JSON.stringify({ id: 1, channel: 'nodes/list', payload: {} }))
    expect(await next()).toMatchObject({ id: 1, result: { ok: true, value: [{ name: 'n1' }] } })
    ws.send(JSON.stringify({ id: 'b', channel: 'nodes/add', payload: { name: '-bad-' } }))
    const bad = await next()
    expect(bad).toMatchObject({ id: 'b', result: { ok: false, error: { code: 'bad-request' } } })
    ws.send(JSON.stringify({ id: 2, channel: 'nodes/fly', payload: {} }))
    expect(await next()).toMatchObject({ id: 2, result: { ok: false, error: { code: 'not-found' } } })
    bus.emit('log/line', { level: 'info', message: 'hello', time: '2026-01-01T00:00:00Z' })
    expect(await next()).toEqual({
      event: 'log/line',
      payload: { level: 'info', message: 'hello', time: '2026-01-01T00:00:00Z' },
    })
  })

  it('survives malformed frames, answering or counting each', async () => {
    const { server } = await start({ maxFrameBytes: 4096 })
    const ws = await openedWs(wsUrl(server))
    sockets.push(ws)
    const next = frames(ws)
    const broken = [
      'not json',
      '[1,2]',
      'null',
      '{"channel":"nodes/list"}',
      '{"id":{"x":1},"channel":"nodes/list"}',
    ]
    for (const text of broken) ws.send(text)
    ws.send(Buffer.from([0xde, 0xad]), { binary: true })
    ws.send('{"id":9}')
    for (let i = 0; i < broken.length + 1; i++)
      expect(await next()).toMatchObject({ id: null, result: { ok: false, error: { code: 'bad-request' } } })
    expect(await next()).toMatchObject({ id: 9, result: { ok: false, error: { code: 'bad-request' } } })
    expect(server.stats().malformedFrames).toBe(broken.length + 2)
    ws.send(JSON.stringify({ id: 10, channel: 'app/status', payload: {} }))
    expect(await next()).toEqual({ id: 10, result: { ok: true, value: status } })

    // An oversized frame costs that client its connection (1009), not the server.
    const big = await openedWs(wsUrl(server))
    sockets.push(big)
    big.send(JSON.stringify({ id: 1, channel: 'nodes/list', payload: { pad: 'x'.repeat(8000) } }))
    expect(await closed(big)).toBe(1009)
    ws.send(JSON.stringify({ id: 11, channel: 'nodes/list', payload: {} }))
    expect(await next()).toMatchObject({ id: 11, result: { ok: true } })
  })

  it('refuses an upgrade without the token, with a wrong one, from a foreign Origin or for a foreign Host', async () => {
    const { server } = await start()
    expect(await openWs(`ws://127.0.0.1:${server.port}/api/ws`)).toEqual({ status: 401 })
    expect(await openWs(wsUrl(server, 'f'.repeat(64)))).toEqual({ status: 401 })
    expect(await openWs(wsUrl(server), { origin: 'http://evil.example' })).toEqual({ status: 403 })
    expect(await openWs(wsUrl(server), { headers: { Host: `evil.example:${server.port}` } })).toEqual({
      status: 421,
    })
    expect(await openWs(`ws://127.0.0.1:${server.port}/api/other?token=${server.token}`)).toEqual({
      status: 404,
    })
    // The same checks let the real UI in.
    const ok = await openWs(wsUrl(server), { origin: server.origin })
    expect('ws' in ok).toBe(true)
    if ('ws' in ok) sockets.push(ok.ws)
    const bearer = await openWs(`ws://127.0.0.1:${server.port}/api/ws`, {
      headers: { Authorization: `Bearer ${server.token}` },
    })
    expect('ws' in bearer).toBe(true)
    if ('ws' in bearer) sockets.push(bearer.ws)
    expect(server.stats().wsClients).toBe(2)
  })

  it('drops a client that stops answering pings', async () => {
    const { server } = await start({ keepaliveMs: 50 })
    const ws = await openedWs(wsUrl(server), { autoPong: false })
    sockets.push(ws)
    expect(await closed(ws)).toBe(1006)
    const live = await openedWs(wsUrl(server))
    sockets.push(live)
    const next = frames(live)
    // A client that does answer pings stays: several intervals pass while this round trip runs.
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => live.once('ping', r))
      live.send(JSON.stringify({ id: i, channel: 'nodes/list', payload: {} }))
      expect(await next()).toMatchObject({ id: i, result: { ok: true } })
    }
    expect(live.readyState).toBe(WebSocket.OPEN)
  })
})

describe('static files', () => {
  it('serves the UI with a strict CSP and no token, falling back to index.html for app routes', async () => {
    const { server } = await start()
    const index = await send(server, { path: '/?token=whatever' })
    expect(index.status).toBe(200)
    expect(index.body).toContain('rackboot ui')
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(index.headers['cache-control']).toBe('no-store')
    expect(index.headers['x-content-type-options']).toBe('nosniff')
    expect(index.headers['content-security-policy']).toContain(
      `connect-src 'self' ws://127.0.0.1:${server.port}`,
    )
    expect(index.headers['content-security-policy']).toContain("default-src 'self'")
    const route = await send(server, { path: '/racks/r1' })
    expect(route.status).toBe(200)
    expect(route.body).toContain('rackboot ui')
    const js = await send(server, { path: '/assets/app.js' })
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect(js.body).toBe('export {}')
    const head = await send(server, { method: 'HEAD', path: '/assets/app.js' })
    expect(head.status).toBe(200)
    expect(head.body).toBe('')
    expect((await send(server, { path: '/assets/gone.js' })).status).toBe(404)
    expect((await send(server, { method: 'POST', path: '/' })).status).toBe(405)
  })

  it('never serves a file outside the root', async () => {
    const { server } = await start()
    for (const path of [
      '/../package.json',
      '/%2e%2e/package.json',
      '/%2E%2E%2Fpackage.json',
      '/assets/..%2f..%2fpackage.json',
      '/%00',
      '/index.html%00',
    ]) {
      const r = await send(server, { path })
      expect(r.status, path).toBe(400)
      expect(r.body, path).not.toContain('outside-the-root')
    }
  })

  it('says so when no UI is served', async () => {
    const { server } = await start({ staticRoot: null })
    const r = await send(server, { path: '/' })
    expect(r.status).toBe(404)
    expect(r.body).toContain('headless API only')
  })
})

describe('close', () => {
  it('closes every socket and client, detaches from the bus, and is idempotent', async () => {
    const { server, bus } = await start()
    expect(bus.listenerCount()).toBe(1)
    const ws = await openedWs(wsUrl(server))
    sockets.push(ws)
    const wsClosed = closed(ws)
    // An idle keep-alive HTTP connection must not hold close() up either.
    const idle = tcpConnect(server.port, '127.0.0.1')
    await new Promise((r) => idle.once('connect', r))
    const idleClosed = new Promise((r) => idle.once('close', r))
    idle.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`)
    await new Promise((r) => idle.once('data', r))
    expect(server.stats().sockets).toBe(2)

    await Promise.all([server.close(), server.close()])
    expect(await wsClosed).toBe(1001)
    await idleClosed
    expect(server.stats()).toEqual({ sockets: 0, wsClients: 0, malformedFrames: 0 })
    expect(bus.listenerCount()).toBe(0)
    const refused = await new Promise<string>((resolve) => {
      const s = tcpConnect(server.port, '127.0.0.1')
      s.once('connect', () => (s.destroy(), resolve('connected')))
      s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'))
    })
    expect(refused).toBe('ECONNREFUSED')
    await server.close()
  })
})
