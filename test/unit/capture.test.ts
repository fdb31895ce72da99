/**
 * Capture mode: the pure state machine (capture.ts) as tables, then the controller (capture-controller.ts)
 * with an in-memory inventory that refuses what the real repo refuses (a MAC on two nodes).
 */
import { describe, expect, it } from 'vitest'
import {
  MAX_CANDIDATES,
  MAX_WAITING,
  emptySlots,
  initialCapture,
  onPxeDiscover,
  type CaptureDecision,
  type CaptureState,
} from '../../electron/core/boot/capture'
import { CaptureController, type CaptureStatus } from '../../electron/core/boot/capture-controller'
import type { CaptureEvent } from '../../electron/core/boot/events'
import type { InventoryRepo } from '../../electron/core/inventory/repo'
import { nodeSchema, type Node } from '../../electron/core/inventory/schema'
import { RackbootError } from '../../electron/core/util/result'
import { silentLogger } from '../../electron/core/util/logger'

const GUARD = 10_000
const m = (n: number) =>
  `52:54:00:00:${((n >> 8) & 0xff).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`

function node(name: string, rack: string | null, slot: number | null, macs: string[] = []): Node {
  return nodeSchema.parse({ name, rack, slot, macs })
}
/** Rack order is rack, then slot: r1/1, r1/2, r1/10, r2/1 — listed here deliberately shuffled. */
const plan = () => [
  node('n-r2-1', 'r2', 1),
  node('n-r1-10', 'r1', 10),
  node('n-r1-1', 'r1', 1),
  node('n-r1-2', 'r1', 2),
  node('unplaced', null, null),
]

/** Applies decisions like the controller would (assign puts the MAC on the node). */
function run(
  steps: Array<{ mac: string; at: number }>,
  nodes: Node[],
  state: CaptureState = { ...initialCapture, active: true },
): { state: CaptureState; decisions: CaptureDecision[]; nodes: Node[] } {
  const decisions: CaptureDecision[] = []
  for (const s of steps) {
    const r = onPxeDiscover(state, nodes, s.mac, s.at, GUARD)
    state = r.state
    decisions.push(r.decision)
    if (r.decision.kind === 'assign') {
      const d = r.decision
      nodes = nodes.map((n) => (n.name === d.node ? { ...n, macs: [...n.macs, d.mac] } : n))
    }
  }
  return { state, decisions, nodes }
}

