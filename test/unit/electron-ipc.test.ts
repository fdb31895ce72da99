/**
 * The Electron IPC path without Electron: the preload's client talks to main's invoke handler through a fake
 * ipcMain/ipcRenderer pair that behaves like the real one (structured-clone copies, one event per send).
 */
import { describe, expect, it, vi } from 'vitest'
import type { Handlers, Events, CallResult, Channel } from '../../electron/ipc/contract'
import { IPC_EVENT, IPC_INVOKE } from '../../electron/ipc/contract'
import { EventBus } from '../../electron/core/util/bus'
import { silentLogger } from '../../electron/core/util/logger'
import { settingsSchema, nodeSchema } from '../../electron/core/inventory/schema'
import {
  createInvokeHandler,
  forwardEvents,
  registerInvokeHandler,
  type Dispatch,
} from '../../electron/main/ipc'
import { createIpcClient, type IpcRendererLike } from '../../electron/preload/client'
import { IPC_EVENT as PRELOAD_EVENT, IPC_INVOKE as PRELOAD_INVOKE } from '../../electron/preload/ipc-names'
import { decodeInvokeEnvelope } from '../../electron/preload/envelope'
import { isTrustedSender } from '../../electron/main/security/sender'
import { dispatch } from '../../electron/core/api/dispatch'

const APP = 'file:///app/out/renderer/index.html'

const stubHandlers = (overrides: Partial<Handlers> = {}): Handlers =>
  ({
    'settings/get': async () => settingsSchema.parse({ domain: 'lab' }),
    'nodes/list': async () => [nodeSchema.parse({ name: 'n1', macs: ['52:54:00:00:00:01'] })],
    ...overrides,
  }) as Handlers

/** Stands in for the core's dispatch(): unknown channel -> not-found, handler errors -> internal. */
const fakeDispatch: Dispatch = async (handlers, channel, payload) => {
  const handler = (handlers as Record<string, ((req: unknown) => Promise<unknown>) | undefined>)[
    String(channel)
  ]
  if (!handler)
    return { ok: false, error: { code: 'not-found', message: `unknown channel '${String(channel)}'` } }
  try {
    return { ok: true, value: await handler(payload) } as CallResult<Channel>
  } catch (e) {
    return { ok: false, error: { code: 'internal', message: (e as Error).message, details: ['see the log'] } }
  }
}

/** A renderer whose every invoke is handled by `handler` as if sent from a frame at `frameUrl`. */
function wire(options: { handlers?: Handlers; frameUrl?: string; dispatch?: Dispatch } = {}) {
  const handlers = options.handlers ?? stubHandlers()
  const dispatch = options.dispatch ?? fakeDispatch
  const handler = createInvokeHandler({
    dispatch: (channel, payload) => dispatch(handlers, channel, payload),
    isTrustedSender: (event) => isTrustedSender(event, APP),
    logger: silentLogger,
  })
  const listeners = new Map<string, Set<(event: unknown, ...args: unknown[]) => void>>()
  const ipc: IpcRendererLike = {
    async invoke(channel, ...args) {
      expect(channel).toBe(IPC_INVOKE)
      return structuredClone(
        await handler(
          { senderFrame: { url: options.frameUrl ?? `${APP}#/nodes` } },
          structuredClone(args[0]),
        ),
      )
    },
    on(channel, listener) {
      if (!listeners.has(channel)) listeners.set(channel, new Set())
      listeners.get(channel)!.add(listener)
    },
    removeListener(channel, listener) {
      listeners.get(channel)?.delete(listener)
    },
  }
  const send = (channel: string, message: unknown) => {
    for (const l of listeners.get(channel) ?? [])
      l({ sender: 'the ipcRenderer, never shown to listeners' }, structuredClone(message))
  }
  const listenerCount = () => [...listeners.values()].reduce((n, s) => n + s.size, 0)
  return { client: createIpcClient(ipc), send, listenerCount }
}

