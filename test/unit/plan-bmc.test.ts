import { describe, expect, it } from 'vitest'
import {
  describePlanIssues,
  planRack,
  planRequestSchema,
  type PlanRequest,
  type PlanRequestInput,
} from '../../electron/core/inventory/plan'
import { dbSchema, describeIssues, SCHEMA_VERSION, type Db } from '../../electron/core/inventory/schema'

function db(extra: Partial<Record<'settings' | 'racks' | 'nodes', unknown>> = {}): Db {
  return dbSchema.parse({ version: SCHEMA_VERSION, settings: { subnet: '198.18.0.0/24' }, ...extra })
}

const base: PlanRequestInput = {
  rack: { name: 'r1', heightU: 42, numbering: 'bottom-up' },
  pattern: 'node{01..32}',
  count: 3,
  firstSlot: 1,
  nodeHeightU: 1,
  ip: { start: '198.18.0.11', rackOffset: 0 },
}
const req = (over: Partial<PlanRequestInput> = {}): PlanRequest =>
  planRequestSchema.parse({ ...base, ...over })

describe('node BMC in the schema', () => {
  it('a stored node without bmc (older db.json) loads with an empty BMC', () => {
    const d = dbSchema.safeParse({ version: SCHEMA_VERSION, nodes: [{ name: 'n1', ipv4: '198.18.0.5' }] })
    expect(d.success && d.data.nodes[0]!.bmc).toEqual({ ipv4: null, user: null })
  })

  it('refuses a BMC address used twice or equal to a boot address, naming the path', () => {
    const d = dbSchema.safeParse({
      version: SCHEMA_VERSION,
      nodes: [
        { name: 'n1', ipv4: '198.18.0.5', bmc: { ipv4: '198.18.1.5', user: 'admin' } },
        { name: 'n2', ipv4: '198.18.0.6', bmc: { ipv4: '198.18.1.5' } },
        { name: 'n3', ipv4: '198.18.0.7', bmc: { ipv4: '198.18.0.5' } },
      ],
    })
    expect(d.success).toBe(false)
    if (!d.success)
      expect(describeIssues(d.error)).toEqual([
        "nodes[1].bmc.ipv4: BMC IPv4 198.18.1.5 is on both 'n1' and 'n2'",
        "nodes[2].bmc.ipv4: BMC IPv4 198.18.0.5 of 'n3' is the boot IPv4 of 'n1'",
      ])
  })
})

describe('rack plan with BMC addresses', () => {
  it('gives each node the next BMC address and the user, offset per rack like the IP plan', () => {
    const p = planRack(
      db({ racks: [{ name: 'r0' }] }),
      req({ bmc: { start: '10.0.0.11', rackOffset: 40, user: 'admin' } }),
    )
    expect(p.issues).toEqual([])
    expect(p.nodes.map((n) => [n.name, n.bmc.ipv4, n.bmc.user])).toEqual([
      ['node01', '10.0.0.51', 'admin'],
      ['node02', '10.0.0.52', 'admin'],
      ['node03', '10.0.0.53', 'admin'],
    ])
  })

  it('refuses a BMC address that collides with a planned or existing address, naming node and field', () => {
    const nodes = [{ name: 'old', ipv4: '198.18.0.90', bmc: { ipv4: '198.18.0.95' } }]
    const p = planRack(db({ nodes }), req({ bmc: { start: '198.18.0.12', rackOffset: 0, user: null } }))
    expect(describePlanIssues(p)).toEqual([
      "node01 bmc: BMC address 198.18.0.12 is already the planned IPv4 of 'node02'",
      "node02 bmc: BMC address 198.18.0.13 is already the planned IPv4 of 'node03'",
    ])
    const q = planRack(db({ nodes }), req({ bmc: { start: '198.18.0.89', rackOffset: 0, user: null } }))
    expect(describePlanIssues(q)).toEqual([
      "node02 bmc: BMC address 198.18.0.90 is already the IPv4 of 'old'",
    ])
    const r = planRack(db({ nodes }), req({ bmc: { start: '198.18.0.93', rackOffset: 0, user: null } }))
    expect(describePlanIssues(r)).toEqual([
      "node03 bmc: BMC address 198.18.0.95 is already the BMC address of 'old'",
    ])
  })

  it('a user alone sets the user and no address; old requests without bmc plan no BMC', () => {
    const u = planRack(db(), req({ bmc: { start: null, rackOffset: 0, user: 'root' } }))
    expect(u.issues).toEqual([])
    expect(u.nodes.every((n) => n.bmc.ipv4 === null && n.bmc.user === 'root')).toBe(true)
    const old = planRequestSchema.safeParse(base)
    expect(old.success).toBe(true)
    const p = planRack(db(), req())
    expect(p.nodes.every((n) => n.bmc.ipv4 === null && n.bmc.user === null)).toBe(true)
  })

  it('a planned boot address on an existing BMC is refused', () => {
    const p = planRack(db({ nodes: [{ name: 'old', bmc: { ipv4: '198.18.0.12' } }] }), req())
    expect(describePlanIssues(p)).toEqual(["node02 ipv4: 198.18.0.12 is already the BMC address of 'old'"])
  })

  it('the request schema refuses a malformed BMC address', () => {
    const bad = { ...base, bmc: { start: '10.0.0.300', rackOffset: 0, user: null } }
    expect(planRequestSchema.safeParse(bad).success).toBe(false)
  })
})
