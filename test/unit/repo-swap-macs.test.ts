import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Store } from '../../electron/core/inventory/store'
import { InventoryRepo } from '../../electron/core/inventory/repo'
import { silentLogger } from '../../electron/core/util/logger'

const now = () => new Date('2026-01-01T00:00:00Z')
const A = '52:54:00:00:00:0a'
const B = '52:54:00:00:00:0b'

describe('InventoryRepo.swapMacs (nodes/swap)', () => {
  let dir: string
  let store: Store
  let repo: InventoryRepo
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rackboot-swap-'))
    store = await Store.open({ dataDir: dir, logger: silentLogger })
    repo = new InventoryRepo(store, now)
    await repo.upsertRack({ name: 'r1' })
    await repo.addNode({ name: 'n1', rack: 'r1', slot: 1 })
    await repo.addNode({ name: 'n2', rack: 'r1', slot: 2 })
    await repo.addNode({ name: 'n3', rack: 'r1', slot: 3 })
    await repo.assignMac('n1', A)
    await repo.assignMac('n2', B)
  })
  afterEach(async () => {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })
  const macs = () => Object.fromEntries(repo.listNodes().map((n) => [n.name, [n.macs, n.state]]))

  it('lookups by MAC and IPv4 follow every change (their index is rebuilt per state)', async () => {
    expect(repo.nodeByMac(A)?.name).toBe('n1')
    expect(repo.nodeByIpv4('198.18.0.33')).toBeNull()
    await repo.swapMacs('n1', 'n2')
    expect(repo.nodeByMac(A)?.name).toBe('n2')
    expect(repo.nodeByMac(B)?.name).toBe('n1')
    await repo.addNode({ name: 'n4', rack: 'r1', slot: 4, ip: '198.18.0.33', mac: '52:54:00:00:00:0c' })
    expect(repo.nodeByIpv4('198.18.0.33')?.name).toBe('n4')
    expect(repo.nodeByMac('52:54:00:00:00:0c')?.name).toBe('n4')
    // A group-committed change is visible at once, and so to the lookups.
    repo.recordAgentState('52:54:00:00:00:0c', 'up')
    expect(repo.nodeByMac('52:54:00:00:00:0c')?.state).toBe('up')
    expect(repo.listNodes().map((n) => n.name)).toEqual(['n1', 'n2', 'n3', 'n4'])
    // The listing is a copy: sorting it does not change the next one.
    repo.listNodes().reverse()
    expect(repo.listNodes()[0]!.name).toBe('n1')
  })

  it('swaps two captured nodes and saves it', async () => {
    await repo.swapMacs('n1', 'n2')
    expect(macs()).toMatchObject({ n1: [[B], 'captured'], n2: [[A], 'captured'] })
    await store.close()
    const saved = JSON.parse(await readFile(join(dir, 'db.json'), 'utf8')) as {
      nodes: { name: string; macs: string[] }[]
    }
    expect(saved.nodes.find((n) => n.name === 'n1')!.macs).toEqual([B])
    store = await Store.open({ dataDir: dir, logger: silentLogger })
  })

  it('moves a MAC into an empty slot, and the emptied node is planned again', async () => {
    await repo.swapMacs('n2', 'n3')
    expect(macs()).toMatchObject({ n2: [[], 'planned'], n3: [[B], 'captured'] })
  })

  it('refuses an unknown node or a node with itself, changing nothing', async () => {
    await expect(repo.swapMacs('n1', 'nx')).rejects.toThrow("no node named 'nx'")
    await expect(repo.swapMacs('n1', 'n1')).rejects.toThrow('with itself')
    expect(macs()).toMatchObject({ n1: [[A], 'captured'], n2: [[B], 'captured'] })
  })
})
