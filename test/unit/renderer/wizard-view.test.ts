// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest'
import { mount, flushPromises, type VueWrapper } from '@vue/test-utils'
import { createPinia } from 'pinia'
import { createMemoryHistory } from 'vue-router'
import App from '../../../renderer/src/App.vue'
import { createAppRouter } from '../../../renderer/src/router'
import { clientKey } from '../../../renderer/src/stores/client'
import { settingsSchema } from '../../../electron/core/inventory/schema'
import { FakeClient, stackStatus } from './fake-client'

let wrapper: VueWrapper | null = null
afterEach(() => {
  wrapper?.unmount()
  wrapper = null
})

const client = () =>
  new FakeClient()
    .answer('stack/status', stackStatus())
    .answer('settings/get', settingsSchema.parse({ subnet: '198.18.0.0/24' }))
    .answer('settings/update', settingsSchema.parse({ interface: 'rb0', subnet: '198.18.0.0/24' }))
    .answer('net/interfaces', [
      {
        name: 'rb0',
        mac: null,
        ipv4: { address: '198.18.0.1', prefix: 24, network: '198.18.0.0/24' },
        up: true,
        speedMbps: null,
        holdsDefaultRoute: false,
        loopback: false,
      },
    ])
    .answer('nodes/list', [])
    .answer('racks/list', [])
    .answer('images/list', [])
    .answer('plan/preview', {
      rack: { name: 'r1', heightU: 42, numbering: 'bottom-up' },
      rackExists: false,
      rackIndex: 0,
      subnet: '198.18.0.0/24',
      nodes: [],
      issues: [],
    })

async function open(path: string) {
  const router = createAppRouter(createMemoryHistory())
  await router.push(path)
  wrapper = mount(App, {
    attachTo: document.body,
    global: { plugins: [createPinia(), router], provide: { [clientKey as symbol]: client() } },
  })
  await flushPromises()
  return { wrapper, router }
}

const steps = (w: VueWrapper) => w.findAll('nav[aria-label="Wizard steps"] a')

describe('WizardView', () => {
  it('lists the five steps and marks the current one', async () => {
    const { wrapper } = await open('/wizard')
    expect(steps(wrapper).map((a) => a.attributes('data-step'))).toEqual([
      'interface',
      'rack',
      'image',
      'nodes',
      'dashboard',
    ])
    expect(steps(wrapper)[0]!.attributes('aria-current')).toBe('step')
    expect(wrapper.get('[data-test="next"]').text()).toBe('Next: Racks →')
    expect(wrapper.find('[data-test="back"]').exists()).toBe(false)
  })

  it('the route names the step, so a reload opens the same one', async () => {
    const { wrapper } = await open('/wizard/rack')
    expect(wrapper.get('h2').text()).toBe('2. Racks and node names')
    expect(steps(wrapper)[1]!.attributes('aria-current')).toBe('step')
  })

  it('step 3 is the Image step, between Racks and Nodes', async () => {
    const { wrapper } = await open('/wizard/image')
    expect(wrapper.get('#step-image-title').text()).toBe('3. Image')
    expect(wrapper.find('[data-test="back"]').text()).toContain('Racks')
    expect(wrapper.find('[data-test="next"]').text()).toContain('Nodes')
  })

  it('arrow keys move along the steps and keep focus on the step list', async () => {
    const { wrapper, router } = await open('/wizard/interface')
    await steps(wrapper)[0]!.trigger('keydown', { key: 'ArrowRight' })
    await flushPromises()
    expect(router.currentRoute.value.path).toBe('/wizard/rack')
    expect(document.activeElement).toBe(steps(wrapper)[1]!.element)
    await steps(wrapper)[1]!.trigger('keydown', { key: 'End' })
    await flushPromises()
    expect(router.currentRoute.value.path).toBe('/wizard/dashboard')
    await steps(wrapper)[4]!.trigger('keydown', { key: 'ArrowRight' })
    await flushPromises()
    expect(router.currentRoute.value.path).toBe('/wizard/dashboard')
  })

  it('saving the interface step moves on to the rack step', async () => {
    const { wrapper, router } = await open('/wizard/interface')
    await wrapper.get('[data-nic="rb0"] input').setValue(true)
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(router.currentRoute.value.path).toBe('/wizard/rack')
  })
})