describe('capture state machine', () => {
  it('empty slots are listed in rack order; unplaced nodes are never capture targets', () => {
    expect(emptySlots(plan()).map((n) => n.name)).toEqual(['n-r1-1', 'n-r1-2', 'n-r1-10', 'n-r2-1'])
  })

  const table: Array<{ name: string; steps: Array<{ mac: string; at: number }>; want: CaptureDecision[] }> = [
    {
      name: 'MACs spaced beyond the guard window fill slots in rack order',
      steps: [
        { mac: m(1), at: 0 },
        { mac: m(2), at: GUARD },
        { mac: m(3), at: 2 * GUARD + 1 },
      ],
      want: [
        { kind: 'assign', mac: m(1), node: 'n-r1-1' },
        { kind: 'assign', mac: m(2), node: 'n-r1-2' },
        { kind: 'assign', mac: m(3), node: 'n-r1-10' },
      ],
    },
    {
      name: 'a second unknown MAC inside the guard window: ambiguity with both, nothing assigned',
      steps: [
        { mac: m(1), at: 0 },
        { mac: m(2), at: GUARD - 1 },
        { mac: m(3), at: GUARD + 5_000 },
      ],
      want: [
        { kind: 'assign', mac: m(1), node: 'n-r1-1' },
        { kind: 'ambiguous', node: 'n-r1-1', candidates: [m(1), m(2)] },
        { kind: 'waiting', reason: 'paused' },
      ],
    },
    {
      name: 'the captured MAC asking again inside the window is known, not ambiguous',
      steps: [
        { mac: m(1), at: 0 },
        { mac: m(1), at: 100 },
        { mac: m(1), at: 200 },
      ],
      want: [
        { kind: 'assign', mac: m(1), node: 'n-r1-1' },
        { kind: 'known', node: 'n-r1-1' },
        { kind: 'known', node: 'n-r1-1' },
      ],
    },
  ]
  for (const c of table)
    it(c.name, () => {
      const r = run(c.steps, plan())
      expect(r.decisions).toEqual(c.want)
    })

  it('ambiguity collects later candidates (capped) until resolved', () => {
    const r = run(
      Array.from({ length: 20 }, (_, i) => ({ mac: m(i), at: i })),
      plan(),
    )
    expect(r.state.ambiguity?.candidates).toHaveLength(MAX_CANDIDATES)
    expect(r.state.ambiguity?.candidates.slice(0, 3)).toEqual([m(0), m(1), m(2)])
    expect(r.nodes.flatMap((n) => n.macs)).toEqual([m(0)])
  })

  it('a known MAC is never moved, even while capture is active with empty slots', () => {
    const nodes = [node('old', 'r9', 1, [m(7)]), ...plan()]
    const r = run([{ mac: m(7), at: 0 }], nodes)
    expect(r.decisions).toEqual([{ kind: 'known', node: 'old' }])
    expect(r.nodes.find((n) => n.name === 'n-r1-1')!.macs).toEqual([])
  })

  it('inactive: nothing is assigned, MACs are remembered as waiting', () => {
    const r = run(
      [
        { mac: m(1), at: 0 },
        { mac: m(2), at: 1 },
        { mac: m(1), at: 2 },
      ],
      plan(),
      initialCapture,
    )
    expect(r.decisions.every((d) => d.kind === 'waiting' && d.reason === 'inactive')).toBe(true)
    expect(r.state.waiting).toEqual([m(1), m(2)])
  })

  it('no empty slot left: full, remembered', () => {
    const r = run([{ mac: m(1), at: 0 }], [node('only', 'r1', 1, [m(9)])])
    expect(r.decisions).toEqual([{ kind: 'waiting', reason: 'full' }])
    expect(r.state.waiting).toEqual([m(1)])
  })

  it('a flood of 10,000 MACs keeps the waiting list and candidates bounded', () => {
    let state: CaptureState = initialCapture
    const nodes = plan()
    for (let i = 0; i < 10_000; i++) state = onPxeDiscover(state, nodes, m(i), i, GUARD).state
    expect(state.waiting).toHaveLength(MAX_WAITING)
    expect(state.waiting.at(-1)).toBe(m(9_999)) // newest kept
    state = { ...state, active: true }
    let assigned = 0
    for (let i = 10_000; i < 20_000; i++) {
      const r = onPxeDiscover(state, nodes, m(i), i, GUARD)
      state = r.state
      if (r.decision.kind === 'assign') assigned++
    }
    expect(assigned).toBe(1)
    expect(state.ambiguity!.candidates.length).toBeLessThanOrEqual(MAX_CANDIDATES)
    expect(state.waiting.length).toBeLessThanOrEqual(MAX_WAITING)
  })
})

/** An inventory with the repo's refusals: a MAC belongs to one node; unassigning a MAC it lacks fails. */
function fakeRepo(initial: Node[], guardSeconds = GUARD / 1000) {
  let nodes = initial.map((n) => structuredClone(n))
  const uuids = new Map<string, string>()
  const repo = {
    listNodes: () => [...nodes],
    settings: () => ({ captureGuardSeconds: guardSeconds }),
    recordUuid: (mac: string, uuid: string) => void uuids.set(mac, uuid),
    assignMac: (name: string, mac: string) => {
      const other = nodes.find((n) => n.name !== name && n.macs.includes(mac))
      if (other)
        return Promise.reject(
          new RackbootError(`MAC ${mac} already belongs to node '${other.name}'`, 'conflict'),
        )
      nodes = nodes.map((n) => (n.name === name ? { ...n, macs: [...n.macs, mac] } : n))
      return Promise.resolve(nodes.find((n) => n.name === name)!)
    },
    unassignMac: (name: string, mac: string) => {
      const n = nodes.find((x) => x.name === name)
      if (!n?.macs.includes(mac))
        return Promise.reject(new RackbootError(`node '${name}' does not have ${mac}`, 'not-found'))
      nodes = nodes.map((x) => (x.name === name ? { ...x, macs: x.macs.filter((y) => y !== mac) } : x))
      return Promise.resolve(nodes.find((x) => x.name === name)!)
    },
  }
  return {
    repo: repo as unknown as InventoryRepo,
    macsOf: (name: string) => nodes.find((n) => n.name === name)!.macs,
    uuids,
  }
}

function controller(nodes: Node[]) {
  let clock = 0
  const inv = fakeRepo(nodes)
  const events: CaptureEvent[] = []
  const changes: CaptureStatus[] = []
  const c = new CaptureController({
    repo: inv.repo,
    now: () => clock,
    logger: silentLogger,
    onEvent: (e) => events.push(e),
    onChange: (s) => changes.push(s),
  })
  return { c, inv, events, changes, at: (t: number) => (clock = t) }
}

