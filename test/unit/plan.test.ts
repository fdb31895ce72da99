import { describe, expect, it } from 'vitest'
import {
  describePlanIssues,
  parseNamePattern,
  planRack,
  planRequestSchema,
  type PlanRequest,
  type PlanRequestInput,
} from '../../electron/core/inventory/plan'
import { dbSchema, SCHEMA_VERSION, type Db } from '../../electron/core/inventory/schema'

function db(extra: Partial<Record<'settings' | 'racks' | 'nodes', unknown>> = {}): Db {
  return dbSchema.parse({
    version: SCHEMA_VERSION,
    settings: { subnet: '198.18.0.0/24', pool: { start: '198.18.0.128', end: '198.18.0.254' } },
    ...extra,
  })
}

const base: PlanRequestInput = {
  rack: { name: 'r1', heightU: 42, numbering: 'bottom-up' },
  pattern: 'node{01..32}',
  count: 4,
  firstSlot: 1,
  nodeHeightU: 1,
  ip: { start: '198.18.0.11', rackOffset: 0 },
}
const req = (over: Partial<PlanRequestInput> = {}): PlanRequest =>
  planRequestSchema.parse({ ...base, ...over })

describe('parseNamePattern', () => {
  it.each([
    ['node{01..32}', 'r1', { prefix: 'node', suffix: '', first: 1, last: 32, width: 2 }],
    ['r1n{01..}', 'r1', { prefix: 'r1n', suffix: '', first: 1, last: null, width: 2 }],
    ['{rack}n{001..}', 'r7', { prefix: 'r7n', suffix: '', first: 1, last: null, width: 3 }],
    ['cn{5..8}-a', 'r1', { prefix: 'cn', suffix: '-a', first: 5, last: 8, width: 1 }],
  ])('%s in rack %s', (pattern, rack, expected) => {
    expect(parseNamePattern(pattern, rack)).toEqual({ ok: true, value: expected })
  })

  it.each([
    ['node', /no number range/],
    ['n{1..2}x{1..2}', /2 number ranges/],
    ['n{9..1}', /counts down/],
    ['{pod}n{1..}', /only \{rack\}/],
  ])('refuses %s', (pattern, message) => {
    const r = parseNamePattern(pattern, 'r1')
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error).toMatch(message)
  })
})

