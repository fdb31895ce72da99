/**
 * lab/status and lab/power through dispatch: a plain core refuses them, a lab's core answers from the lab's
 * state file (a real Lab on a temp dir, no root: nothing runs), and the interval power-on goes on after the
 * answer, in rack order, until a power-off cancels it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Rackboot } from '../../electron/core/rackboot'
import { dispatch } from '../../electron/core/api/dispatch'
import { Lab } from '../../electron/core/lab/lab'
import { type LabControl, createLabHandlers } from '../../electron/core/lab/contract-handlers'
import { type LabState, writeLabState } from '../../electron/core/lab/state'
import { silentLogger } from '../../electron/core/util/logger'
import { fakeHandlers } from '../support/fake-handlers'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rackboot-lab-handlers-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

function labState(nodes: number): LabState {
  return {
    version: 1,
    id: 7,
    prefix: 'rbq7',
    subnet: '198.18.7.0/24',
    namespaces: [],
    links: [],
    serverNamespace: 'rbq7-srv',
    clientNamespace: 'rbq7-cli',
    serverInterface: 'rbq7-s',
    serverAddress: '198.18.7.1',
    nodes: Array.from({ length: nodes }, (_, i) => ({
      slot: i + 1,
      name: `rbq7-node0${i + 1}`,
      mac: `52:54:00:07:00:0${i + 1}`,
      firmware: i % 2 === 0 ? ('bios' as const) : ('uefi' as const),
      nic: 'virtio' as const,
      memMiB: 512,
      tap: `rbq7-t${i + 1}`,
      console: join(dir, `slot0${i + 1}.log`),
    })),
    processes: [],
    serveLog: join(dir, 'serve.log'),
    createdAt: new Date(0).toISOString(),
  }
}

/** A lab whose nodes are a set of running slots; every call is recorded, with overlap detection. */
function fakeLab(state: LabState) {
  const running = new Set<number>()
  const calls: string[] = []
  let busy = 0
  let overlapped = false
  const step = async <T>(name: string, f: () => T): Promise<T> => {
    if (busy++ > 0) overlapped = true
    calls.push(name)
    await new Promise((r) => setTimeout(r, 5))
    busy--
    return f()
  }
  const pick = (t: number | 'all') => (t === 'all' ? state.nodes.map((n) => n.slot) : [t])
  const lab: LabControl = {
    state: async () => state,
    powerOn: (t) =>
      step(`on ${t}`, () => {
        const started = pick(t).filter((s) => !running.has(s))
        for (const s of started) running.add(s)
        return started
      }),
    powerOff: (t) =>
      step(`off ${t}`, () => {
        const stopped = pick(t).filter((s) => running.has(s))
        for (const s of stopped) running.delete(s)
        return stopped
      }),
    status: async () => ({ state, serveRunning: true, nodes: [] }),
  }
  return { lab, running, calls, overlapped: () => overlapped }
}

/** A sleep the test releases by hand, so "the interval passed" is a step of the test, not a clock. */
function manualSleep() {
  const waiting: Array<() => void> = []
  const sleep = (_ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true })
      waiting.push(resolve)
    })
  const release = async () => {
    for (let i = 0; i < 100 && waiting.length === 0; i++) await new Promise((r) => setTimeout(r, 5))
    waiting.shift()?.()
  }
  return { sleep, release, waiting }
}

