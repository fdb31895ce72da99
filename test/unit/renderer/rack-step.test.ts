// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest'
import { mount, type VueWrapper } from '@vue/test-utils'
import { createPinia } from 'pinia'
import { clientKey } from '../../../renderer/src/stores/client'
import RackStep from '../../../renderer/src/wizard/steps/RackStep.vue'
import { ContractCallError } from '../../../renderer/src/ipc/client'
import { planRack, planRequestSchema } from '../../../electron/core/inventory/plan'
import { dbSchema, SCHEMA_VERSION, settingsSchema, type Db } from '../../../electron/core/inventory/schema'
import type { Channel, RequestOf, ResponseOf } from '../../../electron/ipc/contract'
import { FakeClient, node } from './fake-client'
import { flushPromises, mountWith } from './mount'

let wrapper: VueWrapper | null = null
afterEach(() => {
  wrapper?.unmount()
  wrapper = null
})

/** Answers plan/preview with the real planner over a small inventory, like the core would. */
class PlanningClient extends FakeClient {
  constructor(readonly db: Db) {
    super()
    this.answer('settings/get', db.settings).answer('racks/list', db.racks).answer('nodes/list', db.nodes)
  }
  override async call<C extends Channel>(channel: C, request: RequestOf<C>): Promise<ResponseOf<C>> {
    if (channel !== 'plan/preview') return super.call(channel, request)
    this.calls.push({ channel, request })
    return planRack(this.db, planRequestSchema.parse(request)) as ResponseOf<C>
  }
}

const inventory = (extra: object = {}) =>
  dbSchema.parse({
    version: SCHEMA_VERSION,
    settings: settingsSchema.parse({
      subnet: '198.18.0.0/24',
      pool: { start: '198.18.0.128', end: '198.18.0.254' },
    }),
    ...extra,
  })

const rows = (w: VueWrapper) =>
  w.findAll('[data-test="preview"] tbody tr').map((tr) => tr.findAll('th, td').map((c) => c.text().trim()))
const set = async (w: VueWrapper, id: string, value: string) => {
  await w.get(`#rk-${id}`).setValue(value)
  await flushPromises()
}
const applyButton = (w: VueWrapper) => w.get<HTMLButtonElement>('[data-test="apply"]')