describe('capture controller', () => {
  it('assigns in rack order, records the UUID, and reports the next slot', async () => {
    const t = controller(plan())
    expect(t.c.start().next?.node).toBe('n-r1-1')
    await t.c.onPxeDiscover(m(1), 'uuid-1')
    t.at(GUARD)
    await t.c.onPxeDiscover(m(2), undefined)
    expect(t.inv.macsOf('n-r1-1')).toEqual([m(1)])
    expect(t.inv.macsOf('n-r1-2')).toEqual([m(2)])
    expect(t.inv.uuids.get(m(1))).toBe('uuid-1')
    expect(t.c.status().next?.node).toBe('n-r1-10')
    expect(t.events.map((e) => e.kind)).toEqual(['assigned', 'assigned'])
  })

  it('concurrent DISCOVERs are serialised: two MACs never get the same slot', async () => {
    const t = controller(plan())
    t.c.start()
    await Promise.all([t.c.onPxeDiscover(m(1), undefined), t.c.onPxeDiscover(m(2), undefined)])
    // The second arrived inside the guard window: the first is taken back, neither holds a slot until resolved.
    expect(t.inv.macsOf('n-r1-1')).toEqual([])
    expect(t.inv.macsOf('n-r1-2')).toEqual([])
    expect(t.c.status().ambiguity).toEqual({ node: 'n-r1-1', candidates: [m(1), m(2)] })
  })

  it('resolve: the questioned assignment is undone and the chosen order fills the slots', async () => {
    const t = controller(plan())
    t.c.start()
    await t.c.onPxeDiscover(m(1), undefined)
    await t.c.onPxeDiscover(m(2), undefined)
    await t.c.onPxeDiscover(m(3), undefined)
    await expect(t.c.resolve([m(9)])).rejects.toThrow(/not among the candidates/)
    await expect(t.c.resolve([m(2), m(2)])).rejects.toThrow(/twice/)
    const s = await t.c.resolve([m(2), m(1)])
    expect(t.inv.macsOf('n-r1-1')).toEqual([m(2)])
    expect(t.inv.macsOf('n-r1-2')).toEqual([m(1)])
    expect(t.inv.macsOf('n-r1-10')).toEqual([]) // m(3) left out: not assigned
    expect(s.ambiguity).toBeNull()
    await expect(t.c.resolve([m(3)])).rejects.toThrow(/no ambiguity/)
    // Capture goes on after resolving.
    t.at(100 * GUARD)
    await t.c.onPxeDiscover(m(3), undefined)
    expect(t.inv.macsOf('n-r1-10')).toEqual([m(3)])
  })

  it('undo: the last MAC leaves its node, the slot is next again, and there is nothing more to undo', async () => {
    const t = controller(plan())
    t.c.start()
    await t.c.onPxeDiscover(m(1), undefined)
    const s = await t.c.undo()
    expect(t.inv.macsOf('n-r1-1')).toEqual([])
    expect(s.next?.node).toBe('n-r1-1')
    expect(t.events.at(-1)).toMatchObject({ kind: 'undone', mac: m(1), node: 'n-r1-1' })
    await expect(t.c.undo()).rejects.toThrow(/nothing to undo/)
    // No guard window after an undo: the next MAC is taken at once.
    await t.c.onPxeDiscover(m(2), undefined)
    expect(t.inv.macsOf('n-r1-1')).toEqual([m(2)])
  })

  it('stop keeps the waiting list but ends capture; a known MAC is never moved', async () => {
    const t = controller([node('old', 'r0', 1, [m(5)]), ...plan()])
    t.c.start()
    await t.c.onPxeDiscover(m(5), 'u5')
    expect(t.inv.macsOf('old')).toEqual([m(5)])
    expect(t.inv.macsOf('n-r1-1')).toEqual([])
    t.c.stop()
    await t.c.onPxeDiscover(m(6), undefined)
    expect(t.c.status()).toMatchObject({ active: false, waiting: [m(6)] })
  })

  it('a flood of 10,000 unknown PXE MACs pauses with none assigned, and stays bounded', async () => {
    const t = controller(plan())
    t.c.start()
    await Promise.all(Array.from({ length: 10_000 }, (_, i) => t.c.onPxeDiscover(m(i), undefined)))
    const s = t.c.status()
    expect(s.ambiguity!.candidates.length).toBeLessThanOrEqual(MAX_CANDIDATES)
    expect(s.waiting.length).toBeLessThanOrEqual(MAX_WAITING)
    expect(plan().reduce((k, n) => k + t.inv.macsOf(n.name).length, 0)).toBe(0)
  })
})
