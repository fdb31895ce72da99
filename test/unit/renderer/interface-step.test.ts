// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest'
import type { VueWrapper } from '@vue/test-utils'
import InterfaceStep from '../../../renderer/src/wizard/steps/InterfaceStep.vue'
import { ContractCallError } from '../../../renderer/src/ipc/client'
import { settingsSchema } from '../../../electron/core/inventory/schema'
import type { InterfaceInfo } from '../../../electron/ipc/contract'
import { FakeClient } from './fake-client'
import { flushPromises, mountWith } from './mount'

let wrapper: VueWrapper | null = null
afterEach(() => {
  wrapper?.unmount()
  wrapper = null
})

const nics: InterfaceInfo[] = [
  {
    name: 'eth0',
    mac: '00:16:3e:00:00:01',
    ipv4: { address: '10.1.2.3', prefix: 16, network: '10.1.0.0/16' },
    up: true,
    speedMbps: 1000,
    holdsDefaultRoute: true,
    loopback: false,
  },
  {
    name: 'rb0',
    mac: '00:16:3e:00:00:02',
    ipv4: { address: '198.18.0.1', prefix: 24, network: '198.18.0.0/24' },
    up: false,
    speedMbps: null,
    holdsDefaultRoute: false,
    loopback: false,
  },
]

const client = (settings: object = {}) =>
  new FakeClient().answer('net/interfaces', nics).answer('settings/get', settingsSchema.parse(settings))

const input = (w: VueWrapper, field: string) => w.get<HTMLInputElement>(`#if-${field}`)
const errorFor = (w: VueWrapper, field: string) => w.find(`[data-error-for="if-${field}"]`)