describe('RackStep', () => {
  it('previews the first rack live: names, slots, addresses, and the elevation', async () => {
    wrapper = await mountWith(RackStep, new PlanningClient(inventory()))
    expect(rows(wrapper)).toHaveLength(16)
    expect(rows(wrapper)[0]).toEqual(['r1n01', '1', '198.18.0.11', 'ok'])
    expect(rows(wrapper)[15]).toEqual(['r1n16', '16', '198.18.0.26', 'ok'])
    expect(wrapper.findAll('[data-test="elevation"] [data-state="new"]')).toHaveLength(16)
    expect(applyButton(wrapper).text()).toBe('Create r1 with 16 nodes')
    expect(applyButton(wrapper).element.disabled).toBe(false)

    await set(wrapper, 'count', '3')
    await set(wrapper, 'nodeHeightU', '2')
    expect(rows(wrapper).map((r) => r[1])).toEqual(['1–2', '3–4', '5–6'])
    expect(wrapper.get('[data-test="elevation"] [data-node="r1n02"]').attributes('data-slot')).toBe('3')
  })

  it('shows the core’s problems per field and row, and keeps Apply off', async () => {
    const client = new PlanningClient(
      inventory({
        racks: [{ name: 'r1', heightU: 42 }],
        nodes: [node({ name: 'r2n02', rack: 'r1', slot: 30, ipv4: '198.18.0.12' })],
      }),
    )
    wrapper = await mountWith(RackStep, client)
    // The form starts on a free rack name; r1 is taken.
    expect(wrapper.get<HTMLInputElement>('#rk-name').element.value).toBe('r2')
    await set(wrapper, 'count', '3')
    await set(wrapper, 'heightU', '2')
    // r2 is the second rack: its addresses start one offset (32) on.
    expect(wrapper.get('[data-test="ip-summary"]').text()).toContain(
      'this is rack 2, so its first address is 198.18.0.43',
    )
    expect(rows(wrapper)[2]).toEqual(['r2n03', '3', '198.18.0.45', "✖ slot 3 is beyond rack 'r2' (2 U)"])
    expect(wrapper.get('[data-error-for="rk-firstSlot"]').text()).toBe("slot 3 is beyond rack 'r2' (2 U)")
    expect(wrapper.get('[data-error-for="rk-pattern"]').text()).toBe("a node named 'r2n02' already exists")
    expect(wrapper.get('#rk-pattern').attributes('aria-invalid')).toBe('true')
    expect(applyButton(wrapper).element.disabled).toBe(true)
    expect(wrapper.get('[data-test="blocked"]').text()).toBe(
      'Fix 2 problems first; nothing is saved until then.',
    )
    await wrapper.get('form').trigger('submit')
    expect(client.calls.some((c) => c.channel === 'plan/apply')).toBe(false)
  })

  it('format errors show before any call, through the same schema the core uses', async () => {
    const client = new PlanningClient(inventory())
    wrapper = await mountWith(RackStep, client)
    const previews = client.calls.filter((c) => c.channel === 'plan/preview').length
    await set(wrapper, 'heightU', 'tall')
    await set(wrapper, 'name', 'rack 1')
    expect(wrapper.get('[data-error-for="rk-heightU"]').text()).toBe('a whole number')
    expect(wrapper.get('[data-error-for="rk-name"]').text()).toMatch(/host name/)
    expect(client.calls.filter((c) => c.channel === 'plan/preview')).toHaveLength(previews)
    expect(wrapper.find('[data-test="preview"]').exists()).toBe(false)
    expect(applyButton(wrapper).element.disabled).toBe(true)
  })

  it('Apply sends the previewed plan, then moves on to the next rack', async () => {
    const client = new PlanningClient(inventory()).answer('plan/apply', {
      rack: { name: 'r1', heightU: 42, numbering: 'bottom-up' },
      nodes: [node({ name: 'r1n01' }), node({ name: 'r1n02' })],
    })
    wrapper = await mountWith(RackStep, client)
    await set(wrapper, 'count', '2')
    client.answer('racks/list', [{ name: 'r1', heightU: 42, numbering: 'bottom-up' }])
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(client.calls.find((c) => c.channel === 'plan/apply')?.request).toEqual({
      rack: { name: 'r1', heightU: 42, numbering: 'bottom-up' },
      pattern: '{rack}n{01..}',
      count: 2,
      firstSlot: 1,
      nodeHeightU: 1,
      ip: { start: '198.18.0.11', rackOffset: 32 },
    })
    expect(wrapper.get('[data-test="applied"]').text()).toBe('Saved rack r1 with 2 new nodes.')
    expect(wrapper.get<HTMLInputElement>('#rk-name').element.value).toBe('r2')
    expect(wrapper.get('[data-rack="r1"]').text()).toContain('r1 · 42 U')
  })

  it('shows the core’s refusal and saves nothing', async () => {
    const client = new PlanningClient(inventory()).answer(
      'plan/apply',
      new ContractCallError('plan/apply', {
        code: 'bad-request',
        message:
          "plan for rack 'r1' not applied, 1 problem(s): r1n01 name: a node named 'r1n01' already exists",
      }),
    )
    wrapper = await mountWith(RackStep, client)
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-test="apply-error"]').text()).toBe(
      "Nothing was saved. plan for rack 'r1' not applied, 1 problem(s): r1n01 name: a node named 'r1n01' already exists",
    )
    expect(wrapper.find('[data-test="applied"]').exists()).toBe(false)
  })

  it('optional BMC group: no BMC column until set, then each row’s BMC address, collisions shown', async () => {
    const client = new PlanningClient(inventory())
    wrapper = await mountWith(RackStep, client)
    await set(wrapper, 'count', '2')
    expect(wrapper.findAll('[data-test="bmc-cell"]')).toHaveLength(0)
    expect(rows(wrapper)[0]).toEqual(['r1n01', '1', '198.18.0.11', 'ok'])
    await set(wrapper, 'bmcStart', '10.0.0.21')
    await set(wrapper, 'bmcUser', 'admin')
    expect(rows(wrapper)).toEqual([
      ['r1n01', '1', '198.18.0.11', '10.0.0.21 (admin)', 'ok'],
      ['r1n02', '2', '198.18.0.12', '10.0.0.22 (admin)', 'ok'],
    ])
    const last = client.calls.filter((c) => c.channel === 'plan/preview').at(-1)?.request
    expect(last).toMatchObject({ bmc: { start: '10.0.0.21', rackOffset: 32, user: 'admin' } })
    // Format errors come from the core's schema, before any call.
    await set(wrapper, 'bmcStart', '10.0.0.300')
    expect(wrapper.get('[data-error-for="rk-bmcStart"]').text()).toMatch(/IPv4/)
    // A BMC address on a planned boot address is the core's refusal, on the BMC field and the row.
    await set(wrapper, 'bmcStart', '198.18.0.12')
    expect(wrapper.get('[data-error-for="rk-bmcStart"]').text()).toBe(
      "BMC address 198.18.0.12 is already the planned IPv4 of 'r1n02'",
    )
    expect(rows(wrapper)[0]![4]).toBe("✖ BMC address 198.18.0.12 is already the planned IPv4 of 'r1n02'")
    expect(applyButton(wrapper).element.disabled).toBe(true)
  })

  it('draws the nodes already saved in a rack next to the planned ones', async () => {
    const client = new PlanningClient(
      inventory({
        racks: [{ name: 'r1', heightU: 10, numbering: 'top-down' }],
        nodes: [node({ name: 'old1', rack: 'r1', slot: 1, state: 'up', macs: ['52:54:00:00:00:01'] })],
      }),
    )
    wrapper = await mountWith(RackStep, client)
    await wrapper.get('[data-rack="r1"]').trigger('click')
    await set(wrapper, 'count', '2')
    await set(wrapper, 'firstSlot', '2')
    expect(wrapper.get('#rk-heightU').element).toHaveProperty('value', '10')
    expect(wrapper.get('[data-test="elevation"] [data-node="old1"]').attributes('data-state')).toBe('up')
    expect(wrapper.get('[data-test="elevation"] [data-node="old1"] text.mac').text()).toBe(
      '52:54:00:00:00:01',
    )
    expect(wrapper.findAll('[data-test="elevation"] [data-state="new"]')).toHaveLength(2)
    expect(applyButton(wrapper).text()).toBe('Add 2 nodes to r1')
  })
})

describe('RackStep opened on a rack', () => {
  it('continues that rack above its highest node', async () => {
    const client = new PlanningClient(
      inventory({
        racks: [{ name: 'r1', heightU: 42 }],
        nodes: [
          node({ name: 'a', rack: 'r1', slot: 1, heightU: 2 }),
          node({ name: 'b', rack: 'r1', slot: 3, heightU: 2 }),
        ],
      }),
    )
    wrapper = mount(RackStep, {
      props: { rack: 'r1' },
      attachTo: document.body,
      global: { plugins: [createPinia()], provide: { [clientKey as symbol]: client } },
    })
    await flushPromises()
    expect(wrapper.get<HTMLInputElement>('#rk-name').element.value).toBe('r1')
    expect(wrapper.get<HTMLInputElement>('#rk-firstSlot').element.value).toBe('5')
    expect(wrapper.emitted('pick')).toEqual([['r1']])
    await wrapper.get('[data-test="new-rack"]').trigger('click')
    expect(wrapper.get<HTMLInputElement>('#rk-name').element.value).toBe('r2')
    expect(wrapper.emitted('pick')?.at(-1)).toEqual([null])
  })
})
