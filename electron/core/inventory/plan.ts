/**
 * The rack plan: from "rack r1, 42 U, 32 nodes named node{01..32} from slot 1, addresses from 198.18.0.11"
 * to the exact list of nodes (name, slot, IPv4) and every reason it cannot be applied, each tied to the form
 * field or planned node it concerns. Pure (no Node imports): the `plan/preview` and `plan/apply` handlers both
 * run it, so the API refuses exactly what the UI shows as wrong, and the renderer may import the schema.
 */
import { z } from 'zod'
import { cidrContains, intToIp, ipToInt, parseCidr } from '../util/ipv4'
import { addressHolders } from './bmc'
import { cidrSchema, hostnameSchema, ipv4Schema, type Db, type Node, type Rack } from './schema'

const MAX_SLOT = 60

export const planRequestSchema = z
  .object({
    rack: z
      .object({
        name: hostnameSchema,
        heightU: z.number().int().min(1).max(MAX_SLOT),
        /** Slot 1 at the bottom (most racks) or at the top; only changes how the rack is drawn and read. */
        numbering: z.enum(['bottom-up', 'top-down']),
      })
      .strict(),
    /** e.g. `node{01..32}`, `r1n{01..}` or `{rack}n{01..}`; the digits written set the zero padding. */
    pattern: z.string().min(1, 'a naming pattern, e.g. node{01..32}').max(80),
    count: z.number().int().min(1, 'at least one node').max(MAX_SLOT),
    firstSlot: z.number().int().min(1).max(MAX_SLOT),
    nodeHeightU: z.number().int().min(1).max(10),
    /** Slots from one node's first slot to the next one's; defaults to the node height (no gaps). */
    slotStep: z.number().int().min(1).max(MAX_SLOT).optional(),
    /** Fixed addresses; null = nodes take addresses from the DHCP pool. */
    ip: z
      .object({
        start: ipv4Schema,
        /** Added once per rack before this one (rack order), so rack 2 starts at start + offset. */
        rackOffset: z.number().int().min(0).max(65535),
      })
      .strict()
      .nullable(),
    /** Subnet the addresses must fall in; defaults to the settings' subnet. */
    subnet: cidrSchema.nullable().optional(),
    /**
     * Optional management controllers (IPMI/Redfish): consecutive addresses from `start` (same per-rack offset
     * as `ip`) and one user for all. No password: it would end up in the state file. Absent or null = no BMC.
     */
    bmc: z
      .object({
        start: ipv4Schema.nullable(),
        rackOffset: z.number().int().min(0).max(65535),
        user: z.string().min(1).max(64).nullable(),
      })
      .strict()
      .nullable()
      .optional(),
  })
  .strict()
export type PlanRequest = z.output<typeof planRequestSchema>
export type PlanRequestInput = z.input<typeof planRequestSchema>

/** Form-level fields a plan issue can name; node-level issues name `name`, `slot` or `ipv4` plus the node index. */
export type PlanField =
  | 'rack.name'
  | 'rack.heightU'
  | 'pattern'
  | 'count'
  | 'firstSlot'
  | 'slotStep'
  | 'ip.start'
  | 'subnet'
  | 'name'
  | 'slot'
  | 'ipv4'
  | 'bmc'

export interface PlanIssue {
  field: PlanField
  message: string
  /** Index into `nodes` when the issue concerns one planned node. */
  node?: number
}

export interface PlannedNode {
  name: string
  rack: string
  slot: number
  heightU: number
  ipv4: string | null
  bmc: { ipv4: string | null; user: string | null }
}

export interface PlanPreview {
  rack: Rack
  /** True when the rack exists already: applying updates its height and numbering. */
  rackExists: boolean
  /** Position of the rack in rack order (0-based); the IP plan adds rackOffset this many times. */
  rackIndex: number
  subnet: string | null
  nodes: PlannedNode[]
  issues: PlanIssue[]
}

export interface NamePattern {
  prefix: string
  suffix: string
  first: number
  last: number | null
  width: number
}

