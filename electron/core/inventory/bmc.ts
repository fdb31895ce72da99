/**
 * Which addresses a node's BMC may take. The rack plan and a one-node BMC edit ask the same question, so they
 * refuse the same clashes with the same words. Pure (no Node imports): the renderer may import it.
 */
import type { Result } from '../util/result'
import type { Db, Node } from './schema'

/**
 * Every address a BMC must not take, with who holds it: each node's boot and BMC address and the gateway.
 * `replacingBmcOf`: nodes whose BMC address is being replaced, so their current one is free.
 */
export function addressHolders(
  nodes: readonly Node[],
  gateway: string | null,
  replacingBmcOf: ReadonlySet<string> = new Set(),
): Map<string, string> {
  const held = new Map<string, string>()
  for (const n of nodes) {
    if (n.ipv4 !== null) held.set(n.ipv4, `the IPv4 of '${n.name}'`)
    if (n.bmc.ipv4 !== null && !replacingBmcOf.has(n.name))
      held.set(n.bmc.ipv4, `the BMC address of '${n.name}'`)
  }
  if (gateway !== null) held.set(gateway, 'the gateway')
  return held
}

/** What `nodes/set-bmc` changes on one node: null clears the field, absent leaves it. */
export interface BmcEdit {
  ipv4?: string | null
  user?: string | null
}

/** The node's BMC after the edit, or why the address cannot be taken, naming the node and the field. */
export function editedBmc(db: Readonly<Db>, node: Readonly<Node>, edit: BmcEdit): Result<Node['bmc']> {
  const bmc = {
    ipv4: edit.ipv4 === undefined ? node.bmc.ipv4 : edit.ipv4,
    user: edit.user === undefined ? node.bmc.user : edit.user,
  }
  const holder =
    bmc.ipv4 === null
      ? undefined
      : addressHolders(db.nodes, db.settings.gateway, new Set([node.name])).get(bmc.ipv4)
  if (holder !== undefined)
    return {
      ok: false,
      error: `node '${node.name}' bmc.ipv4: BMC address ${bmc.ipv4} is already ${holder}`,
    }
  return { ok: true, value: bmc }
}
