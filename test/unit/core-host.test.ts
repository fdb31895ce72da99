/** The hand-over's decisions with fake cores and a fake elevated stack (the real flow: elevated-handover.test.ts). */
import { describe, expect, it } from 'vitest'
import type { AppNotice, CallResult, Channel, Events } from '../../electron/ipc/contract'
import { silentLogger } from '../../electron/core/util/logger'
import type { AnyEventListener, CoreBackend } from '../../electron/main/backend/backend'
import { openCoreHost, DENIED_MESSAGE, type CoreHostDeps } from '../../electron/main/core-host'
import type { ElevatedStack, ElevatedStart } from '../../electron/main/privilege/elevated-stack'

function fakeBackend(kind: CoreBackend['kind'], name: string, log: string[]) {
  const listeners = new Set<AnyEventListener>()
  const backend: CoreBackend & { emit<K extends keyof Events>(n: K, p: Events[K]): void } = {
    kind,
    dispatch: async () => ({ ok: true, value: name }) as unknown as CallResult<Channel>,
    onAny: (l) => (listeners.add(l), () => listeners.delete(l)),
    close: async () => void log.push(`close ${name}`),
    emit: (n, p) => listeners.forEach((l) => l(n, p)),
  }
  return backend
}

function fakeStack() {
  let exit: (v: { code: number | null; signal: NodeJS.Signals | null }) => void = () => {}
  const stops: number[] = []
  const stack: ElevatedStack = {
    origin: 'http://127.0.0.1:1',
    token: 't'.repeat(32),
    pid: 4242,
    exited: new Promise((resolve) => (exit = resolve)),
    stop: async () => {
      stops.push(1)
      exit({ code: null, signal: 'SIGTERM' })
    },
  }
  return { stack, stops, exit: (code: number) => exit({ code, signal: null }) }
}

function setup(start: (deps: { log: string[] }) => Promise<ElevatedStart>) {
  const log: string[] = []
  const notices: AppNotice[] = []
  let opens = 0
  let remote: ReturnType<typeof fakeBackend> | null = null
  const deps: CoreHostDeps = {
    openLocal: async () => {
      opens += 1
      log.push(`open local${opens}`)
      return { backend: fakeBackend('in-process', `local${opens}`, log), stackError: null }
    },
    startElevated: () => start({ log }),
    connect: async () => (remote = fakeBackend('elevated', 'remote', log)),
    notify: (n) => notices.push(n),
    logger: silentLogger,
  }
  return { deps, log, notices, remote: () => remote! }
}

const command = { command: 'pkexec', args: [] }

describe('core host', () => {
  it('fails calls during the prompt with a sentence, then forwards calls and events to the stack', async () => {
    const s = fakeStack()
    let release: (v: ElevatedStart) => void = () => {}
    const t = setup(() => new Promise((resolve) => (release = resolve)))
    const { host } = await openCoreHost(t.deps)
    const events: string[] = []
    host.onAny((name) => events.push(name))
    expect(await host.dispatch('nodes/list', {})).toEqual({ ok: true, value: 'local1' })

    const elevating = host.elevate(command)
    await Promise.resolve()
    expect(await host.elevate(command)).toBe('busy')
    const during = await host.dispatch('nodes/list', {})
    expect(during.ok).toBe(false)
    if (!during.ok) expect(during.error.message).toContain('waiting for the administrator prompt')
    expect(t.log).toEqual(['open local1', 'close local1'])

    release({ ok: true, stack: s.stack })
    expect(await elevating).toBe('elevated')
    expect(await host.dispatch('nodes/list', {})).toEqual({ ok: true, value: 'remote' })
    t.remote().emit('log/line', { level: 'info', message: 'x', time: 't' })
    expect(events).toEqual(['app/notice', 'log/line'])
    expect(t.notices).toHaveLength(1)

    // The stack exits on its own: the remote is closed and the own core reopened.
    s.exit(1)
    await host.settled()
    await new Promise((resolve) => setImmediate(resolve))
    await host.settled()
    expect(host.kind()).toBe('in-process')
    expect(t.log).toEqual(['open local1', 'close local1', 'close remote', 'open local2'])
    expect(t.notices.at(-1)!.message).toContain('The elevated boot stack stopped (exit 1)')
    expect(await host.dispatch('nodes/list', {})).toEqual({ ok: true, value: 'local2' })

    await host.close()
    expect(t.log.at(-1)).toBe('close local2')
  })

  it('reopens its own core after a denied prompt or a launcher that throws', async () => {
    const denied = setup(async () => ({ ok: false, reason: 'denied', message: 'pkexec exit 126' }))
    const a = (await openCoreHost(denied.deps)).host
    expect(await a.elevate(command)).toBe('denied')
    expect(denied.notices).toEqual([{ level: 'warn', message: DENIED_MESSAGE, coreSwitched: true }])
    expect(a.kind()).toBe('in-process')

    const throwing = setup(async () => {
      throw new Error('spawn EACCES')
    })
    const b = (await openCoreHost(throwing.deps)).host
    expect(await b.elevate(command)).toBe('failed')
    expect(throwing.notices.at(-1)!.message).toContain('spawn EACCES')
    expect(b.kind()).toBe('in-process')
  })

  it('stops the stack it started when closed, and ignores the exit that follows', async () => {
    const s = fakeStack()
    const t = setup(async () => ({ ok: true, stack: s.stack }))
    const { host } = await openCoreHost(t.deps)
    expect(await host.elevate(command)).toBe('elevated')
    await host.close()
    expect(s.stops).toHaveLength(1)
    await new Promise((resolve) => setImmediate(resolve))
    expect(t.log).toEqual(['open local1', 'close local1', 'close remote'])
    expect(host.kind()).toBe('none')
    const after = await host.dispatch('nodes/list', {})
    expect(after.ok).toBe(false)
  })
})
