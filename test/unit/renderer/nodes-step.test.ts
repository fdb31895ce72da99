// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest'
import type { VueWrapper } from '@vue/test-utils'
import NodesStep from '../../../renderer/src/wizard/steps/NodesStep.vue'
import type { CaptureStatus, Channel, RequestOf, ResponseOf } from '../../../electron/ipc/contract'
import { rackSchema, type Node } from '../../../electron/core/inventory/schema'
import { parseVendorMacList } from '../../../electron/core/interop/vendor-macs'
import { planVendorMacs } from '../../../electron/core/interop/vendor-apply'
import { FakeClient, node } from './fake-client'
import { flushPromises, mountWith } from './mount'

let wrapper: VueWrapper | null = null
afterEach(() => {
  wrapper?.unmount()
  wrapper = null
})

const A = '52:54:00:00:00:0a'
const B = '52:54:00:00:00:0b'
const planned = (): Node[] =>
  Array.from({ length: 8 }, (_, i) =>
    node({ name: `node0${i + 1}`, rack: 'r1', slot: i + 1, macs: i < 6 ? [`52:54:00:00:01:0${i + 1}`] : [] }),
  )
const status = (over: Partial<CaptureStatus> = {}): CaptureStatus => ({
  active: true,
  ambiguity: null,
  last: null,
  next: { node: 'node07', rack: 'r1', slot: 7 },
  waiting: [],
  ...over,
})

/** Answers import/macs with the core's own planner over the nodes, like the handler does. */
class NodesClient extends FakeClient {
  constructor(public nodes: Node[]) {
    super()
    this.answer('nodes/list', nodes).answer('racks/list', [rackSchema.parse({ name: 'r1', heightU: 12 })])
  }
  override async call<C extends Channel>(channel: C, request: RequestOf<C>): Promise<ResponseOf<C>> {
    if (channel !== 'import/macs') return super.call(channel, request)
    this.calls.push({ channel, request })
    const r = request as RequestOf<'import/macs'>
    const plan = planVendorMacs(this.nodes, parseVendorMacList(r.text))
    // Like repo.assignVendorMacs: problems refuse the list unless forced, dry run or not.
    if (plan.problems.length > 0 && !r.force)
      throw new Error(`MAC list refused, nothing was saved:\n${plan.problems.join('\n')}`)
    return { ...plan, dryRun: r.dryRun ?? false, saved: !r.dryRun } as ResponseOf<C>
  }
}

const callsTo = (c: FakeClient, channel: Channel) => c.calls.filter((x) => x.channel === channel)

