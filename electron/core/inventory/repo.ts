/**
 * Domain operations on the inventory: what the CLI, the contract handlers and the boot stack ask of it.
 * Every input is checked here with a message naming the bad field; the store validates the whole state again.
 */
import { RackbootError } from '../util/result'
import { parseMac } from '../util/mac'
import {
  nodeSchema,
  rackSchema,
  settingsSchema,
  describeIssues,
  type Db,
  type Node,
  type NodeState,
  type Rack,
  type Settings,
  type SettingsPatch,
} from './schema'
import type { Store } from './store'
import type { WarewulfImport } from '../interop/warewulf-types'
import { planNodeImport, type NodeImportOutcome } from '../interop/warewulf-apply'
import { planVendorMacs, type MacListOutcome } from '../interop/vendor-apply'
import type { VendorMacList } from '../interop/vendor-macs'
import { ProblemListError, plural } from '../interop/problems'
import { describePlanIssues, planRack, type PlanPreview, type PlanRequest } from './plan'
import { editedBmc, type BmcEdit } from './bmc'

export interface AddNodeInput {
  name: string
  mac?: string
  ip?: string
  rack?: string
  slot?: number
  image?: string
}

/** What nodes/set-boot asks (validated by the contract's schema before it gets here). */
export interface BootAssignment {
  target: { all: true } | { rack: string } | { nodes: string[] }
  /** null: boot no image; absent: leave it. */
  image?: string | null
  kernelArgs?: string
}

interface NodeIndex {
  data: Readonly<Db>
  sorted: readonly Node[]
  byMac: ReadonlyMap<string, Node>
  byIpv4: ReadonlyMap<string, Node>
}

export class InventoryRepo {
  private index: NodeIndex | null = null

  constructor(
    private readonly store: Store,
    private readonly now: () => Date = () => new Date(),
  ) {}

  get db(): Readonly<Db> {
    return this.store.data
  }

  listNodes(): Node[] {
    return [...this.indexed().sorted]
  }

  nodeByMac(mac: string): Node | null {
    return this.indexed().byMac.get(mac) ?? null
  }

  /** The node whose static IPv4 this is (the first in listing order, as a scan would find). */
  nodeByIpv4(ip: string): Node | null {
    return this.indexed().byIpv4.get(ip) ?? null
  }

  /**
   * Lookups of the current state, built once per state: the boot stack asks per packet (a DISCOVER, a TFTP
   * event, an HTTP request), and sorting or scanning 200 nodes each time was a visible share of the main
   * thread in a 200-node storm's first seconds (bench:storm, --cpu-prof). The state is replaced, never
   * changed in place (store.ts freezes it), so its identity says when the index is stale.
   */
  private indexed(): NodeIndex {
    const data = this.store.data
    if (this.index?.data === data) return this.index
    const sorted = [...data.nodes].sort(compareNodes)
    const byMac = new Map<string, Node>()
    const byIpv4 = new Map<string, Node>()
    // First wins, in the order the scans this replaces would have met them.
    for (const n of data.nodes) for (const m of n.macs) if (!byMac.has(m)) byMac.set(m, n)
    for (const n of sorted) if (n.ipv4 !== null && !byIpv4.has(n.ipv4)) byIpv4.set(n.ipv4, n)
    this.index = { data, sorted, byMac, byIpv4 }
    return this.index
  }

