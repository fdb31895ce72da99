/**
 * The renderer's API client against a scripted WebSocket and fake timers: correlation, errors, reconnect
 * with backoff, listeners across reconnects, and the token's trip from the URL into sessionStorage.
 */
import { describe, expect, it } from 'vitest'
import {
  type BrowserEnv,
  ContractCallError,
  type Timers,
  createClient,
  createWsClient,
} from '../../renderer/src/ipc/client'
import type { ContractClient } from '../../electron/ipc/contract'

type Listener = (event: { data: unknown }) => void

/** A WebSocket whose every move the test makes. */
class ScriptedSocket {
  static made: ScriptedSocket[] = []
  readyState = 0
  sent: string[] = []
  closedWith: number | undefined
  private readonly listeners = new Map<string, Listener[]>()
  constructor(readonly url: string) {
    ScriptedSocket.made.push(this)
  }
  addEventListener(type: string, listener: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener])
  }
  send(data: string): void {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open')
    this.sent.push(data)
  }
  close(code?: number): void {
    this.closedWith = code
    this.readyState = 3
  }
  fire(type: string, data?: unknown): void {
    if (type === 'open') this.readyState = 1
    if (type === 'close') this.readyState = 3
    for (const l of this.listeners.get(type) ?? []) l({ data })
  }
  lastCall(): { id: number; channel: string; payload: unknown } {
    return JSON.parse(this.sent[this.sent.length - 1]!) as { id: number; channel: string; payload: unknown }
  }
}

function fakeTimers(): Timers & { due: { callback: () => void; ms: number }[]; runNext(): number } {
  const due: { callback: () => void; ms: number }[] = []
  return {
    due,
    set: (callback, ms) => {
      const timer = { callback, ms }
      due.push(timer)
      return timer
    },
    clear: (handle) => {
      const i = due.indexOf(handle as { callback: () => void; ms: number })
      if (i !== -1) due.splice(i, 1)
    },
    runNext() {
      const t = due.shift()!
      t.callback()
      return t.ms
    },
  }
}

function setup() {
  ScriptedSocket.made = []
  const timers = fakeTimers()
  const client = createWsClient({
    url: 'ws://127.0.0.1:9999/api/ws',
    token: 'tok en/+',
    WebSocketImpl: ScriptedSocket,
    backoff: { initialMs: 100, maxMs: 400 },
    timers,
  })
  const socket = () => ScriptedSocket.made[ScriptedSocket.made.length - 1]!
  return { client, timers, socket }
}

describe('createWsClient', () => {
  it('puts the token in the URL, queues calls until open, and correlates replies by id', async () => {
    const { client, socket } = setup()
    expect(new URL(socket().url).searchParams.get('token')).toBe('tok en/+')
    expect(client.state).toBe('connecting')
    const first = client.call('nodes/list', {})
    const second = client.call('nodes/remove', { name: 'n1' })
    socket().fire('open')
    expect(client.state).toBe('open')
    const [a, b] = socket().sent.map((t) => JSON.parse(t) as { id: number; channel: string })
    expect([a!.channel, b!.channel]).toEqual(['nodes/list', 'nodes/remove'])
    // Answers may come in any order.
    socket().fire('message', JSON.stringify({ id: b!.id, result: { ok: true, value: { removed: 'n1' } } }))
    socket().fire('message', JSON.stringify({ id: a!.id, result: { ok: true, value: [] } }))
    expect(await second).toEqual({ removed: 'n1' })
    expect(await first).toEqual([])
  })

  it('rejects with a ContractCallError carrying code, message and details', async () => {
    const { client, socket } = setup()
    socket().fire('open')
    const call = client.call('nodes/add', { name: 'x y' })
    const { id } = socket().lastCall()
    socket().fire(
      'message',
      JSON.stringify({
        id,
        result: {
          ok: false,
          error: {
            code: 'bad-request',
            message: 'invalid request for nodes/add',
            details: ['name: a host name'],
          },
        },
      }),
    )
    const e = await call.catch((x: unknown) => x)
    expect(e).toBeInstanceOf(ContractCallError)
    expect(e).toMatchObject({
      code: 'bad-request',
      message: 'invalid request for nodes/add',
      details: ['name: a host name'],
      channel: 'nodes/add',
      transport: false,
    })
  })

  it('ignores frames it cannot use', async () => {
    const { client, socket } = setup()
    socket().fire('open')
    const call = client.call('nodes/list', {})
    for (const junk of [
      'nope',
      '42',
      'null',
      '{"id":999,"result":{"ok":true}}',
      '{"event":5}',
      new Uint8Array([1]),
    ])
      socket().fire('message', junk)
    socket().fire(
      'message',
      JSON.stringify({ id: socket().lastCall().id, result: { ok: true, value: ['still fine'] } }),
    )
    expect(await call).toEqual(['still fine'])
    // A reply to a real call that makes no sense fails that call instead of leaving it waiting.
    const odd = client.call('nodes/list', {})
    socket().fire('message', JSON.stringify({ id: socket().lastCall().id, result: 'yes' }))
    await expect(odd).rejects.toMatchObject({ code: 'internal', transport: false })
  })

  it('fails pending calls on a drop, reconnects with growing backoff, and keeps listeners', async () => {
    const { client, socket, timers } = setup()
    const states: string[] = []
    client.onState((s) => states.push(s))
    const seen: string[] = []
    const stop = client.on('log/line', (p) => seen.push(p.message))
    socket().fire('open')
    socket().fire(
      'message',
      JSON.stringify({ event: 'log/line', payload: { level: 'info', message: 'one', time: 't' } }),
    )
    const pending = client.call('app/status', {})
    socket().fire('close')
    const e = await pending.catch((x: unknown) => x)
    expect(e).toBeInstanceOf(ContractCallError)
    expect(e).toMatchObject({ transport: true, code: 'internal' })
    expect((e as Error).message).toMatch(/dropped.*may or may not have run/)

    // Two failed attempts: the delay doubles, then is capped.
    expect(timers.runNext()).toBe(100)
    socket().fire('close')
    expect(timers.runNext()).toBe(200)
    socket().fire('close')
    expect(timers.runNext()).toBe(400)
    socket().fire('close')
    expect(timers.runNext()).toBe(400)
    socket().fire('open')
    expect(ScriptedSocket.made).toHaveLength(5)
    socket().fire(
      'message',
      JSON.stringify({ event: 'log/line', payload: { level: 'info', message: 'two', time: 't' } }),
    )
    expect(seen).toEqual(['one', 'two'])
    stop()
    socket().fire(
      'message',
      JSON.stringify({ event: 'log/line', payload: { level: 'info', message: 'three', time: 't' } }),
    )
    expect(seen).toEqual(['one', 'two'])
    // A successful open resets the backoff.
    socket().fire('close')
    expect(timers.runNext()).toBe(100)
    expect(states).toEqual([
      'open',
      'waiting',
      'connecting',
      'waiting',
      'connecting',
      'waiting',
      'connecting',
      'waiting',
      'connecting',
      'open',
      'waiting',
      'connecting',
    ])
  })

  it('a throwing listener does not stop the others', () => {
    ScriptedSocket.made = []
    const errors: unknown[] = []
    const client = createWsClient({
      url: 'ws://h/api/ws',
      token: 't',
      WebSocketImpl: ScriptedSocket,
      timers: fakeTimers(),
      onListenerError: (e) => errors.push(e),
    })
    const got: string[] = []
    client.on('log/line', () => {
      throw new Error('listener bug')
    })
    client.on('log/line', (p) => got.push(p.message))
    const s = ScriptedSocket.made[0]!
    s.fire('open')
    s.fire(
      'message',
      JSON.stringify({ event: 'log/line', payload: { level: 'warn', message: 'm', time: 't' } }),
    )
    expect(got).toEqual(['m'])
    expect(errors).toHaveLength(1)
  })

  it('close() fails pending calls, stops reconnecting and refuses new calls', async () => {
    const { client, socket, timers } = setup()
    socket().fire('open')
    const pending = client.call('nodes/list', {})
    client.close()
    expect(socket().closedWith).toBe(1000)
    await expect(pending).rejects.toMatchObject({ transport: true })
    await expect(client.call('nodes/list', {})).rejects.toThrow(/closed/)
    socket().fire('close')
    expect(timers.due).toHaveLength(0)
    expect(client.state).toBe('closed')
  })
})