describe('NodesStep, capture', () => {
  it('prompts for the next slot and outlines it in the elevation', async () => {
    const client = new NodesClient(planned()).answer('capture/status', status())
    wrapper = await mountWith(NodesStep, client)
    expect(wrapper.get('[data-test="prompt"]').text()).toBe(
      'Power on the node in rack r1 slot 7 (node07) now',
    )
    expect(wrapper.get('[data-test="next-slot"]').attributes('data-slot')).toBe('7')
    expect(wrapper.get('[data-test="slot-list"] tr[data-node="node07"]').classes()).toContain('next')
  })

  it('shows an assigned MAC in its slot and flashes that row', async () => {
    const client = new NodesClient(planned()).answer('capture/status', status())
    wrapper = await mountWith(NodesStep, client)
    const after = planned().map((n) =>
      n.name === 'node07' ? { ...n, macs: [A], state: 'captured' as const } : n,
    )
    // In the core's order, each in its own message: the store write, the capture event, the new status.
    client.emit('nodes/changed', { nodes: after })
    await flushPromises()
    client.emit('capture/event', {
      kind: 'assigned',
      mac: A,
      node: 'node07',
      time: '2026-11-26T10:00:00.000Z',
    })
    await flushPromises()
    client.emit(
      'capture/changed',
      status({ last: { mac: A, node: 'node07' }, next: { node: 'node08', rack: 'r1', slot: 8 } }),
    )
    await flushPromises()
    const row = wrapper.get('[data-test="slot-list"] tr[data-node="node07"]')
    expect(row.text()).toContain(A)
    expect(row.classes()).toContain('flash')
    expect(wrapper.get('[data-test="elevation"] [data-node="node07"]').text()).toContain(A)
    expect(wrapper.get('[data-test="elevation"] [data-node="node07"]').classes()).toContain('flash-slot')
    expect(wrapper.get('[data-test="prompt"]').text()).toContain('slot 8 (node08)')
    expect(wrapper.get('[data-test="capture-log"]').text()).toContain(`${A} → node07`)
  })

  it('resolves an ambiguity with the order the engineer chose', async () => {
    const client = new NodesClient(planned())
      .answer('capture/status', status({ ambiguity: { node: 'node07', candidates: [A, B] } }))
      .answer('capture/resolve', status())
    wrapper = await mountWith(NodesStep, client)
    const panel = wrapper.get('[data-test="ambiguity"]')
    expect(panel.text()).toContain(A)
    expect(panel.text()).toContain(B)
    await wrapper.get(`[data-test="first-${B}"]`).trigger('click')
    await wrapper.get('[data-test="resolve"]').trigger('click')
    await flushPromises()
    expect(callsTo(client, 'capture/resolve').map((c) => c.request)).toEqual([{ order: [B, A] }])
    expect(wrapper.find('[data-test="ambiguity"]').exists()).toBe(false)
  })

  it('discards one candidate of an ambiguity', async () => {
    const client = new NodesClient(planned())
      .answer('capture/status', status({ ambiguity: { node: 'node07', candidates: [A, B] } }))
      .answer('capture/resolve', status())
    wrapper = await mountWith(NodesStep, client)
    await wrapper.get(`[data-test="discard-${A}"]`).trigger('click')
    await wrapper.get('[data-test="resolve"]').trigger('click')
    await flushPromises()
    expect(callsTo(client, 'capture/resolve').map((c) => c.request)).toEqual([{ order: [B] }])
  })

  it('undoes the last assignment', async () => {
    const client = new NodesClient(planned())
      .answer('capture/status', status({ last: { mac: A, node: 'node06' } }))
      .answer('capture/undo', status())
    wrapper = await mountWith(NodesStep, client)
    const undo = wrapper.get<HTMLButtonElement>('[data-test="capture-undo"]')
    expect(undo.text()).toContain(`${A} → node06`)
    await undo.trigger('click')
    await flushPromises()
    expect(callsTo(client, 'capture/undo')).toHaveLength(1)
    expect(wrapper.get<HTMLButtonElement>('[data-test="capture-undo"]').element.disabled).toBe(true)
  })

  it('shows the core refusing an undo', async () => {
    const client = new NodesClient(planned())
      .answer('capture/status', status({ last: { mac: A, node: 'node06' } }))
      .answer('capture/undo', new Error('nothing to undo: no assignment since capture started'))
    wrapper = await mountWith(NodesStep, client)
    await wrapper.get('[data-test="capture-undo"]').trigger('click')
    await flushPromises()
    expect(wrapper.get('[data-test="capture-error"]').text()).toContain('nothing to undo')
  })

  it('warns about a duplicate MAC', async () => {
    const client = new NodesClient(planned()).answer('capture/status', status())
    wrapper = await mountWith(NodesStep, client)
    client.emit('capture/event', {
      kind: 'duplicate',
      mac: A,
      node: 'node07',
      detail: "MAC 52:54:00:00:00:0a already belongs to node 'x1'",
      time: '2026-11-26T10:00:00.000Z',
    })
    await flushPromises()
    expect(wrapper.get('[data-test="duplicates"]').text()).toContain("already belongs to node 'x1'")
  })

  it('swaps two slots with the keyboard: pick a MAC, then choose the slot', async () => {
    const client = new NodesClient(planned()).answer('capture/status', status()).answer('nodes/swap', {
      a: planned()[1]!,
      b: planned()[2]!,
    })
    wrapper = await mountWith(NodesStep, client)
    expect(wrapper.find('[data-test="swap-into-node03"]').exists()).toBe(false)
    await wrapper.get('[data-test="pick-node02"]').trigger('click')
    await wrapper.get('[data-test="swap-into-node07"]').trigger('click')
    await flushPromises()
    expect(callsTo(client, 'nodes/swap').map((c) => c.request)).toEqual([{ a: 'node02', b: 'node07' }])
  })
})

