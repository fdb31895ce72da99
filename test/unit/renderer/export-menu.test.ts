// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { VueWrapper } from '@vue/test-utils'
import ExportMenu from '../../../renderer/src/components/ExportMenu.vue'
import type { RequestOf } from '../../../electron/ipc/contract'
import { FakeClient, deferred } from './fake-client'
import { flushPromises, mountWith } from './mount'

let wrapper: VueWrapper | null = null
let created: Blob[] = []
let downloads: { name: string; href: string }[] = []
beforeEach(() => {
  created = []
  downloads = []
  URL.createObjectURL = vi.fn((b: Blob) => {
    created.push(b)
    return `blob:fake-${created.length}`
  })
  URL.revokeObjectURL = vi.fn()
  // happy-dom would try to navigate; record what the anchor would have saved instead.
  vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
    downloads.push({ name: this.download, href: this.getAttribute('href') ?? '' })
  })
})
afterEach(() => {
  wrapper?.unmount()
  wrapper = null
  vi.restoreAllMocks()
})

const cases: { option: string; request: RequestOf<'export/render'>; file: string; mime: string }[] = [
  { option: 'csv', request: { format: 'csv' }, file: 'rackboot-nodes.csv', mime: 'text/csv' },
  { option: 'hosts', request: { format: 'hosts' }, file: 'hosts', mime: 'text/plain' },
  { option: 'dnsmasq', request: { format: 'dnsmasq' }, file: 'rackboot-dnsmasq.conf', mime: 'text/plain' },
  { option: 'dhcpd', request: { format: 'dhcpd' }, file: 'rackboot-dhcpd.conf', mime: 'text/plain' },
  { option: 'ansible', request: { format: 'ansible' }, file: 'inventory.yml', mime: 'application/yaml' },
  { option: 'json', request: { format: 'json' }, file: 'rackboot-inventory.json', mime: 'application/json' },
  {
    option: 'warewulf-4.6',
    request: { format: 'warewulf', version: '4.6', form: 'nodes.conf' },
    file: 'nodes.conf',
    mime: 'application/yaml',
  },
  {
    option: 'warewulf-4.5',
    request: { format: 'warewulf', version: '4.5', form: 'nodes.conf' },
    file: 'nodes.conf',
    mime: 'application/yaml',
  },
  {
    option: 'warewulf-import-4.6',
    request: { format: 'warewulf', version: '4.6', form: 'node-import' },
    file: 'nodes.import.yaml',
    mime: 'application/yaml',
  },
  {
    option: 'warewulf-import-4.5',
    request: { format: 'warewulf', version: '4.5', form: 'node-import' },
    file: 'nodes.import.yaml',
    mime: 'application/yaml',
  },
]

const renders = (c: FakeClient) => c.calls.filter((x) => x.channel === 'export/render').map((x) => x.request)

describe('ExportMenu', () => {
  it('offers every format with a visible label and a one-line description', async () => {
    wrapper = await mountWith(ExportMenu, new FakeClient())
    const select = wrapper.get('[data-test="export-format"]')
    expect(select.element.closest('label')?.textContent).toContain('Export')
    const options = select.findAll('option')
    expect(options.map((o) => o.attributes('value'))).toEqual(cases.map((c) => c.option))
    for (const o of options) expect(o.text()).toMatch(/^.+: .{10,}$/)
    expect(options.find((o) => o.attributes('value') === 'csv')!.text()).toContain(
      'rack, slot, name, MAC, IP, serial',
    )
    expect(options.find((o) => o.attributes('value') === 'ansible')!.text()).toContain('grouped by rack')
  })

  it.each(cases)('$option: asks export/render for $request and downloads $file as $mime', async (t) => {
    const c = new FakeClient().answer('export/render', { text: `text for ${t.option}\n` })
    wrapper = await mountWith(ExportMenu, c)
    await wrapper.get('[data-test="export-format"]').setValue(t.option)
    expect(wrapper.get('[data-test="export-hint"]').text()).toContain(t.file)
    await wrapper.get('[data-test="export-menu"]').trigger('submit')
    await flushPromises()
    expect(renders(c)).toEqual([t.request])
    expect(downloads).toEqual([{ name: t.file, href: 'blob:fake-1' }])
    expect(created).toHaveLength(1)
    expect(created[0]!.type).toBe(t.mime)
    expect(await created[0]!.text()).toBe(`text for ${t.option}\n`)
    expect(document.querySelector('a[download]')).toBeNull()
    expect(wrapper.find('[data-test="export-error"]').exists()).toBe(false)
  })

  it('shows an error from the core next to the control and downloads nothing', async () => {
    const c = new FakeClient().answer(
      'export/render',
      new Error("'version' applies to the warewulf format only, not 'csv'"),
    )
    wrapper = await mountWith(ExportMenu, c)
    await wrapper.get('[data-test="export-download"]').trigger('click')
    await flushPromises()
    const alert = wrapper.get('[data-test="export-error"]')
    expect(alert.attributes('role')).toBe('alert')
    expect(alert.text()).toContain("CSV: 'version' applies to the warewulf format only")
    expect(downloads).toEqual([])
    expect(created).toEqual([])
    expect(wrapper.get('[data-test="export-download"]').attributes('disabled')).toBeUndefined()
  })

  it('disables the button while an export is in flight and clears an old error on retry', async () => {
    const held = deferred<{ text: string }>()
    let fail = true
    const c = new FakeClient().answer('export/render', () =>
      fail ? Promise.reject(new Error('store locked')) : held.promise,
    )
    wrapper = await mountWith(ExportMenu, c)
    await wrapper.get('[data-test="export-download"]').trigger('click')
    await flushPromises()
    expect(wrapper.get('[data-test="export-error"]').text()).toContain('store locked')
    fail = false
    await wrapper.get('[data-test="export-format"]').setValue('json')
    await wrapper.get('[data-test="export-download"]').trigger('click')
    await flushPromises()
    const button = wrapper.get('[data-test="export-download"]')
    expect(button.attributes('disabled')).toBeDefined()
    expect(button.text()).toBe('Exporting…')
    expect(wrapper.find('[data-test="export-error"]').exists()).toBe(false)
    held.resolve({ text: '{}' })
    await flushPromises()
    expect(button.attributes('disabled')).toBeUndefined()
    expect(downloads).toEqual([{ name: 'rackboot-inventory.json', href: 'blob:fake-1' }])
  })
})