  async addNode(input: AddNodeInput): Promise<Node> {
    const macs: string[] = []
    if (input.mac !== undefined) {
      const parsed = parseMac(input.mac)
      if (!parsed.ok) throw new RackbootError(`--mac: ${parsed.error}`, 'bad-request')
      macs.push(parsed.value)
    }
    const stamp = this.now().toISOString()
    const candidate = nodeSchema.safeParse({
      name: input.name,
      macs,
      ipv4: input.ip ?? null,
      rack: input.rack ?? null,
      slot: input.slot ?? null,
      image: input.image ?? null,
      createdAt: stamp,
      updatedAt: stamp,
    })
    if (!candidate.success)
      throw new RackbootError(
        `node '${input.name}': ${describeIssues(candidate.error).join('; ')}`,
        'bad-request',
      )
    const node = candidate.data
    return this.store.update((db) => {
      const clash = (pred: (n: Node) => boolean) => db.nodes.find(pred)
      const byName = clash((n) => n.name === node.name)
      if (byName) throw new RackbootError(`a node named '${node.name}' already exists`, 'conflict')
      for (const mac of node.macs) {
        const other = clash((n) => n.macs.includes(mac))
        if (other) throw new RackbootError(`MAC ${mac} already belongs to node '${other.name}'`, 'conflict')
      }
      if (node.ipv4) {
        const other = clash((n) => n.ipv4 === node.ipv4)
        if (other)
          throw new RackbootError(`IPv4 ${node.ipv4} already belongs to node '${other.name}'`, 'conflict')
      }
      if (node.rack !== null && !db.racks.some((r) => r.name === node.rack))
        throw new RackbootError(
          `rack '${node.rack}' does not exist; add it first (racks: ${db.racks.map((r) => r.name).join(', ') || 'none'})`,
          'not-found',
        )
      if (node.rack !== null && node.slot !== null) {
        const rack = db.racks.find((r) => r.name === node.rack)!
        if (node.slot + node.heightU - 1 > rack.heightU)
          throw new RackbootError(
            `slot ${node.slot} is outside rack '${rack.name}' (${rack.heightU} U)`,
            'bad-request',
          )
        const taken = db.nodes.find((n) => n.rack === node.rack && n.slot !== null && overlaps(n, node))
        if (taken)
          throw new RackbootError(
            `rack '${node.rack}' slot ${node.slot} is taken by '${taken.name}'`,
            'conflict',
          )
      }
      if (node.image !== null && !db.images.some((i) => i.name === node.image))
        throw new RackbootError(
          `image '${node.image}' does not exist (images: ${db.images.map((i) => i.name).join(', ') || 'none'})`,
          'not-found',
        )
      db.nodes.push(node)
      return node
    })
  }

  async removeNode(name: string): Promise<{ removed: string }> {
    return this.store.update((db) => {
      const i = db.nodes.findIndex((n) => n.name === name)
      if (i < 0) throw new RackbootError(`no node named '${name}'`, 'not-found')
      db.nodes.splice(i, 1)
      return { removed: name }
    })
  }

  /**
   * Puts a captured or imported MAC on a node. A MAC already on another node is never moved silently:
   * that is a conflict naming both nodes.
   */
  async assignMac(nodeName: string, mac: string): Promise<Node> {
    return this.store.update((db) => {
      const node = db.nodes.find((n) => n.name === nodeName)
      if (!node) throw new RackbootError(`no node named '${nodeName}'`, 'not-found')
      const other = db.nodes.find((n) => n.name !== nodeName && n.macs.includes(mac))
      if (other)
        throw new RackbootError(
          `MAC ${mac} already belongs to node '${other.name}'; remove it there first`,
          'conflict',
        )
      if (!node.macs.includes(mac)) node.macs.push(mac)
      if (node.state === 'planned') node.state = 'captured'
      node.updatedAt = this.now().toISOString()
      return structuredClone(node)
    })
  }

  async unassignMac(nodeName: string, mac: string): Promise<Node> {
    return this.store.update((db) => {
      const node = db.nodes.find((n) => n.name === nodeName)
      if (!node) throw new RackbootError(`no node named '${nodeName}'`, 'not-found')
      if (!node.macs.includes(mac))
        throw new RackbootError(`node '${nodeName}' does not have MAC ${mac}`, 'not-found')
      node.macs = node.macs.filter((m) => m !== mac)
      if (node.macs.length === 0 && node.state === 'captured') node.state = 'planned'
      node.updatedAt = this.now().toISOString()
      return structuredClone(node)
    })
  }