describe('planRack', () => {
  it('names, places and addresses every node in order', () => {
    const p = planRack(db(), req())
    expect(p.issues).toEqual([])
    expect(p.rackExists).toBe(false)
    expect(p.nodes.map((n) => [n.name, n.slot, n.ipv4])).toEqual([
      ['node01', 1, '198.18.0.11'],
      ['node02', 2, '198.18.0.12'],
      ['node03', 3, '198.18.0.13'],
      ['node04', 4, '198.18.0.14'],
    ])
  })

  it('multi-U nodes step by their height unless a larger step is given', () => {
    expect(planRack(db(), req({ nodeHeightU: 2, count: 3 })).nodes.map((n) => n.slot)).toEqual([1, 3, 5])
    expect(planRack(db(), req({ nodeHeightU: 2, slotStep: 3, count: 3 })).nodes.map((n) => n.slot)).toEqual([
      1, 4, 7,
    ])
  })

  it('the rack offset moves the second rack on by one offset', () => {
    const racks = [{ name: 'r1', heightU: 42, numbering: 'bottom-up' }]
    const p = planRack(
      db({ racks }),
      req({
        rack: { name: 'r2', heightU: 42, numbering: 'top-down' },
        pattern: '{rack}n{01..}',
        ip: { start: '198.18.0.11', rackOffset: 40 },
      }),
    )
    expect(p.rackIndex).toBe(1)
    expect(p.nodes.map((n) => [n.name, n.ipv4])[0]).toEqual(['r2n01', '198.18.0.51'])
  })

  it('no IP plan: nodes get no fixed address and need no subnet', () => {
    const p = planRack(db({ settings: {} }), req({ ip: null }))
    expect(p.issues).toEqual([])
    expect(p.nodes.every((n) => n.ipv4 === null)).toBe(true)
  })

  const existing = [
    { name: 'node02', rack: 'r1', slot: 10, ipv4: '198.18.0.50' },
    { name: 'old', rack: 'r1', slot: 3, heightU: 2, ipv4: '198.18.0.13' },
  ]
  const racks = [{ name: 'r1', heightU: 42, numbering: 'bottom-up' }]

  it.each<
    [string, Partial<PlanRequestInput>, Partial<Record<'settings' | 'racks' | 'nodes', unknown>>, string[]]
  >([
    [
      'duplicate name',
      {},
      { racks, nodes: [existing[0]] },
      ["node02 name: a node named 'node02' already exists"],
    ],
    [
      'slot taken by a 2 U node (both its slots)',
      {},
      { racks, nodes: [existing[1]] },
      [
        "node03 slot: slot 3 is taken by 'old' (slot 3)",
        "node04 slot: slot 4 is taken by 'old' (slot 3)",
        "node03 ipv4: 198.18.0.13 already belongs to 'old'",
      ],
    ],
    [
      'slots beyond the rack height',
      { rack: { name: 'r1', heightU: 3, numbering: 'bottom-up' } },
      {},
      ["node04 slot: slot 4 is beyond rack 'r1' (3 U)"],
    ],
    [
      'a 2 U node whose top slot is past the rack',
      { rack: { name: 'r1', heightU: 4, numbering: 'bottom-up' }, nodeHeightU: 2, count: 2, firstSlot: 2 },
      {},
      ["node02 slot: slots 4–5 go beyond rack 'r1' (4 U)"],
    ],
    [
      'addresses outside the subnet',
      { ip: { start: '198.18.0.126', rackOffset: 0 }, count: 2 },
      { settings: { subnet: '198.18.0.0/25' } },
      ['node02 ipv4: 198.18.0.127 is the broadcast address of 198.18.0.0/25'],
    ],
    [
      'start outside the subnet',
      { ip: { start: '198.18.1.1', rackOffset: 0 }, count: 1 },
      {},
      ['ip.start: 198.18.1.1 is outside 198.18.0.0/24', 'node01 ipv4: 198.18.1.1 is outside 198.18.0.0/24'],
    ],
    [
      'addresses inside the DHCP pool',
      { ip: { start: '198.18.0.127', rackOffset: 0 }, count: 2 },
      {},
      [
        'node02 ipv4: 198.18.0.128 is inside the DHCP pool 198.18.0.128–198.18.0.254, which may lease it to another machine',
      ],
    ],
    [
      'the gateway address',
      { count: 1 },
      { settings: { subnet: '198.18.0.0/24', gateway: '198.18.0.11' } },
      ['node01 ipv4: 198.18.0.11 is the gateway'],
    ],
    [
      'no subnet anywhere',
      { count: 1 },
      { settings: {} },
      ['subnet: no subnet set: choose one in the Interface step first'],
    ],
    [
      'more nodes than the range names',
      { pattern: 'n{1..3}' },
      {},
      ["count: 4 nodes, but 'n{1..3}' names only 3; widen the range or lower the count"],
    ],
    [
      'a step smaller than the node height',
      { nodeHeightU: 2, slotStep: 1, count: 1 },
      {},
      ['slotStep: a step of 1 U would stack 2 U nodes on each other; use at least 2'],
    ],
    [
      'shrinking an existing rack under its nodes',
      { rack: { name: 'r1', heightU: 9, numbering: 'bottom-up' }, firstSlot: 20, count: 1, ip: null },
      { racks, nodes: [existing[0]] },
      [
        "rack.heightU: rack 'r1' cannot shrink to 9 U: 'node02' sits in slot 10",
        "node01 slot: slot 20 is beyond rack 'r1' (9 U)",
      ],
    ],
    [
      'a name that is not a host name',
      { pattern: 'node_{1..}', count: 1 },
      {},
      ["node_1 name: 'node_1' is not a host name (letters, digits, inner hyphens, at most 63)"],
    ],
  ])('%s', (_label, over, state, expected) => {
    const p = planRack(db(state), req(over))
    expect(describePlanIssues(p).sort()).toEqual([...expected].sort())
  })

  it('the request schema refuses malformed input before planning', () => {
    expect(planRequestSchema.safeParse({ ...base, count: 0 }).success).toBe(false)
    expect(planRequestSchema.safeParse({ ...base, rack: { ...base.rack, name: 'r 1' } }).success).toBe(false)
    expect(
      planRequestSchema.safeParse({ ...base, ip: { start: '198.18.0.300', rackOffset: 0 } }).success,
    ).toBe(false)
    expect(planRequestSchema.safeParse({ ...base, extra: 1 }).success).toBe(false)
  })
})
