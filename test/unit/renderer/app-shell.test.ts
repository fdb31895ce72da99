// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest'
import { mount, flushPromises, type VueWrapper } from '@vue/test-utils'
import { createPinia } from 'pinia'
import { createMemoryHistory } from 'vue-router'
import App from '../../../renderer/src/App.vue'
import { createAppRouter } from '../../../renderer/src/router'
import { clientKey } from '../../../renderer/src/stores/client'
import { settingsSchema } from '../../../electron/core/inventory/schema'
import { FakeClient, node, stackStatus } from './fake-client'

let wrapper: VueWrapper | null = null
afterEach(() => {
  wrapper?.unmount()
  wrapper = null
})

async function mountApp(client: FakeClient, path: string) {
  const router = createAppRouter(createMemoryHistory())
  await router.push(path)
  wrapper = mount(App, {
    attachTo: document.body,
    global: { plugins: [createPinia(), router], provide: { [clientKey as symbol]: client } },
  })
  await flushPromises()
  return { wrapper, router }
}

const client = () =>
  new FakeClient()
    .answer('stack/status', stackStatus({ state: 'running', interface: 'rb0' }))
    .answer('nodes/list', [node({ name: 'cn01' })])
    .answer('net/interfaces', [])
    .answer(
      'settings/get',
      settingsSchema.parse({
        interface: 'rb0',
        subnet: '198.18.0.0/24',
        dhcpMode: 'proxy',
        dns: ['198.18.0.1'],
      }),
    )

describe('app shell', () => {
  it('has the product name, the three pages in the nav and the status bar', async () => {
    const { wrapper } = await mountApp(client(), '/')
    expect(wrapper.get('.product').text()).toBe('Rackboot')
    expect(wrapper.findAll('nav[aria-label="Main"] a').map((a) => a.text())).toEqual([
      'Wizard',
      'Nodes',
      'Settings',
    ])
    expect(wrapper.get('h1').text()).toBe('Wizard')
    // The wizard opens on its first step.
    expect(wrapper.get('h2').text()).toBe('1. Network card and addresses')
    expect(wrapper.get('[role="status"]').text()).toContain('Running')
  })

  it('navigates to Nodes and Settings', async () => {
    const { wrapper, router } = await mountApp(client(), '/wizard')
    await wrapper.findAll('nav[aria-label="Main"] a')[1]!.trigger('click')
    await flushPromises()
    expect(router.currentRoute.value.path).toBe('/nodes')
    expect(wrapper.get('tbody th').text()).toBe('cn01')

    await router.push('/settings')
    await flushPromises()
    const settings = Object.fromEntries(
      wrapper
        .findAll('dl.settings dt')
        .map((dt, i) => [dt.text(), wrapper!.findAll('dl.settings dd')[i]!.text()]),
    )
    expect(settings).toMatchObject({
      Interface: 'rb0',
      Subnet: '198.18.0.0/24',
      'DHCP mode': 'proxy',
      'DNS servers': '198.18.0.1',
      'HTTP port': '9873',
    })
  })

  it('settings follow settings/changed', async () => {
    const c = client()
    const { wrapper } = await mountApp(c, '/settings')
    c.emit('settings/changed', settingsSchema.parse({ interface: 'rb1' }))
    await flushPromises()
    expect(wrapper.get('dl.settings dd').text()).toBe('rb1')
  })
})