  /**
   * Swaps the MACs of two nodes in one store update (the capture step's "swap slots" and drag-a-MAC-onto-a-
   * slot): either may have none, so this also moves a MAC into an empty slot. States follow the MACs.
   */
  async swapMacs(a: string, b: string): Promise<{ a: Node; b: Node }> {
    if (a === b) throw new RackbootError(`cannot swap node '${a}' with itself`, 'bad-request')
    return this.store.update((db) => {
      const na = db.nodes.find((n) => n.name === a)
      const nb = db.nodes.find((n) => n.name === b)
      if (!na) throw new RackbootError(`no node named '${a}'`, 'not-found')
      if (!nb) throw new RackbootError(`no node named '${b}'`, 'not-found')
      const time = this.now().toISOString()
      ;[na.macs, nb.macs] = [nb.macs, na.macs]
      for (const n of [na, nb]) {
        if (n.macs.length === 0 && n.state === 'captured') n.state = 'planned'
        if (n.macs.length > 0 && n.state === 'planned') n.state = 'captured'
        n.updatedAt = time
      }
      return { a: structuredClone(na), b: structuredClone(nb) }
    })
  }

  /** Records the SMBIOS UUID a node sent in DHCP option 97 (best effort, group-committed). */
  recordUuid(mac: string, uuid: string): void {
    const node = this.nodeByMac(mac)
    if (!node || node.uuid === uuid) return
    // Deferred (store.updateLater): every PXE DISCOVER of a storm lands here before its OFFER is sent.
    this.store.updateLater(`uuid ${mac}`, (db) => {
      const n = db.nodes.find((x) => x.macs.includes(mac))
      if (n) n.uuid = uuid
    })
  }

  /**
   * Moves a node to the state its bootstrap or agent reported (POST /agent/:mac): best effort, group-committed,
   * nothing written when the state is already that. Leaves updatedAt alone: a heartbeat is not an edit.
   */
  recordAgentState(mac: string, state: NodeState): void {
    const node = this.nodeByMac(mac)
    if (!node || node.state === state) return
    this.store.updateSoon((db) => {
      const n = db.nodes.find((x) => x.macs.includes(mac))
      if (n) n.state = state
    })
  }

  /**
   * Adds the nodes of a Warewulf import in one store update: racks created as needed, each node's passthrough
   * kept on it. Refuses the whole import, listing every conflict with the nodes already there (name, MAC, IPv4,
   * slot); with `replace`, existing nodes of the same name are replaced. `dryRun` checks and changes nothing.
   */
  async importNodes(
    result: WarewulfImport,
    opts: { replace: boolean; dryRun?: boolean },
  ): Promise<NodeImportOutcome> {
    const checked = (db: Readonly<Db>) => {
      const plan = planNodeImport(db, result, opts)
      if (plan.problems.length > 0)
        throw new ProblemListError(
          `import refused, nothing was saved: ${plural(plan.problems.length, 'conflict')} with the nodes already in the inventory`,
          plan.problems,
          'conflict',
        )
      return plan
    }
    const outcome = (plan: ReturnType<typeof checked>, dryRun: boolean): NodeImportOutcome => ({
      dryRun,
      nodes: structuredClone(plan.nodes),
      racks: structuredClone(plan.racks),
      replaced: plan.replaced,
      warnings: plan.warnings,
    })
    if (opts.dryRun) return outcome(checked(this.store.data), true)
    return this.store.update((db) => {
      const plan = checked(db)
      db.nodes = db.nodes.filter((n) => !plan.replaced.includes(n.name))
      db.racks.push(...structuredClone(plan.racks))
      db.nodes.push(...structuredClone(plan.nodes))
      return outcome(plan, false)
    })
  }

