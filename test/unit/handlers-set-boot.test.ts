/** nodes/set-boot through dispatch, on a real store in a temp dir: whole rack, named nodes, refusals. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Rackboot } from '../../electron/core/rackboot'
import { dispatch } from '../../electron/core/api/dispatch'
import { imageSchema } from '../../electron/core/inventory/schema'

let dir: string
let core: Rackboot

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rackboot-set-boot-'))
  core = await Rackboot.open({ dataDir: dir })
  await core.repo.updateSettings({ subnet: '198.18.0.0/24' })
  for (const rack of ['r1', 'r2'])
    await core.repo.applyPlan({
      rack: { name: rack, heightU: 42, numbering: 'bottom-up' },
      pattern: `${rack}n{01..}`,
      count: 2,
      firstSlot: 1,
      nodeHeightU: 1,
      ip: null,
    })
  await core.store.update((db) => {
    db.images.push(imageSchema.parse({ name: 'rocky9', kind: 'oci', kernelArgs: 'quiet' }))
  })
})
afterEach(async () => {
  await core.close()
  await rm(dir, { recursive: true, force: true })
})

const boot = () => core.repo.listNodes().map((n) => [n.name, n.image, n.kernelArgs])
const onDisk = async () =>
  (JSON.parse(await readFile(join(dir, 'db.json'), 'utf8')) as { nodes: { name: string; image: string }[] })
    .nodes

describe('nodes/set-boot', () => {
  it('sets one rack, then overrides one node, leaving what the request leaves out', async () => {
    const rack = await dispatch(core.handlers, 'nodes/set-boot', {
      target: { rack: 'r1' },
      image: 'rocky9',
      kernelArgs: 'console=ttyS0',
    })
    expect(rack.ok).toBe(true)
    const one = await dispatch(core.handlers, 'nodes/set-boot', {
      target: { nodes: ['r1n02'] },
      kernelArgs: 'console=ttyS1 nomodeset',
    })
    expect(one.ok).toBe(true)
    expect(boot()).toEqual([
      ['r1n01', 'rocky9', 'console=ttyS0'],
      ['r1n02', 'rocky9', 'console=ttyS1 nomodeset'],
      ['r2n01', null, ''],
      ['r2n02', null, ''],
    ])
    expect((await onDisk()).find((n) => n.name === 'r1n02')?.image).toBe('rocky9')
  })

  it('all: every node; null image unassigns', async () => {
    await dispatch(core.handlers, 'nodes/set-boot', { target: { all: true }, image: 'rocky9' })
    expect(boot().map((b) => b[1])).toEqual(['rocky9', 'rocky9', 'rocky9', 'rocky9'])
    await dispatch(core.handlers, 'nodes/set-boot', { target: { rack: 'r2' }, image: null })
    expect(boot().map((b) => b[1])).toEqual(['rocky9', 'rocky9', null, null])
  })

  it.each([
    [{ target: { rack: 'r1' }, image: 'nope' }, 'not-found', "image 'nope' does not exist (images: rocky9)"],
    [{ target: { rack: 'r9' }, image: 'rocky9' }, 'not-found', "no rack named 'r9'"],
    [{ target: { nodes: ['r1n01', 'zz'] }, image: 'rocky9' }, 'not-found', "no node named 'zz'"],
    [{ target: { rack: 'r1' } }, 'bad-request', 'give an image, kernel arguments or both'],
    [{ target: { rack: 'r1' }, kernelArgs: 'quiet\n#!ipxe shell' }, 'bad-request', 'on one line'],
    [{ target: { rack: 'r1', all: true }, image: 'rocky9' }, 'bad-request', ''],
  ])('refuses %j, changing nothing', async (request, code, message) => {
    const before = boot()
    const r = await dispatch(core.handlers, 'nodes/set-boot', request)
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.error.code).toBe(code)
    expect([r.error.message, ...(r.error.details ?? [])].join('\n')).toContain(message)
    expect(boot()).toEqual(before)
  })
})
