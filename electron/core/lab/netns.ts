/**
 * The lab's wire, made with iproute2 (`ip` through execFile with argument arrays, never a shell):
 *
 *   <prefix>-srv (netns)                 <prefix>-cli (netns)
 *   ┌──────────────────────┐  veth   ┌──────────────────────────────────────────┐
 *   │ <prefix>-s  x.y.z.1  │─────────│ <prefix>-c ── <prefix>-br ── <prefix>-t1 │ QEMU slot 1
 *   │ (rackboot serve)     │         │                           └─ <prefix>-t2 │ QEMU slot 2 …
 *   └──────────────────────┘         └──────────────────────────────────────────┘
 *
 * Every link is created inside a lab namespace (`ip -n`), never in the machine's own namespace, so the
 * host's interfaces are never touched and deleting the two namespaces removes every link with them.
 */
import { execFile } from 'node:child_process'
import { RackbootError } from '../util/result'

/** Runs `ip ARGS`; resolves with stdout, rejects with a RackbootError naming the command and its stderr. */
export type IpRunner = (args: string[]) => Promise<string>

export function execIp(timeoutMs = 15_000): IpRunner {
  return (args) =>
    new Promise((resolve, reject) => {
      execFile('ip', args, { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
        if (error)
          reject(
            new RackbootError(
              `lab: 'ip ${args.join(' ')}' failed: ${stderr.trim() || error.message}`,
              'lab-ip',
              'the lab needs root (CAP_NET_ADMIN) and iproute2',
            ),
          )
        else resolve(stdout)
      })
    })
}

/** Linux interface names hold at most 15 characters (IFNAMSIZ 16 with the NUL). */
const IFNAMSIZ = 15

export interface LabNames {
  serverNamespace: string
  clientNamespace: string
  serverIf: string
  clientIf: string
  bridge: string
  tap(slot: number): string
}

export function labNames(prefix: string): LabNames {
  return {
    serverNamespace: `${prefix}-srv`,
    clientNamespace: `${prefix}-cli`,
    serverIf: `${prefix}-s`,
    clientIf: `${prefix}-c`,
    bridge: `${prefix}-br`,
    tap: (slot) => `${prefix}-t${slot}`,
  }
}

/** The prefix must leave room for `-t255` inside IFNAMSIZ and be safe as a file and namespace name. */
export function checkPrefix(prefix: string): string | null {
  if (!/^[a-z][a-z0-9-]*$/.test(prefix))
    return `lab prefix '${prefix}' must be lower-case letters, digits and '-'`
  if (`${prefix}-t255`.length > IFNAMSIZ)
    return `lab prefix '${prefix}' is too long: interface names like '${prefix}-t255' must fit in ${IFNAMSIZ} characters (use at most ${IFNAMSIZ - 5})`
  return null
}

export async function listNamespaces(ip: IpRunner): Promise<string[]> {
  const out = await ip(['netns', 'list'])
  return out
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n !== '')
}

export async function linkExists(ip: IpRunner, namespace: string, name: string): Promise<boolean> {
  try {
    await ip(['-n', namespace, 'link', 'show', 'dev', name])
    return true
  } catch {
    return false
  }
}

export interface LabNetworkRecorder {
  /** Called before a namespace is created, so a crash right after leaves it on record. */
  namespace(name: string): Promise<void>
  /** `ip netns add` failed: the name must leave the record again. */
  namespaceNotCreated(name: string): Promise<void>
  link(namespace: string, name: string): Promise<void>
}

/**
 * Creates both namespaces, the veth pair, the bridge and one tap per slot, and brings them up with the
 * server address on `<prefix>-s`. Each resource is passed to `record` before it exists.
 */
export async function createLabNetwork(
  ip: IpRunner,
  names: LabNames,
  o: { serverAddressCidr: string; slots: number[] },
  record: LabNetworkRecorder,
): Promise<void> {
  const { serverNamespace: srv, clientNamespace: cli } = names
  // Someone else's namespace of the same name (another lab, another engineer's test) is never adopted: its
  // name would land in our state file and `lab down` would delete it.
  const taken = (await listNamespaces(ip)).filter((n) => n === srv || n === cli)
  if (taken.length > 0)
    throw new RackbootError(
      `lab: network namespace ${taken.join(' and ')} already exist(s) and were not made by this lab`,
      'lab-exists',
      'choose another --id or --prefix, or remove the leftover with `ip netns del NAME` if it is yours',
    )
  for (const ns of [srv, cli]) {
    await record.namespace(ns)
    try {
      await ip(['netns', 'add', ns])
    } catch (e) {
      await record.namespaceNotCreated(ns) // lost a race for the name: not ours to delete
      throw e
    }
    await ip(['-n', ns, 'link', 'set', 'lo', 'up'])
  }
  await record.link(srv, names.serverIf)
  await record.link(cli, names.clientIf)
  await ip([
    '-n',
    srv,
    'link',
    'add',
    names.serverIf,
    'type',
    'veth',
    'peer',
    'name',
    names.clientIf,
    'netns',
    cli,
  ])
  await ip(['-n', srv, 'addr', 'add', o.serverAddressCidr, 'dev', names.serverIf])
  await ip(['-n', srv, 'link', 'set', names.serverIf, 'up'])
  await record.link(cli, names.bridge)
  await ip(['-n', cli, 'link', 'add', names.bridge, 'type', 'bridge'])
  // STP off and no forwarding delay: a PXE ROM gives up on DHCP long before a 15 s listening phase ends.
  await ip(['-n', cli, 'link', 'set', names.bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0'])
  await ip(['-n', cli, 'link', 'set', names.clientIf, 'master', names.bridge])
  for (const slot of o.slots) {
    const tap = names.tap(slot)
    await record.link(cli, tap)
    await ip(['-n', cli, 'tuntap', 'add', 'dev', tap, 'mode', 'tap'])
    await ip(['-n', cli, 'link', 'set', tap, 'master', names.bridge])
    await ip(['-n', cli, 'link', 'set', tap, 'up'])
  }
  await ip(['-n', cli, 'link', 'set', names.clientIf, 'up'])
  await ip(['-n', cli, 'link', 'set', names.bridge, 'up'])
}

/** Deletes the namespaces that exist (their links go with them); never throws, returns what failed. */
export async function removeNamespaces(ip: IpRunner, namespaces: string[]): Promise<string[]> {
  const problems: string[] = []
  let present: string[]
  try {
    present = await listNamespaces(ip)
  } catch (e) {
    return [String(e)]
  }
  for (const ns of [...namespaces].reverse()) {
    if (!present.includes(ns)) continue
    try {
      await ip(['netns', 'del', ns])
    } catch (e) {
      problems.push(e instanceof Error ? e.message : String(e))
    }
  }
  return problems
}
