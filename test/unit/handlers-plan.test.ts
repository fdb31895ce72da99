/** plan/preview, plan/apply and net/interfaces through dispatch, on a real store in a temp dir. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Rackboot } from '../../electron/core/rackboot'
import { dispatch } from '../../electron/core/api/dispatch'
import type { PlanRequestInput } from '../../electron/core/inventory/plan'

let dir: string
let core: Rackboot

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rackboot-plan-'))
  core = await Rackboot.open({ dataDir: dir })
  await core.repo.updateSettings({
    subnet: '198.18.0.0/24',
    pool: { start: '198.18.0.128', end: '198.18.0.254' },
  })
})
afterEach(async () => {
  await core.close()
  await rm(dir, { recursive: true, force: true })
})

const plan = (over: Partial<PlanRequestInput> = {}): PlanRequestInput => ({
  rack: { name: 'r1', heightU: 42, numbering: 'bottom-up' },
  pattern: 'node{01..32}',
  count: 3,
  firstSlot: 1,
  nodeHeightU: 1,
  ip: { start: '198.18.0.11', rackOffset: 0 },
  ...over,
})

const onDisk = async () =>
  JSON.parse(await readFile(join(dir, 'db.json'), 'utf8')) as { racks: unknown[]; nodes: { name: string }[] }

describe('plan handlers', () => {
  it('apply stores each planned BMC address and user on disk; a clash is refused naming node and field', async () => {
    const bmc = { start: '10.0.0.11', rackOffset: 0, user: 'admin' }
    const applied = await dispatch(core.handlers, 'plan/apply', plan({ bmc }))
    expect(applied.ok).toBe(true)
    const disk = (await onDisk()) as unknown as { nodes: { name: string; bmc: unknown }[] }
    expect(disk.nodes.map((n) => [n.name, n.bmc])).toEqual([
      ['node01', { ipv4: '10.0.0.11', user: 'admin' }],
      ['node02', { ipv4: '10.0.0.12', user: 'admin' }],
      ['node03', { ipv4: '10.0.0.13', user: 'admin' }],
    ])
    const again = await dispatch(
      core.handlers,
      'plan/apply',
      plan({
        pattern: 'x{01..}',
        firstSlot: 10,
        ip: { start: '10.0.0.12', rackOffset: 0 },
        subnet: '10.0.0.0/24',
      }),
    )
    expect(again.ok).toBe(false)
    if (!again.ok)
      expect(again.error.message).toContain("x01 ipv4: 10.0.0.12 is already the BMC address of 'node02'")
  })

  it('preview changes nothing; apply creates the rack and every node at once', async () => {
    const preview = await dispatch(core.handlers, 'plan/preview', plan())
    expect(preview.ok).toBe(true)
    if (!preview.ok || !('nodes' in preview.value)) throw new Error('preview failed')
    expect(preview.value.nodes.map((n) => n.name)).toEqual(['node01', 'node02', 'node03'])
    expect(core.repo.listNodes()).toEqual([])
    expect(core.repo.listRacks()).toEqual([])

    const applied = await dispatch(core.handlers, 'plan/apply', plan())
    expect(applied.ok).toBe(true)
    expect(core.repo.listRacks()).toEqual([{ name: 'r1', heightU: 42, numbering: 'bottom-up' }])
    expect(core.repo.listNodes().map((n) => [n.name, n.rack, n.slot, n.ipv4, n.state])).toEqual([
      ['node01', 'r1', 1, '198.18.0.11', 'planned'],
      ['node02', 'r1', 2, '198.18.0.12', 'planned'],
      ['node03', 'r1', 3, '198.18.0.13', 'planned'],
    ])
    expect((await onDisk()).nodes.map((n) => n.name)).toEqual(['node01', 'node02', 'node03'])
  })

  it('apply is all or nothing: one bad node refuses the whole plan, listing every problem', async () => {
    await core.repo.upsertRack({ name: 'r0', heightU: 42 })
    await core.repo.addNode({ name: 'node02', ip: '198.18.0.99' })
    const before = await onDisk()

    // node02 clashes by name, node03's slot is past a 2 U rack: two problems, zero nodes written.
    const refused = await dispatch(
      core.handlers,
      'plan/apply',
      plan({ rack: { name: 'r1', heightU: 2, numbering: 'top-down' } }),
    )
    expect(refused.ok).toBe(false)
    if (refused.ok) return
    expect(refused.error.code).toBe('bad-request')
    expect(refused.error.message).toContain('2 problem(s)')
    expect(refused.error.message).toContain("node02 name: a node named 'node02' already exists")
    expect(refused.error.message).toContain("node03 slot: slot 3 is beyond rack 'r1' (2 U)")
    expect(core.repo.listNodes().map((n) => n.name)).toEqual(['node02'])
    expect(core.repo.listRacks().map((r) => r.name)).toEqual(['r0'])
    expect(await onDisk()).toEqual(before)

    // The same request the preview shows as wrong, per node and field.
    const preview = await dispatch(
      core.handlers,
      'plan/preview',
      plan({ rack: { name: 'r1', heightU: 2, numbering: 'top-down' } }),
    )
    if (!preview.ok || !('issues' in preview.value)) throw new Error('preview failed')
    expect(preview.value.issues.map((i) => [i.field, i.node])).toEqual([
      ['name', 1],
      ['slot', 2],
    ])
    // r1 is the second rack, so a per-rack offset would apply once.
    expect(preview.value.rackIndex).toBe(1)
  })

  it('a malformed request is refused by the schema, before the plan runs', async () => {
    const r = await dispatch(core.handlers, 'plan/apply', { ...plan(), count: 0 })
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error.details?.join(' ')).toMatch(/count/)
    expect(core.repo.listRacks()).toEqual([])
  })

  it('applying the same plan twice refuses the second time', async () => {
    expect((await dispatch(core.handlers, 'plan/apply', plan())).ok).toBe(true)
    const again = await dispatch(core.handlers, 'plan/apply', plan())
    expect(again.ok).toBe(false)
    expect(core.repo.listNodes()).toHaveLength(3)
  })

  it('net/interfaces lists the machine NICs, loopback included', async () => {
    const r = await dispatch(core.handlers, 'net/interfaces', {})
    expect(r.ok).toBe(true)
    if (!r.ok || !Array.isArray(r.value)) throw new Error('no list')
    const lo = r.value.find((i) => typeof i === 'object' && i !== null && 'loopback' in i && i.loopback)
    expect(lo).toMatchObject({ ipv4: { address: '127.0.0.1', prefix: 8 } })
  })
})