/** Parses `prefix{NN..MM}suffix` (MM optional); `{rack}` is replaced by the rack name first. */
export function parseNamePattern(
  pattern: string,
  rackName: string,
): { ok: true; value: NamePattern } | { ok: false; error: string } {
  const text = pattern.split('{rack}').join(rackName)
  const ranges = [...text.matchAll(/\{(\d+)\.\.(\d*)\}/g)]
  if (ranges.length !== 1)
    return {
      ok: false,
      error:
        ranges.length === 0
          ? `'${pattern}' has no number range; add one like {01..32} or {01..}`
          : `'${pattern}' has ${ranges.length} number ranges; use exactly one`,
    }
  const m = ranges[0]!
  const prefix = text.slice(0, m.index)
  const suffix = text.slice(m.index + m[0].length)
  if (/[{}]/.test(prefix + suffix))
    return { ok: false, error: `'${pattern}': only {rack} and one range like {01..32} may be in braces` }
  const first = Number(m[1])
  const last = m[2] === '' ? null : Number(m[2])
  if (last !== null && last < first)
    return { ok: false, error: `'${pattern}': the range counts down (${m[1]}..${m[2]}); write it low..high` }
  return { ok: true, value: { prefix, suffix, first, last, width: m[1]!.length } }
}

export function nameAt(p: NamePattern, i: number): string {
  return `${p.prefix}${String(p.first + i).padStart(p.width, '0')}${p.suffix}`
}

type Planned = Pick<Node, 'name' | 'rack' | 'slot' | 'heightU' | 'ipv4'>

function overlaps(a: { slot: number; heightU: number }, b: { slot: number; heightU: number }): boolean {
  return a.slot < b.slot + b.heightU && b.slot < a.slot + a.heightU
}

/**
 * Plans one rack against the current state. Never throws: every problem is an issue, and nodes are listed
 * even when some are wrong, so the preview can mark exactly the bad rows.
 */
