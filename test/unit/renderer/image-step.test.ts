// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest'
import type { VueWrapper } from '@vue/test-utils'
import ImageStep from '../../../renderer/src/wizard/steps/ImageStep.vue'
import type { Channel } from '../../../electron/ipc/contract'
import { imageSchema, rackSchema, type Image, type Node } from '../../../electron/core/inventory/schema'
import {
  bootRequest,
  effectiveArgs,
  emptyImportForm,
  formForScope,
  importRequest,
} from '../../../renderer/src/wizard/image-form'
import { FakeClient, deferred, node } from './fake-client'
import { flushPromises, mountWith } from './mount'

let wrapper: VueWrapper | null = null
afterEach(() => {
  wrapper?.unmount()
  wrapper = null
})

const images = (): Image[] => [
  imageSchema.parse({
    name: 'rackboot-rescue',
    kind: 'default',
    kernelArgs: 'console=tty0 console=ttyS0,115200',
    sizeBytes: 31_457_280,
  }),
  imageSchema.parse({ name: 'rocky9', kind: 'oci', kernelArgs: 'quiet', sizeBytes: 734_003_200 }),
  imageSchema.parse({ name: 'old', kind: 'kernel-initrd', sizeBytes: 1024 }),
]
const nodes = (): Node[] => [
  node({ name: 'node01', rack: 'r1', slot: 1, image: 'rocky9', kernelArgs: 'nomodeset' }),
  node({ name: 'node02', rack: 'r1', slot: 2, image: 'rocky9', kernelArgs: 'nomodeset' }),
  node({ name: 'node03', rack: 'r2', slot: 1 }),
]
const client = () =>
  new FakeClient()
    .answer('images/list', images())
    .answer('nodes/list', nodes())
    .answer('racks/list', [rackSchema.parse({ name: 'r1' }), rackSchema.parse({ name: 'r2' })])
const callsTo = (c: FakeClient, channel: Channel) => c.calls.filter((x) => x.channel === channel)
const row = (w: VueWrapper, image: string) => w.get(`[data-image="${image}"]`)

describe('ImageStep, images', () => {
  it('lists every image; the built-in one has no Remove, one nodes boot cannot be removed', async () => {
    wrapper = await mountWith(ImageStep, client())
    expect(row(wrapper, 'rackboot-rescue').text()).toContain('built in')
    expect(row(wrapper, 'rackboot-rescue').text()).toContain('30 MiB')
    expect(row(wrapper, 'rackboot-rescue').find('button').exists()).toBe(false)
    expect(row(wrapper, 'rocky9').get('button').attributes('disabled')).toBeDefined()
    expect(row(wrapper, 'rocky9').findAll('td')[3]!.text()).toBe('2')
    expect(row(wrapper, 'old').get('button').attributes('disabled')).toBeUndefined()
  })

  it('Remove calls images/remove and says so', async () => {
    const c = client().answer('images/remove', { removed: 'old', cancelled: false })
    wrapper = await mountWith(ImageStep, c)
    await row(wrapper, 'old').get('button').trigger('click')
    await flushPromises()
    expect(callsTo(c, 'images/remove').map((x) => x.request)).toEqual([{ name: 'old' }])
    expect(wrapper.get('[data-test="image-notice"]').text()).toBe("Removed image 'old'.")
  })
})

describe('ImageStep, import', () => {
  it('refuses a relative path and a missing name field by field, sending nothing', async () => {
    const c = client()
    wrapper = await mountWith(ImageStep, c)
    await wrapper.get('[data-test="import-open"]').trigger('click')
    await wrapper.get('#import-oci').setValue('images/rocky.tar')
    await wrapper.get('form.import').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-error-for="import-name"]').text()).toContain('an image name')
    expect(wrapper.get('[data-error-for="import-oci"]').text()).toContain('an absolute path')
    expect(wrapper.get('#import-oci').attributes('aria-invalid')).toBe('true')
    expect(callsTo(c, 'images/import')).toEqual([])
  })

  it('shows progress from images/progress while it runs, and Cancel removes the name', async () => {
    const pending = deferred<Image>()
    const c = client()
      .answer('images/import', () => pending.promise)
      .answer('images/remove', async () => {
        pending.reject(new Error("import of 'rocky10' aborted"))
        return { removed: 'rocky10', cancelled: true }
      })
    wrapper = await mountWith(ImageStep, c)
    await wrapper.get('[data-test="import-open"]').trigger('click')
    await wrapper.get('#import-name').setValue('rocky10')
    await wrapper.get('#import-oci').setValue('/srv/rocky10.tar')
    await wrapper.get('#import-args').setValue('console=ttyS0')
    await wrapper.get('form.import').trigger('submit')
    await flushPromises()
    expect(callsTo(c, 'images/import').map((x) => x.request)).toEqual([
      { name: 'rocky10', kind: 'oci', oci: '/srv/rocky10.tar', args: 'console=ttyS0', replace: false },
    ])
    c.emit('images/progress', { name: 'rocky10', phase: 'layers', bytes: 5 * 1048576, total: 20 * 1048576 })
    await flushPromises()
    const bar = wrapper.get('[data-test="import-progress"]')
    expect(bar.text()).toContain('Unpacking layers rocky10 · 5.0 MiB of 20 MiB')
    expect(bar.get('progress').attributes('value')).toBe(String(5 * 1048576))
    await wrapper.get('[data-test="import-cancel"]').trigger('click')
    await flushPromises()
    expect(callsTo(c, 'images/remove').map((x) => x.request)).toEqual([{ name: 'rocky10' }])
    expect(wrapper.get('[data-test="import-error"]').text()).toBe(
      "Import of 'rocky10' cancelled; nothing was kept.",
    )
    expect(wrapper.find('[data-test="import-progress"]').exists()).toBe(false)
  })

  it("shows the core's refusal next to the form", async () => {
    const c = client().answer(
      'images/import',
      new Error("OCI import: '/srv/x.tar' does not exist; check the path on the machine running Rackboot"),
    )
    wrapper = await mountWith(ImageStep, c)
    await wrapper.get('[data-test="import-open"]').trigger('click')
    await wrapper.get('#import-kind').setValue('kernel-initrd')
    expect(wrapper.find('#import-oci').exists()).toBe(false)
    await wrapper.get('#import-name').setValue('x')
    await wrapper.get('#import-kernel').setValue('/srv/vmlinuz')
    await wrapper.get('#import-initrd').setValue('/srv/x.tar')
    await wrapper.get('form.import').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-test="import-error"]').text()).toContain("'/srv/x.tar' does not exist")
  })
})

