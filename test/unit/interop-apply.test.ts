import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Store } from '../../electron/core/inventory/store'
import { InventoryRepo } from '../../electron/core/inventory/repo'
import {
  dbSchema,
  emptyDb,
  imageSchema,
  nodeSchema,
  rackSchema,
  SCHEMA_VERSION,
  type Db,
  type NodeInput,
} from '../../electron/core/inventory/schema'
import { importWarewulf, type WarewulfImport } from '../../electron/core/interop/warewulf'
import { planNodeImport } from '../../electron/core/interop/warewulf-apply'
import { planVendorMacs } from '../../electron/core/interop/vendor-apply'
import { parseVendorMacList } from '../../electron/core/interop/vendor-macs'
import { ProblemListError } from '../../electron/core/interop/problems'
import { createInteropHandlers } from '../../electron/core/interop/contract-handlers'
import { silentLogger } from '../../electron/core/util/logger'

const now = () => new Date('2026-01-01T00:00:00Z')
const node = (n: NodeInput) => nodeSchema.parse({ createdAt: 't', updatedAt: 't', ...n })
function ww(text: string): WarewulfImport {
  const r = importWarewulf(text, { now })
  if (!r.ok) throw new Error(JSON.stringify(r.error))
  return r.value
}
function dbWith(nodes: NodeInput[], extra: Partial<Db> = {}): Db {
  return { ...emptyDb(), racks: [rackSchema.parse({ name: 'r1' })], nodes: nodes.map(node), ...extra }
}

describe('schema: serial and the Warewulf passthrough', () => {
  it('a node from an older file gets serial null and an empty extra', () => {
    const old = { name: 'n1', macs: [], createdAt: 't', updatedAt: 't' }
    const db = dbSchema.parse({ version: SCHEMA_VERSION, nodes: [old] })
    expect(db.nodes[0]!.serial).toBeNull()
    expect(db.nodes[0]!.extra).toEqual({})
  })

  it('keeps any YAML-shaped passthrough and refuses what YAML strings cannot be', () => {
    const warewulf = {
      fields: { ipmi: { username: 'u', write: 'true' }, 'unknown key': ['a', null] },
      netdevs: [{ name: 'default', hasMac: true, fields: { device: 'eth0' } }],
      primary: 'default',
    }
    expect(nodeSchema.parse({ name: 'n1', extra: { warewulf } }).extra.warewulf).toEqual(warewulf)
    expect(
      nodeSchema.safeParse({ name: 'n1', extra: { warewulf: { ...warewulf, fields: { n: 5 } } } }).success,
    ).toBe(false)
    expect(nodeSchema.safeParse({ name: 'n1', serial: 'x'.repeat(129) }).success).toBe(false)
  })
})

