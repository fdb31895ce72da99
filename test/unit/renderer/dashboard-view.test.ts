// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { VueWrapper } from '@vue/test-utils'
import DashboardView from '../../../renderer/src/views/DashboardView.vue'
import type { BootEvent, Channel } from '../../../electron/ipc/contract'
import { FakeClient, node } from './fake-client'
import { flushPromises, mountWith } from './mount'

let wrapper: VueWrapper | null = null
afterEach(() => {
  wrapper?.unmount()
  wrapper = null
  vi.restoreAllMocks()
})

const M1 = '52:54:00:00:01:01'
const M2 = '52:54:00:00:01:02'
const nodes = () => [
  node({ name: 'node01', rack: 'r1', slot: 1, macs: [M1], ipv4: '198.18.0.11', state: 'booting' }),
  node({ name: 'node02', rack: 'r1', slot: 2, macs: [M2], ipv4: '198.18.0.12', state: 'captured' }),
  node({ name: 'gpu01', rack: 'r2', slot: 1, state: 'up' }),
]
const ev = (over: Partial<BootEvent>): BootEvent => ({
  time: '2026-11-26T10:00:00.000Z',
  mac: M1,
  node: 'node01',
  stage: 'dhcp',
  step: 'discover',
  ...over,
})
const client = () =>
  new FakeClient()
    .answer('nodes/list', nodes())
    .answer('stack/counters', {
      dhcp: { received: 12, malformed: 1 },
      tftp: { 'transfers.failed': 2 },
      http: null,
    })
    .answer('export/render', { text: 'name,mac\nnode01,52:54:00:00:01:01\n' })
const callsTo = (c: FakeClient, channel: Channel) => c.calls.filter((x) => x.channel === channel)
const cell = (w: VueWrapper, n: string, stage: string) =>
  w.get(`tr[data-node="${n}"] [data-stage="${stage}"]`).attributes('data-status')

