/**
 * How a validated Warewulf import lands on an existing inventory. Pure: the repo runs it inside one store
 * update (against the state it changes) and applies the plan, or refuses with every problem.
 *
 * Checked against the nodes already there: name, MAC, IPv4 and rack slot. With `replace`, existing nodes of the
 * same name leave first and the rest are checked against what remains.
 */
import type { Db, Node, Rack } from '../inventory/schema'
import type { WarewulfImport } from './warewulf-types'

export interface NodeImportPlan {
  /** Nodes to add, in rack order, with unknown images cleared. */
  nodes: Node[]
  /** Racks to create (named by the nodes' tags and not yet in the inventory). */
  racks: Rack[]
  /** Existing nodes the import replaces (only with `replace`). */
  replaced: string[]
  /** The importer's warnings plus what this step changed (unknown images). */
  warnings: string[]
  /** Conflicts with the inventory; the import must not happen when there is one. */
  problems: string[]
}

/** What `repo.importNodes` did (or, on a dry run, would do). */
export interface NodeImportOutcome {
  dryRun: boolean
  nodes: Node[]
  /** Racks created. */
  racks: Rack[]
  replaced: string[]
  warnings: string[]
}

export function planNodeImport(
  db: Readonly<Db>,
  result: WarewulfImport,
  opts: { replace: boolean },
): NodeImportPlan {
  const problems: string[] = []
  const warnings = [...result.warnings]
  const incoming = new Set(result.nodes.map((n) => n.name))
  const replaced = opts.replace ? db.nodes.filter((n) => incoming.has(n.name)).map((n) => n.name) : []
  const staying = db.nodes.filter((n) => !(opts.replace && incoming.has(n.name)))
  const images = new Set(db.images.map((i) => i.name))
  const racks = new Map(db.racks.map((r) => [r.name, r] as const))
  const newRacks = result.racks.filter((r) => !racks.has(r.name))
  for (const r of newRacks) racks.set(r.name, r)

  const nodes = result.nodes.map((n) => {
    // A node of the same name is one conflict (its MAC, IPv4 and slot would go with it on a replace).
    if (staying.some((o) => o.name === n.name))
      problems.push(`node '${n.name}' already exists; import with replace to overwrite it`)
    const others = staying.filter((o) => o.name !== n.name)
    const clash = (what: string, pred: (o: Node) => boolean) => {
      for (const o of others.filter(pred)) problems.push(`node '${n.name}': ${what} '${o.name}'`)
    }
    for (const mac of n.macs) clash(`MAC ${mac} already belongs to node`, (o) => o.macs.includes(mac))
    if (n.ipv4 !== null) clash(`IPv4 ${n.ipv4} already belongs to node`, (o) => o.ipv4 === n.ipv4)
    if (n.ipv4 !== null)
      clash(`IPv4 ${n.ipv4} is already the BMC address of node`, (o) => o.bmc.ipv4 === n.ipv4)
    const bmc = n.bmc.ipv4
    if (bmc !== null)
      clash(`BMC address ${bmc} is already an address of node`, (o) => o.ipv4 === bmc || o.bmc.ipv4 === bmc)
    if (n.rack !== null && n.slot !== null) {
      clash(
        `rack '${n.rack}' slot ${n.slot} is already taken by node`,
        (o) => o.rack === n.rack && overlaps(o, n),
      )
      const rack = racks.get(n.rack)!
      if (n.slot + n.heightU - 1 > rack.heightU)
        problems.push(
          `node '${n.name}': slot ${n.slot} (${n.heightU} U) does not fit rack '${rack.name}' of ${rack.heightU} U; make the rack taller first`,
        )
    }
    if (n.image === null || images.has(n.image)) return n
    // Booting would fail on a missing image; the name stays in the passthrough so an export gives it back.
    warnings.push(
      `node '${n.name}': image '${n.image}' is not among Rackboot's images; the node gets no image until you import one and assign it`,
    )
    const ww = n.extra.warewulf
    const extra = ww ? { warewulf: { ...ww, fields: { 'image name': n.image, ...ww.fields } } } : n.extra
    return { ...n, image: null, extra }
  })
  return { nodes, racks: newRacks, replaced, warnings, problems }
}

function overlaps(a: Node, b: Node): boolean {
  if (a.slot === null || b.slot === null) return false
  return a.slot < b.slot + b.heightU && b.slot < a.slot + a.heightU
}