describe('preload client <-> main invoke handler', () => {
  it('resolves a call with the handler value', async () => {
    const { client } = wire()
    const settings = await client.call('settings/get', {})
    expect(settings.domain).toBe('lab')
    const nodes = await client.call('nodes/list', {})
    expect(nodes.map((n) => n.name)).toEqual(['n1'])
  })

  it('passes channel and request to dispatch unchanged', async () => {
    const dispatch = vi.fn<Dispatch>(
      async () => ({ ok: true, value: { removed: 'n1' } }) as CallResult<Channel>,
    )
    const { client } = wire({ dispatch })
    await expect(client.call('nodes/remove', { name: 'n1' })).resolves.toEqual({ removed: 'n1' })
    expect(dispatch).toHaveBeenCalledWith(expect.anything(), 'nodes/remove', { name: 'n1' })
  })

  it('throws an Error carrying the ContractError message and details', async () => {
    const { client } = wire({
      handlers: stubHandlers({
        'nodes/list': async () => Promise.reject(new Error('store is locked by pid 42')),
      }),
    })
    await expect(client.call('nodes/list', {})).rejects.toThrow(/^store is locked by pid 42\nsee the log$/)
  })

  it('refuses calls from any frame but the app, without dispatching', async () => {
    const dispatch = vi.fn<Dispatch>()
    const { client } = wire({ frameUrl: 'https://evil.example/', dispatch })
    await expect(client.call('settings/get', {})).rejects.toThrow(/refused.*evil\.example/)
    expect(dispatch).not.toHaveBeenCalled()
  })

  it('answers malformed envelopes with bad-request instead of throwing', async () => {
    const handler = createInvokeHandler({
      dispatch: (channel, payload) => fakeDispatch(stubHandlers(), channel, payload),
      isTrustedSender: () => true,
      logger: silentLogger,
    })
    for (const raw of [undefined, null, 'nodes/list', 42, { payload: {} }])
      expect(await handler({ senderFrame: { url: APP } }, raw)).toMatchObject({
        ok: false,
        error: { code: 'bad-request' },
      })
    expect(decodeInvokeEnvelope({ channel: 'x' })).toEqual({ channel: 'x', payload: undefined })
  })
})

describe('with the core dispatch()', () => {
  it('validates the request at the boundary and names the bad field', async () => {
    const { client } = wire({ dispatch: (h, c, p) => dispatch(h, c, p) })
    await expect(client.call('nodes/list', {})).resolves.toHaveLength(1)
    // @ts-expect-error: a request the contract refuses, as a compromised renderer could send it
    await expect(client.call('nodes/list', { extra: 1 })).rejects.toThrow(/invalid request for nodes\/list/)
    // @ts-expect-error: a channel the contract does not have
    await expect(client.call('nodes/nuke', {})).rejects.toThrow(/unknown channel 'nodes\/nuke'/)
  })
})

describe('events main -> preload', () => {
  it('delivers bus events to listeners of that event only, payload only', () => {
    const bus = new EventBus<Events>()
    const { client, send } = wire()
    const stop = forwardEvents(bus, { isDestroyed: () => false, send })
    const nodesSeen: unknown[] = []
    const stackSeen: unknown[] = []
    const offNodes = client.on('nodes/changed', (p) => nodesSeen.push(p))
    client.on('stack/changed', (p) => stackSeen.push(p))

    bus.emit('nodes/changed', { nodes: [] })
    expect(nodesSeen).toEqual([{ nodes: [] }])
    expect(stackSeen).toEqual([])

    offNodes()
    bus.emit('nodes/changed', { nodes: [] })
    expect(nodesSeen).toHaveLength(1)

    stop()
    expect(bus.listenerCount()).toBe(0)
  })

  it('drops malformed event messages and stops sending once the window is gone', () => {
    const { client, send, listenerCount } = wire()
    const seen: unknown[] = []
    const off = client.on('log/line', (p) => seen.push(p))
    send(IPC_EVENT, 'garbage')
    send(IPC_EVENT, { payload: 1 })
    expect(seen).toEqual([])
    off()
    expect(listenerCount()).toBe(0)

    const bus = new EventBus<Events>()
    const sent: unknown[] = []
    let destroyed = false
    forwardEvents(bus, { isDestroyed: () => destroyed, send: (c, m) => sent.push([c, m]) })
    bus.emit('log/line', { level: 'info', message: 'a', time: 't' })
    destroyed = true
    bus.emit('log/line', { level: 'info', message: 'b', time: 't' })
    expect(sent).toEqual([
      [IPC_EVENT, { event: 'log/line', payload: { level: 'info', message: 'a', time: 't' } }],
    ])
  })
})

describe('registration', () => {
  it('registers one handler on IPC_INVOKE and removes it on dispose', async () => {
    const registered = new Map<string, (event: never, ...args: unknown[]) => unknown>()
    const ipcMain = {
      handle: (channel: string, fn: (event: never, ...args: unknown[]) => unknown) =>
        void registered.set(channel, fn),
      removeHandler: (channel: string) => void registered.delete(channel),
    }
    const handler = vi.fn(async () => ({ ok: true, value: 1 }) as unknown as CallResult<Channel>)
    const dispose = registerInvokeHandler(ipcMain, handler)
    expect([...registered.keys()]).toEqual([IPC_INVOKE])
    await registered.get(IPC_INVOKE)!({ senderFrame: null } as never, { channel: 'app/status', payload: {} })
    expect(handler).toHaveBeenCalledWith({ senderFrame: null }, { channel: 'app/status', payload: {} })
    dispose()
    expect(registered.size).toBe(0)
  })

  it('the preload names the same channels as the contract', () => {
    expect([PRELOAD_INVOKE, PRELOAD_EVENT]).toEqual([IPC_INVOKE, IPC_EVENT])
  })
})