describe('planNodeImport', () => {
  const file = [
    'nodes:',
    '  n1:',
    '    image name: rocky',
    '    network devices: {default: {hwaddr: "52:54:00:00:00:01", ipaddr: 198.18.0.11}}',
    '    tags: {rack: r1, slot: "1"}',
    '  n2:',
    '    image name: known',
    '    network devices: {default: {hwaddr: "52:54:00:00:00:02", ipaddr: 198.18.0.12}}',
    '    tags: {rack: r2, slot: "44"}',
    '',
  ].join('\n')

  it('lists every conflict: name, MAC, IPv4 and slot, each naming the other node', () => {
    const db = dbWith([
      { name: 'n1' },
      { name: 'a', macs: ['52:54:00:00:00:02'] },
      { name: 'b', ipv4: '198.18.0.12' },
      { name: 'c', rack: 'r1', slot: 1 },
    ])
    const plan = planNodeImport(db, ww(file), { replace: false })
    expect(plan.problems).toEqual([
      "node 'n1' already exists; import with replace to overwrite it",
      "node 'n1': rack 'r1' slot 1 is already taken by node 'c'",
      "node 'n2': MAC 52:54:00:00:00:02 already belongs to node 'a'",
      "node 'n2': IPv4 198.18.0.12 already belongs to node 'b'",
    ])
  })

  it('BMC addresses clash with existing boot and BMC addresses, in the file and in the inventory', () => {
    const bmcFile = [
      'nodes:',
      '  m1: {ipmi: {ipaddr: 10.0.0.1}, network devices: {default: {ipaddr: 198.18.0.21}}}',
      '  m2: {ipmi: {ipaddr: 10.0.0.2}, network devices: {default: {ipaddr: 198.18.0.22}}}',
      '  m3: {ipmi: {ipaddr: 198.18.0.21}}',
      '',
    ].join('\n')
    const r = importWarewulf(bmcFile, { now })
    expect(r.ok).toBe(false)
    if (!r.ok)
      expect(r.error.map((p) => [p.node, p.line, p.message])).toEqual([
        ['m3', 4, "BMC address 198.18.0.21 (ipmi ipaddr) is also on node 'm1' (line 2)"],
      ])
    const ok = ww(bmcFile.replace('m3: {ipmi: {ipaddr: 198.18.0.21}}', 'm3: {}'))
    const db = dbWith([
      { name: 'x', ipv4: '10.0.0.1' },
      { name: 'y', ipv4: '198.18.0.99', bmc: { ipv4: '10.0.0.2' } },
      { name: 'z', bmc: { ipv4: '198.18.0.21' } },
    ])
    expect(planNodeImport(db, ok, { replace: false }).problems).toEqual([
      "node 'm1': IPv4 198.18.0.21 is already the BMC address of node 'z'",
      "node 'm1': BMC address 10.0.0.1 is already an address of node 'x'",
      "node 'm2': BMC address 10.0.0.2 is already an address of node 'y'",
    ])
  })

  it('replace: the same-named node leaves first, so its MAC and slot do not clash', () => {
    const db = dbWith([{ name: 'n1', macs: ['52:54:00:00:00:01'], rack: 'r1', slot: 1 }])
    const plan = planNodeImport(db, ww(file), { replace: true })
    expect(plan.problems).toEqual([])
    expect(plan.replaced).toEqual(['n1'])
  })

  it('creates missing racks, keeps existing ones, and refuses a slot above an existing rack', () => {
    const short = dbWith([], { racks: [rackSchema.parse({ name: 'r2', heightU: 42 })] })
    const plan = planNodeImport(short, ww(file), { replace: false })
    expect(plan.racks.map((r) => r.name)).toEqual(['r1'])
    expect(plan.problems).toEqual([
      "node 'n2': slot 44 (1 U) does not fit rack 'r2' of 42 U; make the rack taller first",
    ])
  })

  it('an unknown image: warning, image null, the name kept for Warewulf; a known one stays', () => {
    const db = dbWith([], { images: [imageSchema.parse({ name: 'known', kind: 'rootfs' })] })
    const plan = planNodeImport(db, ww(file), { replace: false })
    const n1 = plan.nodes.find((n) => n.name === 'n1')!
    expect(n1.image).toBeNull()
    expect(n1.extra.warewulf!.fields['image name']).toBe('rocky')
    expect(plan.nodes.find((n) => n.name === 'n2')!.image).toBe('known')
    expect(plan.warnings.filter((w) => w.includes('image'))).toEqual([
      "node 'n1': image 'rocky' is not among Rackboot's images; the node gets no image until you import one and assign it",
    ])
  })
})

describe('planVendorMacs', () => {
  const planned = () =>
    [
      node({ name: 'a2', rack: 'r1', slot: 2 }),
      node({ name: 'a1', rack: 'r1', slot: 1 }),
      node({ name: 'a3', rack: 'r1', slot: 3, macs: ['52:54:00:00:00:99'] }),
      node({ name: 'a4', rack: 'r1', slot: 4 }),
      node({ name: 'loose' }),
    ].sort((x, y) => (x.slot ?? 99) - (y.slot ?? 99))

  it('a bare list fills the empty slots in rack order, skipping slots that have a MAC', () => {
    const plan = planVendorMacs(
      planned(),
      parseVendorMacList('52:54:00:00:00:01\n52:54:00:00:00:02\n52:54:00:00:00:04\n'),
    )
    expect(plan.problems).toEqual([])
    expect(plan.assignments.map((a) => [a.node, a.mac, a.line])).toEqual([
      ['a1', '52:54:00:00:00:01', 1],
      ['a2', '52:54:00:00:00:02', 2],
      ['a4', '52:54:00:00:00:04', 3],
    ])
    expect(plan.emptyLeft).toBe(0)
  })

  it('a MAC already in the inventory and a slot that is not empty are problems, with their lines', () => {
    const list = parseVendorMacList(
      'slot,mac\n1,52:54:00:00:00:99\n3,52:54:00:00:00:03\n2,52:54:00:00:00:02\n',
    )
    const plan = planVendorMacs(planned(), list)
    expect(plan.problems).toEqual([
      "line 2: MAC 52:54:00:00:00:99 already belongs to node 'a3'",
      'line 3: 52:54:00:00:00:03: slot 3 is not an empty planned slot',
      'the list has 2 MAC addresses but 3 empty slots are planned: 1 slot will stay empty',
    ])
    expect(plan.assignments.map((a) => [a.node, a.mac])).toEqual([['a2', '52:54:00:00:00:02']])
  })

  it('problems read down the file in line order, whatever kind they are; whole-list ones last', () => {
    const list = parseVendorMacList(
      '52:54:00:aa:00:01\nnot a mac\n52-54-00-AA-00-01\naabb.ccdd.ee\n52:54:00:00:00:99\n',
    )
    const lines = planVendorMacs(planned(), list).problems.map((p) => /^line (\d+)/.exec(p)?.[1] ?? 'list')
    expect(lines).toEqual(['2', '3', '4', '5', 'list'])
  })

  it('no planned slot at all is said plainly', () => {
    expect(planVendorMacs([node({ name: 'x' })], parseVendorMacList('52:54:00:00:00:01\n')).problems).toEqual(
      ['no empty planned slot: plan the rack first (nodes with a rack slot and no MAC)'],
    )
  })
})