export function planRack(db: Readonly<Db>, req: PlanRequest): PlanPreview {
  const issues: PlanIssue[] = []
  const existingRackIndex = db.racks.findIndex((r) => r.name === req.rack.name)
  const rackIndex = existingRackIndex >= 0 ? existingRackIndex : db.racks.length
  const rack: Rack = { ...req.rack }
  const step = req.slotStep ?? req.nodeHeightU
  const subnet = req.subnet !== undefined && req.subnet !== null ? req.subnet : db.settings.subnet

  if (step < req.nodeHeightU)
    issues.push({
      field: 'slotStep',
      message: `a step of ${step} U would stack ${req.nodeHeightU} U nodes on each other; use at least ${req.nodeHeightU}`,
    })

  if (existingRackIndex >= 0) {
    const tooHigh = db.nodes.find(
      (n) => n.rack === rack.name && n.slot !== null && n.slot + n.heightU - 1 > rack.heightU,
    )
    if (tooHigh)
      issues.push({
        field: 'rack.heightU',
        message: `rack '${rack.name}' cannot shrink to ${rack.heightU} U: '${tooHigh.name}' sits in slot ${tooHigh.slot}`,
      })
  }

  const pattern = parseNamePattern(req.pattern, rack.name)
  if (!pattern.ok) issues.push({ field: 'pattern', message: pattern.error })
  else if (pattern.value.last !== null && req.count > pattern.value.last - pattern.value.first + 1)
    issues.push({
      field: 'count',
      message: `${req.count} nodes, but '${req.pattern}' names only ${pattern.value.last - pattern.value.first + 1}; widen the range or lower the count`,
    })

  let cidr = null
  if (req.ip !== null) {
    if (subnet === null)
      issues.push({ field: 'subnet', message: 'no subnet set: choose one in the Interface step first' })
    else {
      const parsed = parseCidr(subnet)
      if (parsed.ok) cidr = parsed.value
      else issues.push({ field: 'subnet', message: parsed.error })
    }
  }
  const firstIp = req.ip !== null ? (ipToInt(req.ip.start) ?? 0) + rackIndex * req.ip.rackOffset : null
  // Past 255.255.255.255 the integer no longer fits the 32-bit mask test; the node rows say "runs past".
  if (
    req.ip !== null &&
    cidr !== null &&
    firstIp !== null &&
    firstIp <= 0xffffffff &&
    !cidrContains(cidr, firstIp)
  )
    issues.push({
      field: 'ip.start',
      message:
        rackIndex === 0 || req.ip.rackOffset === 0
          ? `${req.ip.start} is outside ${cidr.text}`
          : `rack ${rackIndex + 1} starts at ${intToIp(firstIp)} (${req.ip.start} + ${rackIndex} × ${req.ip.rackOffset}), outside ${cidr.text}`,
    })

  const pool = db.settings.pool
  const poolStart = pool ? ipToInt(pool.start) : null
  const poolEnd = pool ? ipToInt(pool.end) : null
  const gateway = db.settings.gateway

  const bmcReq = req.bmc ?? null
  const firstBmc =
    bmcReq !== null && bmcReq.start !== null
      ? (ipToInt(bmcReq.start) ?? 0) + rackIndex * bmcReq.rackOffset
      : null
  // Every address a BMC must not take: this plan's boot addresses, and every existing node's boot and BMC one.
  const plannedIps = addressHolders(db.nodes, gateway)
  if (firstIp !== null)
    for (let i = 0; i < req.count; i++)
      if (firstIp + i <= 0xffffffff)
        plannedIps.set(
          intToIp(firstIp + i),
          `the planned IPv4 of '${pattern.ok ? nameAt(pattern.value, i) : `#${i + 1}`}'`,
        )

  const nodes: PlannedNode[] = []
  for (let i = 0; i < req.count; i++) {
    const name = pattern.ok ? nameAt(pattern.value, i) : `#${i + 1}`
    const slot = req.firstSlot + i * step
    const ipInt = firstIp === null ? null : firstIp + i
    const ipv4 = ipInt === null || ipInt > 0xffffffff ? null : intToIp(ipInt)
    const n: Planned = { name, rack: rack.name, slot, heightU: req.nodeHeightU, ipv4 }
    const bmcInt = firstBmc === null ? null : firstBmc + i
    const bmcIp = bmcInt === null || bmcInt > 0xffffffff ? null : intToIp(bmcInt)
    const bmc = { ipv4: bmcIp, user: bmcReq?.user ?? null }
    nodes.push({ name, rack: rack.name, slot, heightU: req.nodeHeightU, ipv4, bmc })
    const issue = (field: PlanField, message: string) => issues.push({ field, message, node: i })

    if (bmcInt !== null) {
      const clash = bmcIp === null ? undefined : plannedIps.get(bmcIp)
      if (bmcIp === null) issue('bmc', 'BMC address runs past 255.255.255.255')
      else if (clash !== undefined) issue('bmc', `BMC address ${bmcIp} is already ${clash}`)
    }

    if (pattern.ok) {
      if (!hostnameSchema.safeParse(name).success)
        issue('name', `'${name}' is not a host name (letters, digits, inner hyphens, at most 63)`)
      else if (db.nodes.some((e) => e.name === name)) issue('name', `a node named '${name}' already exists`)
    }

    const top = slot + req.nodeHeightU - 1
    if (top > rack.heightU)
      issue(
        'slot',
        req.nodeHeightU === 1
          ? `slot ${slot} is beyond rack '${rack.name}' (${rack.heightU} U)`
          : `slots ${slot}–${top} go beyond rack '${rack.name}' (${rack.heightU} U)`,
      )
    else {
      const taken = db.nodes.find(
        (e) =>
          e.rack === rack.name &&
          e.slot !== null &&
          overlaps({ slot: e.slot, heightU: e.heightU }, { slot, heightU: n.heightU }),
      )
      if (taken) issue('slot', `slot ${slot} is taken by '${taken.name}' (slot ${taken.slot})`)
    }

    if (req.ip !== null) {
      if (ipInt === null || ipInt > 0xffffffff) issue('ipv4', 'runs past 255.255.255.255')
      else if (cidr !== null) {
        const broadcast = (cidr.network | (~cidr.mask >>> 0)) >>> 0
        if (!cidrContains(cidr, ipInt)) issue('ipv4', `${ipv4} is outside ${cidr.text}`)
        else if (ipInt === cidr.network) issue('ipv4', `${ipv4} is the network address of ${cidr.text}`)
        else if (ipInt === broadcast) issue('ipv4', `${ipv4} is the broadcast address of ${cidr.text}`)
        else {
          const holder = db.nodes.find((e) => e.ipv4 === ipv4)
          const bmcHolder = db.nodes.find((e) => e.bmc.ipv4 === ipv4)
          if (holder) issue('ipv4', `${ipv4} already belongs to '${holder.name}'`)
          else if (bmcHolder) issue('ipv4', `${ipv4} is already the BMC address of '${bmcHolder.name}'`)
          else if (ipv4 === gateway) issue('ipv4', `${ipv4} is the gateway`)
          else if (poolStart !== null && poolEnd !== null && ipInt >= poolStart && ipInt <= poolEnd)
            issue(
              'ipv4',
              `${ipv4} is inside the DHCP pool ${pool!.start}–${pool!.end}, which may lease it to another machine`,
            )
        }
      }
    }
  }
  return { rack, rackExists: existingRackIndex >= 0, rackIndex, subnet, nodes, issues }
}

/** One line per issue, naming the node where there is one: what `plan/apply` refuses with. */
export function describePlanIssues(preview: PlanPreview): string[] {
  return preview.issues.map((i) =>
    i.node === undefined
      ? `${i.field}: ${i.message}`
      : `${preview.nodes[i.node]!.name} ${i.field}: ${i.message}`,
  )
}
