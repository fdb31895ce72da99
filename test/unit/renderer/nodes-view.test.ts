// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest'
import type { VueWrapper } from '@vue/test-utils'
import NodesView from '../../../renderer/src/views/NodesView.vue'
import { FakeClient, node } from './fake-client'
import { flushPromises, mountWith } from './mount'

let wrapper: VueWrapper | null = null
afterEach(() => {
  wrapper?.unmount()
  wrapper = null
})

const rows = (w: VueWrapper) =>
  w.findAll('tbody tr').map((tr) => tr.findAll('th, td').map((cell) => cell.text().trim()))

describe('NodesView', () => {
  it('lists the nodes from nodes/list', async () => {
    const client = new FakeClient().answer('nodes/list', [
      node({
        name: 'cn01',
        rack: 'r1',
        slot: 3,
        macs: ['52:54:00:00:00:01'],
        ipv4: '198.18.0.11',
        image: 'rocky9',
        state: 'up',
      }),
      node({ name: 'cn02' }),
    ])
    wrapper = await mountWith(NodesView, client)
    expect(client.calls.map((c) => c.channel)).toEqual(['nodes/list'])
    expect(rows(wrapper)).toEqual([
      ['cn01', 'r1 U3', '52:54:00:00:00:01', '198.18.0.11', 'rocky9', 'up'],
      ['cn02', '—', '—', '—', '—', 'planned'],
    ])
    expect(wrapper.get('th[scope="col"]').text()).toBe('Name')
  })

  it('updates live from nodes/changed', async () => {
    const client = new FakeClient().answer('nodes/list', [])
    wrapper = await mountWith(NodesView, client)
    expect(wrapper.get('[data-test="empty"]').text()).toBe('No nodes yet.')

    client.emit('nodes/changed', {
      nodes: [node({ name: 'cn01', macs: ['52:54:00:aa:bb:cc'], state: 'captured' })],
    })
    await flushPromises()
    expect(wrapper.find('[data-test="empty"]').exists()).toBe(false)
    expect(rows(wrapper)).toEqual([['cn01', '—', '52:54:00:aa:bb:cc', '—', '—', 'captured']])

    client.emit('nodes/changed', {
      nodes: [node({ name: 'cn01', macs: ['52:54:00:aa:bb:cc'], state: 'booting' }), node({ name: 'cn02' })],
    })
    await flushPromises()
    expect(rows(wrapper).map((r) => [r[0], r[5]])).toEqual([
      ['cn01', 'booting'],
      ['cn02', 'planned'],
    ])
    // Still one load: events, not polling, keep the table current.
    expect(client.calls).toHaveLength(1)
  })

  it('shows why the list could not be loaded', async () => {
    const client = new FakeClient().answer(
      'nodes/list',
      new Error('inventory store unreadable: /data/db.json line 3'),
    )
    wrapper = await mountWith(NodesView, client)
    expect(wrapper.get('[role="alert"]').text()).toContain('inventory store unreadable')
    expect(wrapper.find('table').exists()).toBe(false)
  })

  it('stops listening when the view is left', async () => {
    const client = new FakeClient().answer('nodes/list', [])
    wrapper = await mountWith(NodesView, client)
    expect(client.listenerCount('nodes/changed')).toBe(1)
    wrapper.unmount()
    wrapper = null
    expect(client.listenerCount()).toBe(0)
  })
})
