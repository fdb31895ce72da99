// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest'
import type { VueWrapper } from '@vue/test-utils'
import StatusBar from '../../../renderer/src/components/StatusBar.vue'
import { FakeClient, FakeWsClient, deferred, stackStatus } from './fake-client'
import { flushPromises, mountWith } from './mount'
import type { StackStatus } from '../../../electron/ipc/contract'
import { useStackStore } from '../../../renderer/src/stores/stack'

let wrapper: VueWrapper | null = null
afterEach(() => {
  wrapper?.unmount()
  wrapper = null
})

const text = (w: VueWrapper, item: string) => w.get(`[data-test="${item}"] dd`).text().replace(/\s+/g, ' ')

describe('StatusBar', () => {
  it('shows the stack status loaded on mount', async () => {
    const client = new FakeClient().answer(
      'stack/status',
      stackStatus({
        state: 'running',
        interface: 'rb0',
        dhcp: { mode: 'server', listening: '0.0.0.0:67' },
        tftp: { listening: '198.18.0.1:69' },
        http: { listening: '198.18.0.1:9873' },
      }),
    )
    wrapper = await mountWith(StatusBar, client)
    expect(client.calls).toEqual([{ channel: 'stack/status', request: {} }])
    expect(text(wrapper, 'state')).toBe('Running')
    expect(text(wrapper, 'interface')).toBe('rb0')
    expect(text(wrapper, 'dhcp')).toBe('server on 0.0.0.0:67')
    expect(text(wrapper, 'tftp')).toBe('198.18.0.1:69')
    expect(text(wrapper, 'http')).toBe('198.18.0.1:9873')
    expect(text(wrapper, 'connection')).toBe('Connected')
    expect(wrapper.find('[data-test="error"]').exists()).toBe(false)
  })

  it('follows stack/changed events, including the error', async () => {
    const client = new FakeClient().answer('stack/status', stackStatus())
    wrapper = await mountWith(StatusBar, client)
    expect(text(wrapper, 'state')).toBe('Stopped')
    expect(text(wrapper, 'interface')).toBe('—')

    client.emit(
      'stack/changed',
      stackStatus({ state: 'starting', interface: 'rb0', dhcp: { mode: 'proxy', listening: null } }),
    )
    await flushPromises()
    expect(text(wrapper, 'state')).toBe('Starting…')
    expect(text(wrapper, 'dhcp')).toBe('proxy')

    client.emit(
      'stack/changed',
      stackStatus({
        state: 'failed',
        interface: 'rb0',
        error: 'DHCP: port 67 on rb0 is taken by dnsmasq (pid 311); stop it or use proxy mode',
      }),
    )
    await flushPromises()
    expect(text(wrapper, 'state')).toBe('Failed')
    expect(text(wrapper, 'error')).toContain('port 67 on rb0 is taken')
  })

  it('keeps an event that arrives while the first load is in flight', async () => {
    const pending = deferred<StackStatus>()
    const client = new FakeClient().answer('stack/status', () => pending.promise)
    wrapper = await mountWith(StatusBar, client)
    expect(text(wrapper, 'connection')).toBe('Connecting…')

    client.emit('stack/changed', stackStatus({ state: 'running', interface: 'rb0' }))
    pending.resolve(stackStatus({ state: 'stopped' }))
    await flushPromises()
    expect(text(wrapper, 'state')).toBe('Running')
  })

  it('says the core is unreachable when the status call fails', async () => {
    const client = new FakeClient().answer('stack/status', new Error('WebSocket closed (1006)'))
    wrapper = await mountWith(StatusBar, client)
    expect(text(wrapper, 'connection')).toBe('Disconnected')
    expect(text(wrapper, 'error')).toBe('WebSocket closed (1006)')
    expect(text(wrapper, 'state')).toBe('—')
  })

  it('a refused call (ContractError) after connecting is not a lost connection', async () => {
    const client = new FakeClient().answer('stack/status', stackStatus())
    wrapper = await mountWith(StatusBar, client)
    client.answer('stack/status', new Error('internal: supervisor busy'))
    await useStackStore().reload()
    await flushPromises()
    expect(text(wrapper, 'connection')).toBe('Connected')
    expect(text(wrapper, 'error')).toBe('internal: supervisor busy')
  })

  it('shows the WebSocket state and reloads the status after a reconnect', async () => {
    const client = new FakeWsClient().answer('stack/status', stackStatus({ state: 'running' }))
    wrapper = await mountWith(StatusBar, client)
    expect(text(wrapper, 'connection')).toBe('Connecting…')
    client.setState('open')
    await flushPromises()
    expect(text(wrapper, 'connection')).toBe('Connected')

    client.setState('waiting')
    await flushPromises()
    expect(text(wrapper, 'connection')).toBe('Reconnecting…')

    // While away the stack stopped and its event was lost; the reconnect reload must show it.
    client.answer('stack/status', stackStatus({ state: 'stopped' }))
    client.setState('open')
    await flushPromises()
    expect(client.calls).toHaveLength(2)
    expect(text(wrapper, 'state')).toBe('Stopped')

    client.setState('closed')
    await flushPromises()
    expect(text(wrapper, 'connection')).toBe('Disconnected')
    wrapper.unmount()
    wrapper = null
    expect(client.stateListenerCount()).toBe(0)
  })

  it('says when the serving interface is gone, and clears it when it returns', async () => {
    const client = new FakeClient().answer(
      'stack/status',
      stackStatus({ state: 'running', interface: 'eth1' }),
    )
    wrapper = await mountWith(StatusBar, client)
    expect(wrapper.find('[data-test="interface-lost"]').exists()).toBe(false)

    client.emit(
      'stack/changed',
      stackStatus({ state: 'running', interface: 'eth1', interfaceLost: { name: 'eth1', since: 't' } }),
    )
    await flushPromises()
    expect(text(wrapper, 'interface-lost')).toBe(
      'eth1 is gone: cable or USB NIC? serving resumes when it returns',
    )

    client.emit('stack/changed', stackStatus({ state: 'running', interface: 'eth1', interfaceLost: null }))
    await flushPromises()
    expect(wrapper.find('[data-test="interface-lost"]').exists()).toBe(false)
  })

  it('shows the app shell notice, and reloads the status when the UI talks to another core', async () => {
    const client = new FakeClient().answer('stack/status', stackStatus({ state: 'failed' }))
    wrapper = await mountWith(StatusBar, client)
    expect(wrapper.find('[data-test="notice"]').exists()).toBe(false)

    client.answer('stack/status', stackStatus({ state: 'running', interface: 'eth1' }))
    client.emit('app/notice', {
      level: 'info',
      message: 'The boot stack now runs with administrator rights (PID 7); this window talks to it.',
      coreSwitched: true,
    })
    await flushPromises()
    expect(wrapper.get('[data-test="notice"]').text()).toContain('now runs with administrator rights')
    expect(client.calls).toHaveLength(2)
    expect(text(wrapper, 'state')).toBe('Running')

    // A notice that does not switch cores does not reload; dismissing hides it.
    client.emit('app/notice', { level: 'warn', message: 'Administrator rights were not granted.' })
    await flushPromises()
    expect(client.calls).toHaveLength(2)
    expect(wrapper.get('[data-test="notice"]').classes()).toContain('notice-warn')
    await wrapper.get('[data-test="notice"] button').trigger('click')
    expect(wrapper.find('[data-test="notice"]').exists()).toBe(false)
  })

  it('offers administrator rights when the stack failed, and shows the answer', async () => {
    const client = new FakeClient().answer('stack/status', stackStatus({ state: 'running' }))
    wrapper = await mountWith(StatusBar, client)
    expect(wrapper.find('[data-test="elevate"]').exists()).toBe(false)
    client.emit(
      'stack/changed',
      stackStatus({ state: 'failed', error: 'cannot bind 0.0.0.0:67: permission denied' }),
    )
    await flushPromises()
    client.answer('app/elevate', { outcome: 'denied', message: 'Administrator rights were not granted.' })
    await wrapper.get('[data-test="elevate"]').trigger('click')
    await flushPromises()
    expect(client.calls.at(-1)).toEqual({ channel: 'app/elevate', request: {} })
    expect(wrapper.get('[data-test="notice"]').text()).toContain('Administrator rights were not granted.')
    expect(wrapper.get('[data-test="notice"]').classes()).toContain('notice-warn')
  })

  it('unsubscribes when unmounted', async () => {
    const client = new FakeClient().answer('stack/status', stackStatus())
    wrapper = await mountWith(StatusBar, client)
    expect(client.listenerCount('stack/changed')).toBe(1)
    wrapper.unmount()
    wrapper = null
    expect(client.listenerCount()).toBe(0)
  })
})
