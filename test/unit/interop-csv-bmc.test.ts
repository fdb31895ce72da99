/**
 * The bmc column of a MAC list (import/macs): the one `export/render csv` writes. Read, checked with the rack
 * plan's clash rules, and round-tripped export -> import on real stores.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Rackboot } from '../../electron/core/rackboot'
import { dispatch } from '../../electron/core/api/dispatch'
import { nodeSchema, type NodeInput } from '../../electron/core/inventory/schema'
import { parseVendorMacList } from '../../electron/core/interop/vendor-macs'
import { planVendorMacs } from '../../electron/core/interop/vendor-apply'
import type { PlanRequestInput } from '../../electron/core/inventory/plan'

const node = (n: NodeInput) => nodeSchema.parse({ createdAt: 't', updatedAt: 't', ...n })

describe('parseVendorMacList: the bmc column', () => {
  it.each([['bmc'], ['BMC IP'], ['iDRAC IP Address'], ['ipmi_addr']])('reads a column named %s', (name) => {
    const r = parseVendorMacList(`slot,mac,${name}\n1,52:54:00:00:00:01,198.18.1.11\n2,52:54:00:00:00:02,\n`)
    expect(r.errors).toEqual([])
    expect(r.columns).toEqual({ mac: 'mac', slot: 'slot', bmc: name })
    expect(r.entries).toEqual([
      { line: 2, mac: '52:54:00:00:00:01', slot: 1, bmc: '198.18.1.11' },
      { line: 3, mac: '52:54:00:00:00:02', slot: 2 },
    ])
  })

  it('a BMC MAC column is not a BMC address column', () => {
    const r = parseVendorMacList('BMC MAC,LAN1 MAC\n52:54:00:ff:00:01,52:54:00:00:00:01\n')
    expect(r.columns).toEqual({ mac: 'LAN1 MAC' })
    expect(r.entries).toEqual([{ line: 2, mac: '52:54:00:00:00:01' }])
  })

  it('a bad bmc value is an error on its line, with its text; the other lines stand', () => {
    const r = parseVendorMacList(
      'mac,bmc\n52:54:00:00:00:01,198.18.1.11\n52:54:00:00:00:02,198.18.1.300\n52:54:00:00:00:03,idrac-3\n',
    )
    expect(r.entries.map((e) => e.line)).toEqual([2])
    expect(r.errors).toEqual([
      {
        line: 3,
        text: '52:54:00:00:00:02,198.18.1.300',
        message: "bmc '198.18.1.300' in column 'bmc' is not an IPv4 address (e.g. 198.18.1.11)",
      },
      {
        line: 4,
        text: '52:54:00:00:00:03,idrac-3',
        message: "bmc 'idrac-3' in column 'bmc' is not an IPv4 address (e.g. 198.18.1.11)",
      },
    ])
  })
})

describe('planVendorMacs: BMC addresses', () => {
  const planned = () => [
    node({ name: 'a1', rack: 'r1', slot: 1, ipv4: '198.18.0.11', bmc: { ipv4: '198.18.1.11' } }),
    node({ name: 'a2', rack: 'r1', slot: 2, ipv4: '198.18.0.12', bmc: { ipv4: '198.18.1.12' } }),
    node({ name: 'a3', rack: 'r1', slot: 3, ipv4: '198.18.0.13' }),
    node({
      name: 'old',
      rack: 'r1',
      slot: 9,
      ipv4: '198.18.0.99',
      macs: ['52:54:00:00:00:99'],
      bmc: { ipv4: '198.18.1.99' },
    }),
  ]
  const list = (...bmcs: string[]) =>
    parseVendorMacList(
      `slot,mac,bmc\n${bmcs.map((b, i) => `${i + 1},52:54:00:00:00:0${i + 1},${b}`).join('\n')}\n`,
    )

  it('gives each node its BMC address; nodes may trade addresses within one list', () => {
    const plan = planVendorMacs(planned(), list('198.18.1.12', '198.18.1.11', ''), '198.18.0.1')
    expect(plan.problems).toEqual([])
    expect(plan.assignments.map((a) => [a.node, a.bmc])).toEqual([
      ['a1', '198.18.1.12'],
      ['a2', '198.18.1.11'],
      ['a3', null],
    ])
  })

  it('a clash with a boot address, another BMC, the gateway or an earlier line is a problem on its line', () => {
    const plan = planVendorMacs(planned(), list('198.18.0.12', '198.18.1.99', '198.18.0.1'), '198.18.0.1')
    expect(plan.problems).toEqual([
      "line 2: bmc 198.18.0.12 for node 'a1' is already the IPv4 of 'a2'",
      "line 3: bmc 198.18.1.99 for node 'a2' is already the BMC address of 'old'",
      "line 4: bmc 198.18.0.1 for node 'a3' is already the gateway",
    ])
    const twice = planVendorMacs(planned(), list('198.18.1.50', '198.18.1.50', ''))
    expect(twice.problems).toEqual([
      "line 3: bmc 198.18.1.50 for node 'a2' is already the BMC address of 'a1' (line 2)",
    ])
    // Forced, the MAC still goes on; the clashing BMC address does not.
    expect(twice.assignments.map((a) => [a.node, a.mac, a.bmc])).toEqual([
      ['a1', '52:54:00:00:00:01', '198.18.1.50'],
      ['a2', '52:54:00:00:00:02', null],
      ['a3', '52:54:00:00:00:03', null],
    ])
  })
})

describe('CSV export -> import keeps the BMC', () => {
  const dirs: string[] = []
  const cores: Rackboot[] = []
  const open = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rackboot-csv-bmc-'))
    dirs.push(dir)
    const core = await Rackboot.open({ dataDir: dir })
    cores.push(core)
    await core.repo.updateSettings({ subnet: '198.18.0.0/24' })
    return core
  }
  afterEach(async () => {
    for (const c of cores.splice(0)) await c.close()
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
  })
  const plan = (bmc: PlanRequestInput['bmc']) => ({
    rack: { name: 'r1', heightU: 42, numbering: 'bottom-up' as const },
    pattern: 'n{01..}',
    count: 3,
    firstSlot: 1,
    nodeHeightU: 1,
    ip: { start: '198.18.0.11', rackOffset: 0 },
    bmc,
  })
  const csv = async (core: Rackboot) => {
    const r = await dispatch(core.handlers, 'export/render', { format: 'csv' })
    if (!r.ok) throw new Error(r.error.message)
    return (r.value as { text: string }).text
  }

  let source: Rackboot
  beforeEach(async () => {
    source = await open()
    await source.repo.applyPlan(plan({ start: '198.18.1.21', rackOffset: 0, user: null }))
    const macs = 'mac,serial\n52:54:00:00:00:01,S1\n52:54:00:00:00:02,S2\n52:54:00:00:00:03,S3\n'
    await source.repo.assignVendorMacs(parseVendorMacList(macs))
    await source.repo.setBmc('n02', { ipv4: null })
  })

  it('a rack planned without BMC gets the MACs, serials and BMC addresses back; its export is the same', async () => {
    const text = await csv(source)
    expect(text.split('\r\n')[1]).toBe('r1,1,n01,52:54:00:00:00:01,198.18.0.11,S1,198.18.1.21')
    const target = await open()
    await target.repo.applyPlan(plan(null))
    const r = await dispatch(target.handlers, 'import/macs', { text })
    expect(r.ok ? null : r.error).toBeNull()
    expect(target.repo.listNodes().map((n) => [n.name, n.macs, n.serial, n.bmc.ipv4])).toEqual([
      ['n01', ['52:54:00:00:00:01'], 'S1', '198.18.1.21'],
      ['n02', ['52:54:00:00:00:02'], 'S2', null],
      ['n03', ['52:54:00:00:00:03'], 'S3', '198.18.1.23'],
    ])
    expect(await csv(target)).toBe(text)
  })

  it('a bad bmc value refuses the list, naming its line, and saves nothing', async () => {
    const text = (await csv(source)).replace('198.18.1.23', '198.18.1.323')
    const target = await open()
    await target.repo.applyPlan(plan(null))
    const r = await dispatch(target.handlers, 'import/macs', { text })
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.error.details).toContain(
      "line 4: bmc '198.18.1.323' in column 'bmc' is not an IPv4 address (e.g. 198.18.1.11) ('r1,3,n03,52:54:00:00:00:03,198.18.0.13,S3,198.18.1.323')",
    )
    expect(target.repo.listNodes().every((n) => n.macs.length === 0 && n.bmc.ipv4 === null)).toBe(true)
  })
})
