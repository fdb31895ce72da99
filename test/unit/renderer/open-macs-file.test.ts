// @vitest-environment happy-dom
/** A MAC list the OS opened (`import/macs-file`) lands in the Nodes step's MAC list panel, checked, unsaved. */
import { afterEach, describe, expect, it } from 'vitest'
import { mount, type VueWrapper } from '@vue/test-utils'
import { createPinia } from 'pinia'
import { createMemoryHistory } from 'vue-router'
import App from '../../../renderer/src/App.vue'
import { createAppRouter } from '../../../renderer/src/router'
import { clientKey } from '../../../renderer/src/stores/client'
import NodesStep from '../../../renderer/src/wizard/steps/NodesStep.vue'
import type { CaptureStatus, Channel, RequestOf, ResponseOf } from '../../../electron/ipc/contract'
import { rackSchema, type Node } from '../../../electron/core/inventory/schema'
import { parseVendorMacList } from '../../../electron/core/interop/vendor-macs'
import { planVendorMacs } from '../../../electron/core/interop/vendor-apply'
import { useOpenedMacsStore } from '../../../renderer/src/stores/opened-macs'
import { FakeClient, node, stackStatus } from './fake-client'
import { flushPromises, mountWith } from './mount'

let wrapper: VueWrapper | null = null
afterEach(() => {
  wrapper?.unmount()
  wrapper = null
})

const planned = (): Node[] =>
  Array.from({ length: 4 }, (_, i) => node({ name: `node0${i + 1}`, rack: 'r1', slot: i + 1, macs: [] }))
const capture: CaptureStatus = { active: false, ambiguity: null, last: null, next: null, waiting: [] }

class NodesClient extends FakeClient {
  constructor(public nodes: Node[]) {
    super()
    this.answer('nodes/list', nodes)
      .answer('racks/list', [rackSchema.parse({ name: 'r1', heightU: 12 })])
      .answer('capture/status', capture)
  }
  override async call<C extends Channel>(channel: C, request: RequestOf<C>): Promise<ResponseOf<C>> {
    if (channel !== 'import/macs') return super.call(channel, request)
    this.calls.push({ channel, request })
    const r = request as RequestOf<'import/macs'>
    const plan = planVendorMacs(this.nodes, parseVendorMacList(r.text))
    return { ...plan, dryRun: r.dryRun ?? false, saved: !r.dryRun } as ResponseOf<C>
  }
}

describe('a MAC list opened from the OS', () => {
  it('switches the Nodes step to the MAC list, fills it and runs only the dry run', async () => {
    const client = new NodesClient(planned())
    wrapper = await mountWith(NodesStep, client)
    const stop = useOpenedMacsStore().start()
    expect(wrapper.find('[data-test="maclist-text"]').exists()).toBe(false)

    const text = '52:54:00:00:02:01\n52:54:00:00:02:02\n'
    client.emit('import/macs-file', { name: 'rack1.macs', text })
    await flushPromises()
    expect((wrapper.get('[data-test="maclist-text"]').element as HTMLTextAreaElement).value).toBe(text)
    expect(wrapper.get('[data-test="maclist-opened"]').text()).toContain('rack1.macs')
    const imports = client.calls.filter((c) => c.channel === 'import/macs')
    expect(imports).toEqual([{ channel: 'import/macs', request: { text, dryRun: true, force: true } }])
    expect(wrapper.get('[data-test="maclist-result"]').text()).toContain('2 MACs would be assigned')
    // Taken once: the store holds nothing more.
    expect(useOpenedMacsStore().pending).toBeNull()
    stop()
    expect(client.listenerCount('import/macs-file')).toBe(0)
  })
})

describe('the app shell and an opened MAC list', () => {
  it('goes to the Nodes step when the OS opens a MAC list', async () => {
    const client = new NodesClient(planned()).answer('stack/status', stackStatus())
    const router = createAppRouter(createMemoryHistory())
    await router.push('/dashboard')
    wrapper = mount(App, {
      attachTo: document.body,
      global: { plugins: [createPinia(), router], provide: { [clientKey as symbol]: client } },
    })
    await flushPromises()
    client.emit('import/macs-file', { name: 'r.macs', text: '52:54:00:00:02:01\n' })
    await flushPromises()
    expect(router.currentRoute.value.fullPath).toBe('/wizard/nodes')
  })
})
