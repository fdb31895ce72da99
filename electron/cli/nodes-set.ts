/**
 * `rackboot nodes set <name>`: edits one node after the plan or an import. Today its BMC (nodes/set-bmc):
 * --bmc-ip and --bmc-user set a field ('' clears it), --no-bmc clears both.
 */
import { resolve } from 'node:path'
import type { Command, Option } from 'commander'
import type { RequestOf } from '../ipc/contract'
import { bmcUserSchema, ipv4Schema, type Node } from '../core/inventory/schema'
import type { Logger } from '../core/util/logger'
import { type CliIo, UsageError } from './io'
import { openSession } from './session'

export interface NodesSetFlags {
  bmcIp?: string
  bmcUser?: string
  /** false when --no-bmc was given (commander's negated option). */
  bmc?: boolean
}

/** The nodes/set-bmc request for the flags; usage errors name the node and the flag. */
export function bmcRequest(name: string, o: NodesSetFlags): RequestOf<'nodes/set-bmc'> {
  const clearAll = o.bmc === false
  if (clearAll && (o.bmcIp !== undefined || o.bmcUser !== undefined))
    throw new UsageError('--no-bmc clears the BMC: give it alone, without --bmc-ip or --bmc-user')
  if (clearAll) return { name, bmc: { ipv4: null, user: null } }
  if (o.bmcIp === undefined && o.bmcUser === undefined)
    throw new UsageError(`nothing to set on node '${name}': give --bmc-ip, --bmc-user or --no-bmc`)
  const field = (flag: string, value: string | undefined, schema: typeof ipv4Schema) => {
    if (value === undefined) return undefined
    if (value === '') return null
    const checked = schema.safeParse(value)
    if (!checked.success)
      throw new UsageError(
        `node '${name}' ${flag} '${value}': ${checked.error.issues.map((i) => i.message).join('; ')}`,
      )
    return checked.data
  }
  return {
    name,
    bmc: {
      ipv4: field('--bmc-ip', o.bmcIp, ipv4Schema),
      user: field('--bmc-user', o.bmcUser, bmcUserSchema),
    },
  }
}

export function describeBmc(node: Node): string {
  const { ipv4, user } = node.bmc
  if (ipv4 === null && user === null) return `${node.name} BMC: none\n`
  return `${node.name} BMC: ${ipv4 ?? 'no address'}${user !== null ? ` (user ${user})` : ''}\n`
}

export function registerNodesSetCommand(
  nodes: Command,
  ctx: { io: CliIo; logger: Logger; dataDirOption: () => Option },
): void {
  nodes
    .command('set <name>')
    .description("change one node after the plan: its BMC address and user ('' clears one, --no-bmc both)")
    .addOption(ctx.dataDirOption())
    .option('--bmc-ip <ip>', 'BMC (IPMI/Redfish) IPv4 address')
    .option('--bmc-user <user>', 'BMC login name (no password is stored)')
    .option('--no-bmc', 'clear the BMC address and user')
    .action(async (name: string, o: NodesSetFlags & { dataDir: string }) => {
      const request = bmcRequest(name, o)
      const session = await openSession(resolve(o.dataDir), ctx.logger)
      try {
        ctx.io.stdout(describeBmc(await session.call('nodes/set-bmc', request)))
      } finally {
        await session.close()
      }
    })
}