  /**
   * Puts the MACs of a vendor list on the empty planned slots (rack order unless the list names slots), with
   * serials when the list has them, in one store update. Any problem (bad line, duplicate, known MAC, count
   * mismatch) refuses the whole list unless `force`, which assigns what matched. `dryRun` changes nothing.
   */
  async assignVendorMacs(
    list: VendorMacList,
    opts: { dryRun?: boolean; force?: boolean } = {},
  ): Promise<MacListOutcome> {
    const checked = (db: Readonly<Db>) => {
      const plan = planVendorMacs([...db.nodes].sort(compareNodes), list, db.settings.gateway)
      if (plan.problems.length > 0 && !opts.force)
        throw new ProblemListError(
          `MAC list refused, nothing was saved: ${plural(plan.problems.length, 'problem')} (fix the list, or force to assign what matched)`,
          plan.problems,
        )
      return plan
    }
    if (opts.dryRun) return { ...checked(this.store.data), dryRun: true, saved: false }
    return this.store.update((db) => {
      const plan = checked(db)
      const stamp = this.now().toISOString()
      for (const a of plan.assignments) {
        const node = db.nodes.find((n) => n.name === a.node)!
        node.macs.push(a.mac)
        if (a.serial !== null) node.serial = a.serial
        if (a.bmc !== null) node.bmc.ipv4 = a.bmc
        if (node.state === 'planned') node.state = 'captured'
        node.updatedAt = stamp
      }
      return { ...plan, dryRun: false, saved: plan.assignments.length > 0 }
    })
  }

  settings(): Settings {
    return this.store.data.settings
  }

  async updateSettings(patch: SettingsPatch): Promise<Settings> {
    return this.store.update((db) => {
      const merged = settingsSchema.safeParse({ ...db.settings, ...patch })
      if (!merged.success)
        throw new RackbootError(`settings: ${describeIssues(merged.error).join('; ')}`, 'bad-request')
      db.settings = merged.data
      return merged.data
    })
  }

  listRacks(): Rack[] {
    return [...this.store.data.racks]
  }

  async upsertRack(input: unknown): Promise<Rack> {
    const parsed = rackSchema.safeParse(input)
    if (!parsed.success)
      throw new RackbootError(`rack: ${describeIssues(parsed.error).join('; ')}`, 'bad-request')
    const rack = parsed.data
    return this.store.update((db) => {
      const tooHigh = db.nodes.find(
        (n) => n.rack === rack.name && n.slot !== null && n.slot + n.heightU - 1 > rack.heightU,
      )
      if (tooHigh)
        throw new RackbootError(
          `rack '${rack.name}' cannot shrink to ${rack.heightU} U: '${tooHigh.name}' sits in slot ${tooHigh.slot}`,
          'conflict',
        )
      const i = db.racks.findIndex((r) => r.name === rack.name)
      if (i >= 0) db.racks[i] = rack
      else db.racks.push(rack)
      return rack
    })
  }

  async removeRack(name: string): Promise<{ removed: string }> {
    return this.store.update((db) => {
      const i = db.racks.findIndex((r) => r.name === name)
      if (i < 0) throw new RackbootError(`no rack named '${name}'`, 'not-found')
      const used = db.nodes.filter((n) => n.rack === name)
      if (used.length > 0)
        throw new RackbootError(
          `rack '${name}' still holds ${used.length} node(s) (${used
            .slice(0, 5)
            .map((n) => n.name)
            .join(', ')}); move or remove them first`,
          'conflict',
        )
      db.racks.splice(i, 1)
      return { removed: name }
    })
  }

  /** What `applyPlan` would create, with every problem; changes nothing. */
  previewPlan(request: PlanRequest): PlanPreview {
    return planRack(this.store.data, request)
  }