describe('InterfaceStep', () => {
  it('lists every NIC with address, link and speed, and warns on the one holding the default route', async () => {
    wrapper = await mountWith(InterfaceStep, client())
    const cards = wrapper.findAll('[data-nic]')
    expect(cards.map((c) => c.attributes('data-nic'))).toEqual(['eth0', 'rb0'])
    expect(cards[0]!.text()).toContain('10.1.2.3/16')
    expect(cards[0]!.text()).toContain('link up · 1 Gb/s')
    expect(cards[1]!.text()).toContain('link down · speed unknown')
    expect(cards[0]!.find('[data-test="default-route-warning"]').text()).toMatch(/default route/)
    expect(cards[1]!.find('[data-test="default-route-warning"]').exists()).toBe(false)
    const probe = wrapper.get<HTMLButtonElement>('[data-test="rogue-dhcp"] button')
    expect(probe.text()).toBe('Check for other DHCP servers')
    expect(probe.element.disabled).toBe(true) // no NIC chosen yet
  })

  it('runs the rogue-DHCP probe on the chosen NIC and shows what answered, with the way out', async () => {
    const c = client().answer('net/probe-dhcp', [
      { serverId: '198.18.0.254', from: '198.18.0.254', offered: '198.18.0.77', bootFile: 'pxelinux.0' },
    ])
    wrapper = await mountWith(InterfaceStep, c)
    await wrapper.get('[data-nic="rb0"] input').setValue(true)
    await wrapper.get('[data-test="rogue-dhcp"] button').trigger('click')
    await flushPromises()
    const text = wrapper.get('[data-test="rogue-dhcp"]').text()
    expect(text).toContain('Another DHCP server answers on rb0')
    expect(text).toContain('198.18.0.254 offered 198.18.0.77, boot file pxelinux.0')
    expect(text).toContain('proxyDHCP')
  })

  it('choosing a NIC fills subnet, the upper half as pool, and no gateway', async () => {
    wrapper = await mountWith(InterfaceStep, client({ gateway: '198.18.0.254' }))
    await wrapper.get('[data-nic="rb0"] input').setValue(true)
    expect(input(wrapper, 'subnet').element.value).toBe('198.18.0.0/24')
    expect(input(wrapper, 'poolStart').element.value).toBe('198.18.0.128')
    expect(input(wrapper, 'poolEnd').element.value).toBe('198.18.0.254')
    expect(input(wrapper, 'gateway').element.value).toBe('')
  })

  it('shows a message on each bad field and saves nothing', async () => {
    const c = client()
    wrapper = await mountWith(InterfaceStep, c)
    await wrapper.get('[data-nic="rb0"] input').setValue(true)
    await input(wrapper, 'subnet').setValue('198.18.0.0/33')
    await input(wrapper, 'gateway').setValue('198.18.1.1')
    await input(wrapper, 'dns').setValue('198.18.0.1, nope')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(errorFor(wrapper, 'subnet').text()).toMatch(/CIDR/)
    expect(input(wrapper, 'subnet').attributes('aria-invalid')).toBe('true')
    expect(input(wrapper, 'subnet').attributes('aria-describedby')).toContain('if-subnet-error')
    expect(errorFor(wrapper, 'dns').text()).toContain("'nope' is not an IPv4 address")
    expect(c.calls.some((x) => x.channel === 'settings/update')).toBe(false)

    // Fixing the subnet shows the next real problem: the gateway is outside it.
    await input(wrapper, 'subnet').setValue('198.18.0.0/24')
    expect(errorFor(wrapper, 'subnet').exists()).toBe(false)
    expect(errorFor(wrapper, 'gateway').text()).toBe('198.18.1.1 is outside 198.18.0.0/24')
  })

  it('the pool may not hold the laptop’s own address', async () => {
    wrapper = await mountWith(InterfaceStep, client())
    await wrapper.get('[data-nic="rb0"] input').setValue(true)
    await input(wrapper, 'poolStart').setValue('198.18.0.1')
    await wrapper.get('form').trigger('submit')
    expect(errorFor(wrapper, 'poolStart').text()).toContain('own address 198.18.0.1')
  })

  it('saves through settings/update and reports saved', async () => {
    const c = client().answer(
      'settings/update',
      settingsSchema.parse({ interface: 'rb0', subnet: '198.18.0.0/24', dhcpMode: 'server' }),
    )
    wrapper = await mountWith(InterfaceStep, c)
    await wrapper.get('[data-nic="rb0"] input').setValue(true)
    await input(wrapper, 'domain').setValue('rack.lan')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(c.calls.find((x) => x.channel === 'settings/update')?.request).toEqual({
      interface: 'rb0',
      dhcpMode: 'server',
      subnet: '198.18.0.0/24',
      domain: 'rack.lan',
      pool: { start: '198.18.0.128', end: '198.18.0.254' },
      gateway: null,
      dns: [],
    })
    expect(wrapper.emitted('saved')).toHaveLength(1)
    expect(wrapper.get('[data-test="saved"]').text()).toBe('Saved.')
  })

  it('proxyDHCP hides the pool and does not send one', async () => {
    const c = client({ dhcpMode: 'off' }).answer(
      'settings/update',
      settingsSchema.parse({ dhcpMode: 'proxy' }),
    )
    wrapper = await mountWith(InterfaceStep, c)
    await wrapper.get('[data-nic="rb0"] input').setValue(true)
    await wrapper.get('input[value="proxy"]').setValue(true)
    expect(wrapper.find('#if-poolStart').exists()).toBe(false)
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    const sent = c.calls.find((x) => x.channel === 'settings/update')?.request as Record<string, unknown>
    expect(sent).toMatchObject({ dhcpMode: 'proxy', interface: 'rb0' })
    expect(sent).not.toHaveProperty('pool')
  })

  it('shows the core’s reason when settings/update refuses', async () => {
    const c = client().answer(
      'settings/update',
      new ContractCallError('settings/update', {
        code: 'bad-request',
        message: 'settings: pool.start: an IPv4 address, e.g. 198.18.0.10',
      }),
    )
    wrapper = await mountWith(InterfaceStep, c)
    await wrapper.get('[data-nic="rb0"] input').setValue(true)
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-test="server-error"]').text()).toContain(
      'settings: pool.start: an IPv4 address, e.g. 198.18.0.10',
    )
    expect(wrapper.emitted('saved')).toBeUndefined()
  })

  it('starts from the saved settings (a reload shows what the core holds)', async () => {
    wrapper = await mountWith(
      InterfaceStep,
      client({
        interface: 'rb0',
        subnet: '198.18.0.0/24',
        pool: { start: '198.18.0.200', end: '198.18.0.220' },
        dhcpMode: 'server',
      }),
    )
    expect(wrapper.get<HTMLInputElement>('[data-nic="rb0"] input').element.checked).toBe(true)
    expect(input(wrapper, 'poolStart').element.value).toBe('198.18.0.200')
  })
})