describe('lab channels', () => {
  it('a core that is not a lab answers not-found, naming what it is not and how to get one', async () => {
    const core = await Rackboot.open({ dataDir: dir })
    try {
      for (const [channel, req] of [
        ['lab/status', {}],
        ['lab/power', { slot: 'all', on: true }],
      ] as const) {
        const r = await dispatch(core.handlers, channel, req)
        expect(r.ok).toBe(false)
        if (r.ok) continue
        expect(r.error.code).toBe('not-found')
        expect(r.error.message).toContain('not a virtual rack')
        expect(r.error.details?.join(' ')).toContain('lab up')
      }
    } finally {
      await core.close()
    }
  })

  it("a lab's core reports every slot from the lab state and powers a slot off that is not running", async () => {
    await writeLabState(dir, labState(2))
    const lab = new Lab({ dataDir: dir, ip: async () => '', selfCommand: [], logger: silentLogger })
    const core = await Rackboot.open({ dataDir: dir, lab })
    try {
      const r = await dispatch(core.handlers, 'lab/status', {})
      expect(r.ok).toBe(true)
      if (!r.ok) return
      expect(r.value).toMatchObject({
        prefix: 'rbq7',
        interface: 'rbq7-s',
        serverAddress: '198.18.7.1',
        serveRunning: false,
        pending: [],
      })
      expect(r.value).toHaveProperty('nodes')
      const nodes = (r.value as { nodes: unknown[] }).nodes
      expect(nodes).toEqual([
        expect.objectContaining({
          slot: 1,
          name: 'rbq7-node01',
          mac: '52:54:00:07:00:01',
          firmware: 'bios',
          running: false,
          stage: 'off-or-silent',
          lastLine: '',
          bootState: 'off',
        }),
        expect.objectContaining({ slot: 2, firmware: 'uefi', running: false }),
      ])
      const off = await dispatch(core.handlers, 'lab/power', { slot: 2, on: false })
      expect(off).toEqual({ ok: true, value: { slots: [], pending: [] } })
      const missing = await dispatch(core.handlers, 'lab/power', { slot: 9, on: true })
      expect(missing.ok).toBe(false)
      if (!missing.ok) expect(missing.error.message).toContain('no slot 9')
    } finally {
      await core.close()
    }
  })

  it('refuses a slot that is no number or all, and an interval out of range', async () => {
    const h = fakeHandlers()
    for (const req of [
      { slot: 0, on: true },
      { slot: 'some', on: true },
      { slot: 1 },
      { slot: 'all', on: true, intervalS: -1 },
    ]) {
      const r = await dispatch(h, 'lab/power', req)
      expect(r.ok ? 'ok' : r.error.code).toBe('bad-request')
    }
  })

  it('powers all on in rack order, one interval apart after the answer; power-off all cancels the rest', async () => {
    const f = fakeLab(labState(4))
    const clock = manualSleep()
    const lab = createLabHandlers({ lab: f.lab, logger: silentLogger, sleep: clock.sleep })
    const h = fakeHandlers(lab.handlers)
    const first = await dispatch(h, 'lab/power', { slot: 'all', on: true, intervalS: 30 })
    expect(first).toEqual({ ok: true, value: { slots: [1], pending: [2, 3, 4] } })
    expect([...f.running]).toEqual([1])
    await clock.release()
    for (let i = 0; i < 100 && !f.running.has(2); i++) await new Promise((r) => setTimeout(r, 5))
    expect([...f.running]).toEqual([1, 2])
    const status = await dispatch(h, 'lab/status', {})
    expect(status.ok && (status.value as { pending: number[] }).pending).toEqual([3, 4])
    // A power-off of a pending slot drops it; then all off cancels the sequence.
    const off3 = await dispatch(h, 'lab/power', { slot: 3, on: false })
    expect(off3).toEqual({ ok: true, value: { slots: [], pending: [4] } })
    const offAll = await dispatch(h, 'lab/power', { slot: 'all', on: false })
    expect(offAll).toEqual({ ok: true, value: { slots: [1, 2], pending: [] } })
    expect(clock.waiting.length).toBeLessThanOrEqual(1)
    await lab.stop()
    expect(f.calls).not.toContain('on 4')
    expect(f.calls).not.toContain('on 3')
    expect(f.running.size).toBe(0)
    expect(f.overlapped()).toBe(false)
  })

  it('without an interval powers every slot on before answering; concurrent calls never overlap', async () => {
    const f = fakeLab(labState(3))
    const lab = createLabHandlers({ lab: f.lab, logger: silentLogger })
    const h = fakeHandlers(lab.handlers)
    const [all, one] = await Promise.all([
      dispatch(h, 'lab/power', { slot: 'all', on: true }),
      dispatch(h, 'lab/power', { slot: 2, on: false }),
    ])
    expect(all.ok && one.ok).toBe(true)
    expect(f.overlapped()).toBe(false)
    expect(f.calls).toEqual(expect.arrayContaining(['on 1', 'on 2', 'on 3', 'off 2']))
    await lab.stop()
  })
})