  /**
   * Creates (or resizes) the rack and all its planned nodes in one store update: all or nothing. The plan is
   * recomputed inside the update, against the state it is applied to, so a node added meanwhile is a refusal,
   * not a duplicate. Refuses with every problem listed.
   */
  async applyPlan(request: PlanRequest): Promise<{ rack: Rack; nodes: Node[] }> {
    return this.store.update((db) => {
      const plan = planRack(db, request)
      if (plan.issues.length > 0) {
        const lines = describePlanIssues(plan)
        throw new RackbootError(
          `plan for rack '${plan.rack.name}' not applied, ${lines.length} problem(s): ${lines.join('; ')}`,
          'bad-request',
          'run plan/preview to see each problem next to its field; nothing was saved',
        )
      }
      const i = db.racks.findIndex((r) => r.name === plan.rack.name)
      if (i >= 0) db.racks[i] = plan.rack
      else db.racks.push(plan.rack)
      const stamp = this.now().toISOString()
      const created = plan.nodes.map((p) => nodeSchema.parse({ ...p, createdAt: stamp, updatedAt: stamp }))
      db.nodes.push(...created)
      return { rack: plan.rack, nodes: structuredClone(created) }
    })
  }

  /**
   * Sets the image and/or the node's own kernel arguments on every targeted node in one update (nodes/set-boot).
   * Refuses, changing nothing, when the target names no node or a node or image that does not exist.
   */
  async setBoot(request: BootAssignment): Promise<{ nodes: Node[] }> {
    return this.store.update((db) => {
      const t = request.target
      let chosen: Node[]
      if ('all' in t) chosen = db.nodes
      else if ('rack' in t) {
        if (!db.racks.some((r) => r.name === t.rack))
          throw new RackbootError(
            `no rack named '${t.rack}' (racks: ${db.racks.map((r) => r.name).join(', ') || 'none'})`,
            'not-found',
          )
        chosen = db.nodes.filter((n) => n.rack === t.rack)
      } else {
        const unknown = t.nodes.filter((name) => !db.nodes.some((n) => n.name === name))
        if (unknown.length > 0)
          throw new RackbootError(`no node named ${unknown.map((u) => `'${u}'`).join(', ')}`, 'not-found')
        chosen = db.nodes.filter((n) => t.nodes.includes(n.name))
      }
      if (chosen.length === 0)
        throw new RackbootError(
          'rack' in t ? `rack '${t.rack}' has no nodes yet` : 'there are no nodes yet',
          'not-found',
          'plan the rack in the Racks step (or add nodes) first',
        )
      const image = request.image
      if (image !== undefined && image !== null && !db.images.some((i) => i.name === image))
        throw new RackbootError(
          `image '${image}' does not exist (images: ${db.images.map((i) => i.name).join(', ') || 'none'})`,
          'not-found',
        )
      const stamp = this.now().toISOString()
      for (const n of chosen) {
        if (image !== undefined) n.image = image
        if (request.kernelArgs !== undefined) n.kernelArgs = request.kernelArgs
        n.updatedAt = stamp
      }
      return { nodes: structuredClone(chosen).sort(compareNodes) }
    })
  }

  /**
   * Sets or clears one node's BMC address and user (nodes/set-bmc). Refuses, changing nothing, an address that
   * is any node's boot address, another node's BMC address or the gateway: the rack plan's checks.
   */
  async setBmc(name: string, edit: BmcEdit): Promise<Node> {
    return this.store.update((db) => {
      const node = db.nodes.find((n) => n.name === name)
      if (!node) throw new RackbootError(`no node named '${name}'`, 'not-found')
      const bmc = editedBmc(db, node, edit)
      if (!bmc.ok) throw new RackbootError(bmc.error, 'conflict')
      node.bmc = bmc.value
      node.updatedAt = this.now().toISOString()
      return structuredClone(node)
    })
  }
}

function overlaps(a: Node, b: Node): boolean {
  if (a.slot === null || b.slot === null) return false
  return a.slot < b.slot + b.heightU && b.slot < a.slot + a.heightU
}

/** Rack order: by rack, then slot, then name; nodes without a place last. */
export function compareNodes(a: Node, b: Node): number {
  const ra = a.rack ?? '\uffff'
  const rb = b.rack ?? '\uffff'
  if (ra !== rb) return ra < rb ? -1 : 1
  const sa = a.slot ?? Number.MAX_SAFE_INTEGER
  const sb = b.slot ?? Number.MAX_SAFE_INTEGER
  if (sa !== sb) return sa - sb
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0
}