describe('NodesStep, drag and drop', () => {
  it('swaps the dragged MAC with the slot it is dropped on', async () => {
    const client = new NodesClient(planned()).answer('capture/status', status()).answer('nodes/swap', {
      a: planned()[0]!,
      b: planned()[7]!,
    })
    wrapper = await mountWith(NodesStep, client)
    const carried = new Map<string, string>()
    const dataTransfer = {
      setData: (k: string, v: string) => carried.set(k, v),
      getData: (k: string) => carried.get(k) ?? '',
      effectAllowed: 'all',
    }
    await wrapper.get('[data-test="pick-node01"]').trigger('dragstart', { dataTransfer })
    await wrapper.get('[data-test="slot-list"] tr[data-node="node08"]').trigger('drop', { dataTransfer })
    await flushPromises()
    expect(callsTo(client, 'nodes/swap').map((c) => c.request)).toEqual([{ a: 'node01', b: 'node08' }])
  })
})

describe('NodesStep, vendor MAC list', () => {
  const open = async (client: FakeClient) => {
    wrapper = await mountWith(NodesStep, client)
    await wrapper.get('[data-test="mode-maclist"]').trigger('click')
    return wrapper
  }

  it('shows per-line errors and duplicates of the dry run, and keeps Assign off', async () => {
    const client = new NodesClient(planned()).answer('capture/status', status())
    const w = await open(client)
    await w.get('[data-test="maclist-text"]').setValue(`${A}\nnot-a-mac\n${A}\n`)
    expect(w.get<HTMLButtonElement>('[data-test="maclist-assign"]').element.disabled).toBe(true)
    await w.get('[data-test="maclist-check"]').trigger('click')
    await flushPromises()
    // The check asks for the forced outcome, so the problems come with what the rest would do; saving nothing.
    expect(callsTo(client, 'import/macs')[0]!.request).toMatchObject({ dryRun: true, force: true })
    const problems = w.get('[data-test="maclist-problems"]').text()
    expect(problems).toContain('line 2')
    expect(problems).toContain(`MAC ${A} is already on line 1`)
    expect(w.get<HTMLButtonElement>('[data-test="maclist-assign"]').element.disabled).toBe(true)
  })

  it('enables Assign for a clean list, previews it in the elevation, and sends dryRun false', async () => {
    const client = new NodesClient(planned()).answer('capture/status', status())
    const w = await open(client)
    await w.get('[data-test="maclist-text"]').setValue(`${A}\n${B}\n`)
    await w.get('[data-test="maclist-check"]').trigger('click')
    await flushPromises()
    expect(w.find('[data-test="maclist-problems"]').exists()).toBe(false)
    const preview = w.get('[data-test="elevation"] [data-node="node07"]')
    expect(preview.attributes('data-state')).toBe('new')
    expect(preview.text()).toContain(A)
    const assign = w.get<HTMLButtonElement>('[data-test="maclist-assign"]')
    expect(assign.element.disabled).toBe(false)
    // Editing the text after the check turns Assign off again until the next check.
    await w.get('[data-test="maclist-text"]').setValue(`${A}\n`)
    expect(assign.element.disabled).toBe(true)
    await w.get('[data-test="maclist-text"]').setValue(`${A}\n${B}\n`)
    await w.get('[data-test="maclist-check"]').trigger('click')
    await flushPromises()
    await w.get('[data-test="maclist-assign"]').trigger('click')
    await flushPromises()
    expect(callsTo(client, 'import/macs').at(-1)!.request).toMatchObject({ dryRun: false, force: false })
    expect(w.get('[data-test="maclist-saved"]').text()).toContain('Assigned 2 MACs')
  })

  it('assigns anyway only after the explicit confirmation, with force', async () => {
    const client = new NodesClient(planned()).answer('capture/status', status())
    const w = await open(client)
    // Three MACs for two empty slots: a count mismatch, with assignments still possible.
    await w.get('[data-test="maclist-text"]').setValue(`${A}\n${B}\n52:54:00:00:00:0c\n`)
    await w.get('[data-test="maclist-check"]').trigger('click')
    await flushPromises()
    expect(w.get('[data-test="maclist-problems"]').text()).not.toBe('')
    const force = w.get<HTMLButtonElement>('[data-test="maclist-force"]')
    expect(force.element.disabled).toBe(true)
    await w.get('[data-test="maclist-force-confirm"]').setValue(true)
    expect(force.element.disabled).toBe(false)
    await force.trigger('click')
    await flushPromises()
    expect(callsTo(client, 'import/macs').at(-1)!.request).toMatchObject({ dryRun: false, force: true })
  })
})