describe('DashboardView', () => {
  it('builds each node timeline from boot events, with bytes and the next step on failure', async () => {
    const c = client()
    wrapper = await mountWith(DashboardView, c)
    c.emit('boot/event', ev({ step: 'discover' }))
    c.emit('boot/event', ev({ step: 'ack' }))
    c.emit('boot/event', ev({ stage: 'tftp', step: 'start', bytes: 0, total: 1_048_576 }))
    c.emit(
      'boot/event',
      ev({
        stage: 'tftp',
        step: 'done',
        bytes: 1_048_576,
        total: 1_048_576,
        time: '2026-11-26T10:00:02.000Z',
      }),
    )
    c.emit('boot/event', ev({ stage: 'kernel', step: 'progress', bytes: 4096, total: 8192 }))
    c.emit(
      'boot/event',
      ev({ mac: M2, node: 'node02', stage: 'tftp', step: 'failed', detail: 'ipxe.efi: not found' }),
    )
    await flushPromises()
    expect(cell(wrapper, 'node01', 'dhcp')).toBe('done')
    expect(cell(wrapper, 'node01', 'tftp')).toBe('done')
    // Watched from DHCP on, and no iPXE script fetch was seen between TFTP and the kernel.
    expect(cell(wrapper, 'node01', 'ipxe')).toBe('skipped')
    expect(cell(wrapper, 'node01', 'kernel')).toBe('active')
    expect(cell(wrapper, 'node01', 'image')).toBe('pending')
    expect(wrapper.get('tr[data-node="node01"] [data-stage="tftp"]').text()).toContain('1.0 MiB · 512 KiB/s')
    expect(wrapper.get('tr[data-node="node01"] [data-stage="kernel"]').text()).toContain('4.0 KiB / 8.0 KiB')
    expect(cell(wrapper, 'node02', 'tftp')).toBe('failed')
    expect(wrapper.get('tr[data-node="node02"] [data-test="problem"]').text()).toContain('rackboot doctor')
    expect(cell(wrapper, 'gpu01', 'up')).toBe('done')
  })

  it('names a DHCP discover nobody answered, also for a MAC the inventory does not know', async () => {
    const c = client()
    wrapper = await mountWith(DashboardView, c)
    c.emit('boot/event', ev({ mac: '52:54:00:99:99:99', node: null }))
    await flushPromises()
    const row = wrapper.get('tr[data-node="mac:52:54:00:99:99:99"]')
    expect(row.text()).toContain('(unknown MAC)')
    expect(row.get('[data-test="problem"]').text()).toContain('no DHCP answer: is capture on')
  })

  it('filters by rack, state and text', async () => {
    const c = client()
    wrapper = await mountWith(DashboardView, c)
    const names = () => wrapper!.findAll('tbody tr[data-node]').map((r) => r.attributes('data-node'))
    expect(names()).toEqual(['node01', 'node02', 'gpu01'])
    await wrapper.get('[data-test="filter-rack"]').setValue('r2')
    expect(names()).toEqual(['gpu01'])
    await wrapper.get('[data-test="filter-rack"]').setValue('')
    await wrapper.get('[data-test="filter-state"]').setValue('captured')
    expect(names()).toEqual(['node02'])
    await wrapper.get('[data-test="filter-state"]').setValue('')
    await wrapper.get('[data-test="filter-text"]').setValue('198.18.0.11')
    expect(names()).toEqual(['node01'])
  })

  it('renders the stack counters and polls them until unmounted', async () => {
    vi.useFakeTimers()
    try {
      const c = client()
      wrapper = await mountWith(DashboardView, c)
      const counters = wrapper.get('[data-test="counters"]')
      expect(counters.get('[data-service="dhcp"]').text()).toContain('received 12')
      expect(counters.get('[data-service="tftp"]').text()).toContain('transfers.failed 2')
      expect(counters.get('[data-service="http"]').text()).toContain('not running')
      const before = callsTo(c, 'stack/counters').length
      await vi.advanceTimersByTimeAsync(3000)
      expect(callsTo(c, 'stack/counters').length).toBe(before + 1)
      wrapper.unmount()
      wrapper = null
      await vi.advanceTimersByTimeAsync(30000)
      expect(callsTo(c, 'stack/counters').length).toBe(before + 1)
      expect(c.listenerCount('boot/event')).toBe(0)
    } finally {
      vi.useRealTimers()
    }
  })

  it('exports CSV by default from its Export control, through export/render, as a Blob download', async () => {
    const c = client()
    const created: Blob[] = []
    URL.createObjectURL = vi.fn((b: Blob) => {
      created.push(b)
      return 'blob:fake'
    })
    URL.revokeObjectURL = vi.fn()
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(() => {})
    wrapper = await mountWith(DashboardView, c)
    expect(wrapper.find('[data-test="export-menu"]').exists()).toBe(true)
    await wrapper.get('[data-test="export-download"]').trigger('click')
    await flushPromises()
    expect(callsTo(c, 'export/render').map((x) => x.request)).toEqual([{ format: 'csv' }])
    expect(created).toHaveLength(1)
    expect(await created[0]!.text()).toContain('node01,52:54:00:00:01:01')
    expect(click).toHaveBeenCalledOnce()
  })

  it("after a reload, shows each node's newest boot as the core saved it (nodes/timeline)", async () => {
    const saved = [ev({ step: 'discover' }), ev({ step: 'ack' }), ev({ stage: 'ipxe', step: 'done' })]
    const c = client().answer('nodes/timeline', async () => [
      {
        version: 1 as const,
        id: '52-54-00-00-01-01/2026-11-26T10:00:00.000Z',
        mac: M1,
        node: 'node01',
        startedAt: saved[0]!.time,
        updatedAt: saved[2]!.time,
        clientType: 'iPXE',
        ip: '198.18.0.11',
        milestones: [],
        serverRestarts: [],
        events: saved,
        transfers: {},
        state: 'running' as const,
        stage: 'ipxe-script' as const,
        problem: null,
      },
    ])
    wrapper = await mountWith(DashboardView, c)
    await flushPromises()
    expect(callsTo(c, 'nodes/timeline').map((x) => x.request)).toEqual([
      { node: 'node01', limit: 1 },
      { node: 'node02', limit: 1 },
      { node: 'gpu01', limit: 1 },
    ])
    expect(cell(wrapper, 'node01', 'dhcp')).toBe('done')
    expect(cell(wrapper, 'node01', 'ipxe')).toBe('done')
    expect(cell(wrapper, 'node01', 'kernel')).toBe('pending')
    expect(wrapper.get('[data-test="history-note"]').text()).toContain('rackboot nodes timeline')
  })
})