describe('InventoryRepo.importNodes and assignVendorMacs on a real store', () => {
  let dir: string
  let store: Store
  let repo: InventoryRepo
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rackboot-interop-apply-'))
    store = await Store.open({ dataDir: dir, logger: silentLogger })
    repo = new InventoryRepo(store, now)
  })
  afterEach(async () => {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })

  const conf = (names: string[]) =>
    ['nodes:', ...names.flatMap((n, i) => [`  ${n}:`, `    tags: {rack: r7, slot: "${i + 1}"}`])].join('\n') +
    '\n'

  it('adds nodes and racks in one write, with the passthrough on each node in db.json', async () => {
    const text = conf(['c1', 'c2']).replace('  c1:\n', '  c1:\n    ipxe template: custom\n')
    const out = await repo.importNodes(ww(text), { replace: false })
    expect(out.dryRun).toBe(false)
    expect(out.racks.map((r) => r.name)).toEqual(['r7'])
    const onDisk = dbSchema.parse(JSON.parse(await readFile(join(dir, 'db.json'), 'utf8')))
    expect(onDisk.nodes.map((n) => [n.name, n.rack, n.slot])).toEqual([
      ['c1', 'r7', 1],
      ['c2', 'r7', 2],
    ])
    expect(onDisk.nodes[0]!.extra.warewulf!.fields).toEqual({ 'ipxe template': 'custom' })
    expect(onDisk.racks.map((r) => r.name)).toEqual(['r7'])
  })

  it('refuses the whole import on one conflict and leaves db.json byte-identical; dry run never writes', async () => {
    await repo.addNode({ name: 'c2' })
    const before = await readFile(join(dir, 'db.json'))
    const err = await repo.importNodes(ww(conf(['c1', 'c2'])), { replace: false }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ProblemListError)
    expect((err as ProblemListError).problems).toEqual([
      "node 'c2' already exists; import with replace to overwrite it",
    ])
    const dry = await repo.importNodes(ww(conf(['c1', 'c2'])), { replace: true, dryRun: true })
    expect([dry.dryRun, dry.replaced]).toEqual([true, ['c2']])
    expect((await readFile(join(dir, 'db.json'))).equals(before)).toBe(true)
    expect(repo.listNodes().map((n) => n.name)).toEqual(['c2'])
  })

  it('assignVendorMacs writes all MACs and serials in one update, or nothing', async () => {
    await repo.importNodes(ww(conf(['c1', 'c2'])), { replace: false })
    const before = await readFile(join(dir, 'db.json'))
    await expect(repo.assignVendorMacs(parseVendorMacList('52:54:00:00:00:01\nbad\n'))).rejects.toThrow(
      /line 2: 'bad' is not a MAC address/,
    )
    expect((await readFile(join(dir, 'db.json'))).equals(before)).toBe(true)
    const out = await repo.assignVendorMacs(
      parseVendorMacList('mac,serial\n52:54:00:00:00:01,S1\n52:54:00:00:00:02,S2\n'),
    )
    expect(out.saved).toBe(true)
    expect(repo.listNodes().map((n) => [n.name, n.macs, n.serial, n.state])).toEqual([
      ['c1', ['52:54:00:00:00:01'], 'S1', 'captured'],
      ['c2', ['52:54:00:00:00:02'], 'S2', 'captured'],
    ])
  })

  it('the contract handlers: problems of a bad file come back as one refusal listing each with its line', async () => {
    const h = createInteropHandlers(repo)
    const bad =
      'nodes:\n  n1:\n    network devices: {a: {hwaddr: "52:54:00:00:00:01"}}\n  n2:\n    network devices: {a: {hwaddr: "52:54:00:00:00:01"}}\n    tags: {slot: "3"}\n'
    const err = (await h['import/warewulf']({ text: bad, dryRun: false, replace: false }).catch(
      (e: unknown) => e,
    )) as ProblemListError
    expect(err).toBeInstanceOf(ProblemListError)
    expect(err.problems).toHaveLength(2)
    expect(err.problems.every((p) => /^line \d+, node 'n2': /.test(p))).toBe(true)
    expect(err.message.split('\n')).toHaveLength(3)
    expect((await h['export/render']({ format: 'csv' })).text).toBe('rack,slot,name,mac,ip,serial,bmc\r\n')
    await expect(h['export/render']({ format: 'csv', version: '4.5' })).rejects.toThrow(
      /warewulf format only/,
    )
  })
})
