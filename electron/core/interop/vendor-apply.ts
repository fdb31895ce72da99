/**
 * How a vendor MAC list lands on the planned rack: each MAC goes to an empty planned slot (a node with a rack
 * slot and no MAC yet), in rack order unless the list names slots. Pure: the repo runs it inside one store
 * update. Every problem is listed; the caller saves nothing when there is one, unless forced.
 */
import type { Node } from '../inventory/schema'
import { addressHolders } from '../inventory/bmc'
import { matchVendorEntries, type PlannedSlot, type VendorMacList } from './vendor-macs'

export interface MacAssignment {
  node: string
  rack: string | null
  slot: number | null
  mac: string
  serial: string | null
  /** The BMC address the list gives the node (its bmc column), or null to leave the node's. */
  bmc: string | null
  /** Line of the list the MAC came from. */
  line: number
}

export interface MacListPlan {
  assignments: MacAssignment[]
  /** Empty planned slots still without a MAC after these assignments. */
  emptyLeft: number
  problems: string[]
}

/** What `repo.assignVendorMacs` did (or, on a dry run, would do). */
export interface MacListOutcome extends MacListPlan {
  dryRun: boolean
  /** False on a dry run: nothing was written. */
  saved: boolean
}

/**
 * `nodes` must be in rack order (compareNodes): a bare list fills the slots in that order. `gateway`: an
 * address no BMC may take (the settings' gateway).
 */
export function planVendorMacs(
  nodes: readonly Node[],
  list: VendorMacList,
  gateway: string | null = null,
): MacListPlan {
  // Problems on a line are listed in line order, so the list reads down the file; then the whole-list ones.
  const onLines: Array<{ line: number; text: string }> = []
  const whole: string[] = []
  const at = (line: number, message: string) => onLines.push({ line, text: `line ${line}: ${message}` })
  for (const e of list.errors) at(e.line, `${e.message} ('${e.text.trim()}')`)
  for (const d of list.duplicates)
    onLines.push({
      line: d.lines[1] ?? d.lines[0] ?? 0,
      text: `line${d.lines.length > 2 ? 's' : ''} ${d.lines.slice(1).join(', ')}: MAC ${d.mac} is already on line ${d.lines[0]}`,
    })
  for (const e of list.entries)
    if (e.serial !== undefined && e.serial.length > 128)
      at(e.line, `serial '${e.serial.slice(0, 20)}…' is longer than 128 characters`)
  const owner = new Map(nodes.flatMap((n) => n.macs.map((m) => [m, n.name] as const)))
  const fresh = list.entries.filter((e) => {
    const known = owner.get(e.mac)
    if (known !== undefined) at(e.line, `MAC ${e.mac} already belongs to node '${known}'`)
    return known === undefined
  })
  const slots: PlannedSlot[] = nodes
    .filter((n) => n.macs.length === 0 && n.rack !== null && n.slot !== null)
    .map((n) => ({ rack: n.rack, slot: n.slot, node: n.name }))
  if (slots.length === 0)
    whole.push('no empty planned slot: plan the rack first (nodes with a rack slot and no MAC)')
  const match = matchVendorEntries(fresh, slots)
  for (const p of match.problems) at(p.line, p.message)
  if (match.countMessage !== null && slots.length > 0) whole.push(match.countMessage)
  const assignments = match.assignments.map(({ slot, entry }) => ({
    node: slot.node!,
    rack: slot.rack,
    slot: slot.slot,
    mac: entry.mac,
    serial: entry.serial ?? null,
    bmc: entry.bmc ?? null,
    line: entry.line,
  }))
  // The plan's BMC checks, against the inventory as it will be: a node given a new BMC frees its old one.
  const held = addressHolders(
    nodes,
    gateway,
    new Set(assignments.filter((a) => a.bmc !== null).map((a) => a.node)),
  )
  for (const a of [...assignments].sort((x, y) => x.line - y.line)) {
    if (a.bmc === null) continue
    const holder = held.get(a.bmc)
    if (holder !== undefined) {
      at(a.line, `bmc ${a.bmc} for node '${a.node}' is already ${holder}`)
      a.bmc = null // forced: the MAC goes on, the clashing BMC address does not
    } else held.set(a.bmc, `the BMC address of '${a.node}' (line ${a.line})`)
  }
  // A stable sort keeps the order of several problems on one line.
  const problems = [...onLines.sort((a, b) => a.line - b.line).map((p) => p.text), ...whole]
  return { assignments, emptyLeft: match.emptySlots.length, problems }
}