describe('createClient', () => {
  function env(href: string, stored: Record<string, string> = {}, bridge?: ContractClient) {
    const replaced: string[] = []
    const e: BrowserEnv & { replaced: string[]; stored: Record<string, string> } = {
      bridge,
      location: { href, host: new URL(href).host, protocol: new URL(href).protocol },
      history: { state: { s: 1 }, replaceState: (_d, _u, url) => replaced.push(url ?? '') },
      sessionStorage: { getItem: (k) => stored[k] ?? null, setItem: (k, v) => void (stored[k] = v) },
      WebSocket: ScriptedSocket,
      replaced,
      stored,
    }
    return e
  }

  it('uses the Electron bridge when there is one', () => {
    const bridge: ContractClient = { call: () => Promise.reject(new Error('unused')), on: () => () => {} }
    ScriptedSocket.made = []
    expect(createClient(env('http://127.0.0.1:5000/?token=abc', {}, bridge))).toBe(bridge)
    expect(ScriptedSocket.made).toHaveLength(0)
  })

  it('takes the token from the URL into sessionStorage, hides it, and connects to this host', () => {
    ScriptedSocket.made = []
    const e = env('http://127.0.0.1:5000/nodes?view=grid&token=abc123#top')
    const client = createClient(e) as ReturnType<typeof createWsClient>
    expect(e.stored['rackboot.apiToken']).toBe('abc123')
    expect(e.replaced).toEqual(['/nodes?view=grid#top'])
    const url = new URL(ScriptedSocket.made[0]!.url)
    expect(`${url.protocol}//${url.host}${url.pathname}`).toBe('ws://127.0.0.1:5000/api/ws')
    expect(url.searchParams.get('token')).toBe('abc123')
    client.close()
  })

  it('after a reload uses the stored token; over https it uses wss', () => {
    ScriptedSocket.made = []
    const e = env('https://localhost:5000/racks', { 'rackboot.apiToken': 'kept' })
    const client = createClient(e) as ReturnType<typeof createWsClient>
    expect(e.replaced).toEqual([])
    expect(ScriptedSocket.made[0]!.url).toBe('wss://localhost:5000/api/ws?token=kept')
    client.close()
  })

  it('without any token, every call fails with unauthorized and nothing connects', async () => {
    ScriptedSocket.made = []
    const client = createClient(env('http://127.0.0.1:5000/'))
    await expect(client.call('nodes/list', {})).rejects.toMatchObject({ code: 'unauthorized' })
    expect(ScriptedSocket.made).toHaveLength(0)
  })
})
