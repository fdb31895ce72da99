// @vitest-environment happy-dom
/**
 * The virtual rack in the UI: the dashboard's panel (power per slot, all in rack order with an interval,
 * stage and console, refreshed) and the wizard's interface named for the lab; nothing of it on a plain core.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { VueWrapper } from '@vue/test-utils'
import VirtualRackPanel from '../../../renderer/src/components/VirtualRackPanel.vue'
import DashboardView from '../../../renderer/src/views/DashboardView.vue'
import InterfaceStep from '../../../renderer/src/wizard/steps/InterfaceStep.vue'
import { ContractCallError } from '../../../renderer/src/ipc/client'
import { settingsSchema } from '../../../electron/core/inventory/schema'
import type { InterfaceInfo, LabNodeView, LabStatusView } from '../../../electron/ipc/contract'
import { FakeClient } from './fake-client'
import { flushPromises, mountWith } from './mount'

let wrapper: VueWrapper | null = null
afterEach(() => {
  wrapper?.unmount()
  wrapper = null
})

const slot = (n: number, over: Partial<LabNodeView> = {}): LabNodeView => ({
  slot: n,
  name: `rbvr-node0${n}`,
  mac: `52:54:00:d2:00:0${n}`,
  firmware: 'bios',
  running: false,
  stage: 'off-or-silent',
  bootStage: null,
  bootState: 'off',
  problem: null,
  lastLine: '',
  ...over,
})
const status = (nodes: LabNodeView[], pending: number[] = []): LabStatusView => ({
  prefix: 'rbvr',
  subnet: '198.19.210.0/24',
  interface: 'rbvr-s',
  serverAddress: '198.19.210.1',
  serveRunning: true,
  nodes,
  pending,
})
const notALab = new ContractCallError('lab/status', {
  code: 'not-found',
  message: 'this Rackboot is not a virtual rack',
})
const powerCalls = (c: FakeClient) => c.calls.filter((x) => x.channel === 'lab/power').map((x) => x.request)

async function until(w: VueWrapper, check: () => boolean): Promise<void> {
  // Bounded: the panel polls every 20 ms in these tests; 200 rounds of 10 ms is ample on a busy machine.
  for (let i = 0; i < 200 && !check(); i++) {
    await new Promise((r) => setTimeout(r, 10))
    await flushPromises()
  }
  expect(check()).toBe(true)
}

describe('VirtualRackPanel', () => {
  it('shows nothing on a core that is not a virtual rack, and stops asking', async () => {
    const c = new FakeClient().answer('lab/status', notALab)
    wrapper = await mountWith(VirtualRackPanel, c)
    expect(wrapper.find('[data-test="virtual-rack"]').exists()).toBe(false)
    const asked = c.calls.length
    await new Promise((r) => setTimeout(r, 60))
    expect(c.calls.length).toBe(asked)
  })

  it('a lost connection is no answer: the panel asks again and shows once the lab answers', async () => {
    let calls = 0
    const c = new FakeClient().answer('lab/status', async () => {
      if (calls++ === 0)
        throw new ContractCallError('lab/status', { code: 'internal', message: 'connection dropped' }, true)
      return status([slot(1)])
    })
    wrapper = await mountWith(VirtualRackPanel, c, { everyMs: 20 })
    expect(wrapper.find('[data-test="virtual-rack"]').exists()).toBe(false)
    await until(wrapper, () => wrapper!.find('[data-test="virtual-rack"]').exists())
  })

  it("lists each slot's power, stage and last console line, and powers one slot on", async () => {
    const c = new FakeClient()
      .answer(
        'lab/status',
        status([
          slot(1, {
            running: true,
            stage: 'ipxe',
            bootStage: 'dhcp',
            bootState: 'booting',
            lastLine: 'iPXE 1.21.1 -- Open Source Network Boot Firmware',
          }),
          slot(2),
        ]),
      )
      .answer('lab/power', { slots: [2], pending: [] })
    wrapper = await mountWith(VirtualRackPanel, c)
    const panel = wrapper.get('[data-test="virtual-rack"]')
    expect(panel.get('h3').text()).toContain('Virtual rack (2 QEMU nodes)')
    const row1 = panel.get('tr[data-slot="1"]')
    expect(row1.get('[data-test="lab-stage"]').text()).toBe('dhcp (booting)')
    expect(row1.get('[data-test="lab-console"]').text()).toContain('iPXE 1.21.1')
    expect(row1.find('[data-test="lab-off"]').exists()).toBe(true)
    expect(panel.get('tr[data-slot="2"] [data-test="lab-stage"]').text()).toBe('off')
    await panel.get('tr[data-slot="2"] [data-test="lab-on"]').trigger('click')
    await flushPromises()
    expect(powerCalls(c)).toEqual([{ slot: 2, on: true, intervalS: 0 }])
  })

  it('powers all on in rack order with the interval typed, shows the slots still to come, and refreshes', async () => {
    let answer = status([slot(1), slot(2), slot(3)])
    const c = new FakeClient()
      .answer('lab/status', async () => answer)
      .answer('lab/power', async () => {
        answer = status(
          [slot(1, { running: true, stage: 'pxe', lastLine: 'Booting from ROM...' }), slot(2), slot(3)],
          [2, 3],
        )
        return { slots: [1], pending: [2, 3] }
      })
    wrapper = await mountWith(VirtualRackPanel, c, { everyMs: 20 })
    await wrapper.get('[data-test="lab-interval"]').setValue('7')
    await wrapper.get('[data-test="lab-all-on"]').trigger('click')
    await flushPromises()
    expect(powerCalls(c)).toEqual([{ slot: 'all', on: true, intervalS: 7 }])
    expect(wrapper.get('[data-test="lab-pending"]').text()).toBe('next: slot 2, 3')
    expect(wrapper.get('tr[data-slot="1"] [data-test="lab-console"]').text()).toBe('Booting from ROM...')
    // The next poll brings slot 2 on without any click.
    answer = status(
      [slot(1, { running: true }), slot(2, { running: true, lastLine: 'iPXE initialising' }), slot(3)],
      [3],
    )
    await until(
      wrapper,
      () => wrapper!.get('tr[data-slot="2"] [data-test="lab-console"]').text() === 'iPXE initialising',
    )
    expect(wrapper.get('[data-test="lab-pending"]').text()).toBe('next: slot 3')
    await wrapper.get('[data-test="lab-all-off"]').trigger('click')
    await flushPromises()
    expect(powerCalls(c).at(-1)).toEqual({ slot: 'all', on: false, intervalS: 0 })
  })

  it("shows the core's refusal of a power change", async () => {
    const c = new FakeClient()
      .answer('lab/status', status([slot(1)]))
      .answer(
        'lab/power',
        new ContractCallError('lab/power', { code: 'internal', message: "lab: 'ip netns exec' failed" }),
      )
    wrapper = await mountWith(VirtualRackPanel, c)
    await wrapper.get('[data-test="lab-on"]').trigger('click')
    await flushPromises()
    expect(wrapper.get('[role="alert"]').text()).toContain("'ip netns exec' failed")
  })
})

describe('the virtual rack elsewhere in the UI', () => {
  const nics: InterfaceInfo[] = [
    {
      name: 'lo',
      mac: null,
      ipv4: null,
      up: true,
      speedMbps: null,
      holdsDefaultRoute: false,
      loopback: true,
    },
    {
      name: 'rbvr-s',
      mac: '02:00:00:00:00:01',
      ipv4: { address: '198.19.210.1', prefix: 24, network: '198.19.210.0/24' },
      up: true,
      speedMbps: 10000,
      holdsDefaultRoute: false,
      loopback: false,
    },
  ]

  it("the wizard's interface step names the lab's interface 'Virtual rack (N QEMU nodes)'", async () => {
    const c = new FakeClient()
      .answer('net/interfaces', nics)
      .answer('settings/get', settingsSchema.parse({}))
      .answer('lab/status', status([slot(1), slot(2), slot(3)]))
    wrapper = await mountWith(InterfaceStep, c)
    const labels = wrapper.findAll('[data-test="virtual-rack-nic"]')
    expect(labels.map((l) => l.text())).toEqual(['Virtual rack (3 QEMU nodes)'])
    expect(wrapper.get('[data-nic="rbvr-s"]').text()).toContain('Virtual rack (3 QEMU nodes)')
  })

  it('a plain core: no virtual rack label in the wizard, no panel on the dashboard', async () => {
    const c = new FakeClient()
      .answer('net/interfaces', nics)
      .answer('settings/get', settingsSchema.parse({}))
      .answer('lab/status', notALab)
      .answer('nodes/list', [])
      .answer('stack/counters', { dhcp: null, tftp: null, http: null })
    wrapper = await mountWith(InterfaceStep, c)
    expect(wrapper.find('[data-test="virtual-rack-nic"]').exists()).toBe(false)
    wrapper.unmount()
    wrapper = await mountWith(DashboardView, c)
    expect(wrapper.find('[data-test="node-table"]').exists()).toBe(true)
    expect(wrapper.find('[data-test="virtual-rack"]').exists()).toBe(false)
  })

  it("the dashboard of a lab's core carries the virtual rack panel", async () => {
    const c = new FakeClient()
      .answer('lab/status', status([slot(1)]))
      .answer('nodes/list', [])
      .answer('stack/counters', { dhcp: null, tftp: null, http: null })
    wrapper = await mountWith(DashboardView, c)
    expect(wrapper.get('[data-test="virtual-rack"] h3').text()).toContain('Virtual rack (1 QEMU node)')
  })
})