describe('ImageStep, what the nodes boot', () => {
  it('a rack scope shows what its nodes share and Apply sends nodes/set-boot for that rack', async () => {
    const c = client().answer('nodes/set-boot', { nodes: [] })
    wrapper = await mountWith(ImageStep, c)
    await wrapper.get('#boot-scope').setValue('rack:r1')
    expect((wrapper.get('#boot-image').element as HTMLSelectElement).value).toBe('rocky9')
    expect((wrapper.get('#boot-args').element as HTMLInputElement).value).toBe('nomodeset')
    await wrapper.get('#boot-image').setValue('rackboot-rescue')
    await wrapper.get('#boot-args').setValue('  ip=dhcp  ')
    await wrapper.get('.assign form').trigger('submit')
    await flushPromises()
    expect(callsTo(c, 'nodes/set-boot').map((x) => x.request)).toEqual([
      { target: { rack: 'r1' }, image: 'rackboot-rescue', kernelArgs: 'ip=dhcp' },
    ])
    expect(wrapper.get('[data-test="boot-outcome"]').text()).toBe('Saved for rack r1: rackboot-rescue')
  })

  it("lists each node's whole command line, and Change picks that node", async () => {
    wrapper = await mountWith(ImageStep, client())
    const cells = (n: string) =>
      wrapper!
        .get(`[data-node="${n}"]`)
        .findAll('td')
        .map((t) => t.text())
    expect(cells('node01').slice(0, 3)).toEqual(['r1 U1', 'rocky9', 'quiet nomodeset'])
    expect(cells('node03').slice(0, 3)).toEqual(['r2 U1', 'none', '—'])
    await wrapper.get('[data-node="node03"] button').trigger('click')
    expect((wrapper.get('#boot-scope').element as HTMLSelectElement).value).toBe('node:node03')
    expect(document.activeElement?.id).toBe('boot-scope')
  })

  it("shows the core's refusal of an assignment", async () => {
    const c = client().answer('nodes/set-boot', new Error("rack 'r2' has no nodes yet"))
    wrapper = await mountWith(ImageStep, c)
    await wrapper.get('#boot-scope').setValue('rack:r2')
    await wrapper.get('#boot-image').setValue('rocky9')
    await wrapper.get('.assign form').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-test="boot-outcome"]').attributes('role')).toBe('alert')
    expect(wrapper.get('[data-test="boot-outcome"]').text()).toBe("rack 'r2' has no nodes yet")
  })
})

describe('image-form', () => {
  it('each kind needs its own paths and refuses the others', () => {
    const f = { ...emptyImportForm(), name: 'k', kind: 'kernel-initrd' as const, kernel: '/k' }
    const r = importRequest(f)
    expect(r.ok ? null : r.errors).toEqual({ initrd: 'a kernel-initrd import needs initrd' })
    // A path typed for another kind is left out, not sent.
    const ok = importRequest({ ...f, initrd: '/i', oci: '/ignored' })
    expect(ok.ok && ok.value).toEqual({
      name: 'k',
      kind: 'kernel-initrd',
      kernel: '/k',
      initrd: '/i',
      replace: false,
    })
  })

  it('kernel arguments must stay on one line', () => {
    const r = bootRequest({ scope: 'all', image: '', kernelArgs: 'quiet\tx' })
    expect(r.ok ? null : r.errors.kernelArgs).toMatch(/on one line/)
  })

  it('a scope whose nodes disagree shows empty fields; effective args put the image first', () => {
    const ns = nodes()
    expect(formForScope('all', ns)).toEqual({ scope: 'all', image: '', kernelArgs: '' })
    expect(formForScope('node:node02', ns)).toEqual({
      scope: 'node:node02',
      image: 'rocky9',
      kernelArgs: 'nomodeset',
    })
    expect(effectiveArgs(ns[0]!, images())).toBe('quiet nomodeset')
  })
})
