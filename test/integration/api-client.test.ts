/**
 * The renderer's WebSocket client (with the `ws` package standing in for the browser's WebSocket) against
 * the real headless API server: calls, errors, events from the core's bus, and a reconnect to a restarted
 * server that keeps the UI's listeners.
 */
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { type ApiServer, startApiServer } from '../../electron/core/api/server'
import { nodeSchema } from '../../electron/core/inventory/schema'
import type { Events } from '../../electron/ipc/contract'
import { EventBus } from '../../electron/core/util/bus'
import {
  ContractCallError,
  type ConnectionState,
  type WsClient,
  createWsClient,
} from '../../renderer/src/ipc/client'
import { fakeHandlers } from '../support/fake-handlers'

/** app/status never answers: the call a dropped connection must fail. */
const hangingHandlers = (hang: Promise<never>) => fakeHandlers({ 'app/status': () => hang })

const servers: ApiServer[] = []
const clients: WsClient[] = []
afterEach(async () => {
  for (const c of clients.splice(0)) c.close()
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

async function start(port = 0, token?: string) {
  const bus = new EventBus<Events>()
  const server = await startApiServer({
    host: '127.0.0.1',
    port,
    token,
    handlers: hangingHandlers(new Promise<never>(() => {})),
    bus,
    staticRoot: null,
  })
  servers.push(server)
  return { server, bus }
}

function connect(server: ApiServer): WsClient {
  const client = createWsClient({
    url: `ws://127.0.0.1:${server.port}/api/ws`,
    token: server.token,
    WebSocketImpl: WebSocket,
    backoff: { initialMs: 20, maxMs: 200 },
  })
  clients.push(client)
  return client
}

const reach = (client: WsClient, wanted: ConnectionState) =>
  new Promise<void>((resolve) => {
    if (client.state === wanted) return resolve()
    const stop = client.onState((s) => s === wanted && (stop(), resolve()))
  })

describe('WebSocket client against the server', () => {
  it('calls, gets ContractCallErrors, and hears bus events', async () => {
    const { server, bus } = await start()
    const client = connect(server)
    expect(await client.call('nodes/add', { name: 'n2', slot: 3 })).toMatchObject({
      name: 'n2',
      state: 'planned',
    })
    const err = await client
      .call('nodes/add', { name: 'no spaces please', slot: 99 })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ContractCallError)
    expect(err).toMatchObject({ code: 'bad-request', channel: 'nodes/add', transport: false })
    expect((err as ContractCallError).details).toHaveLength(2)
    const unknown = await client.call('nodes/fly' as 'nodes/list', {}).catch((e: unknown) => e)
    expect(unknown).toMatchObject({ code: 'not-found' })
    expect((unknown as Error).message).toContain('nodes/fly')

    const changes: string[][] = []
    const stop = client.on('nodes/changed', (p) => changes.push(p.nodes.map((n) => n.name)))
    bus.emit('nodes/changed', { nodes: [nodeSchema.parse({ name: 'n2' })] })
    // Replies and events share one ordered socket: once this call returns, the event has arrived.
    await client.call('nodes/list', {})
    expect(changes).toEqual([['n2']])
    stop()
    bus.emit('nodes/changed', { nodes: [] })
    await client.call('nodes/list', {})
    expect(changes).toEqual([['n2']])
  })

  it('fails a call in flight when the server goes away, then reconnects and keeps listeners', async () => {
    const first = await start()
    const client = connect(first.server)
    const lines: string[] = []
    client.on('log/line', (p) => lines.push(p.message))
    await reach(client, 'open')
    // Caught now: it rejects while close() is still running.
    const hanging = client.call('app/status', {}).catch((x: unknown) => x)
    // The call must have reached the server before it stops.
    await client.call('nodes/list', {})
    const port = first.server.port
    const token = first.server.token
    await first.server.close()
    expect(await hanging).toMatchObject({ transport: true })
    expect(first.bus.listenerCount()).toBe(0)

    const second = await start(port, token)
    await reach(client, 'open')
    second.bus.emit('log/line', { level: 'info', message: 'after restart', time: 't' })
    await client.call('nodes/list', {})
    expect(lines).toEqual(['after restart'])
  })
})
