/**
 * The machine's network interfaces as the boot stack needs them: IPv4 address and prefix, link state,
 * and whether the interface carries the default route (serving DHCP there would answer the office LAN).
 */
import { networkInterfaces } from 'node:os'
import { readFile } from 'node:fs/promises'
import { RackbootError } from '../util/result'
import { ipToInt, intToIp } from '../util/ipv4'
import type { InterfaceInfo } from '../../ipc/contract'

/** Defined in the contract (pure, so the renderer can use it); built here. */
export type { InterfaceInfo }

export interface InterfaceSource {
  /** os.networkInterfaces()-shaped data; injected in tests. */
  addresses(): ReturnType<typeof networkInterfaces>
  /** Contents of /proc/net/route, or null where it does not exist (not Linux). */
  routeTable(): Promise<string | null>
  /** Linux sysfs attribute of an interface (operstate, speed), or null. */
  sysfs(name: string, attribute: string): Promise<string | null>
}

export const systemInterfaceSource: InterfaceSource = {
  addresses: () => networkInterfaces(),
  routeTable: () => readFile('/proc/net/route', 'utf8').catch(() => null),
  sysfs: (name, attribute) =>
    readFile(`/sys/class/net/${name}/${attribute}`, 'utf8')
      .then((s) => s.trim())
      .catch(() => null),
}

/** Interfaces with a default route (destination 00000000) in the Linux routing table. */
export function defaultRouteInterfaces(routeTable: string): Set<string> {
  const names = new Set<string>()
  for (const line of routeTable.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/)
    if (cols.length >= 8 && cols[1] === '00000000' && cols[7] === '00000000') names.add(cols[0]!)
  }
  return names
}

export async function listInterfaces(
  source: InterfaceSource = systemInterfaceSource,
): Promise<InterfaceInfo[]> {
  const routes = await source.routeTable()
  const defaults = routes ? defaultRouteInterfaces(routes) : new Set<string>()
  const out: InterfaceInfo[] = []
  for (const [name, addrs] of Object.entries(source.addresses())) {
    const list = addrs ?? []
    const v4 = list.find((a) => a.family === 'IPv4')
    let ipv4: InterfaceInfo['ipv4'] = null
    if (v4) {
      const prefix = v4.cidr ? Number(v4.cidr.split('/')[1]) : 32
      const addr = ipToInt(v4.address) ?? 0
      const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0
      ipv4 = { address: v4.address, prefix, network: `${intToIp((addr & mask) >>> 0)}/${prefix}` }
    }
    const operstate = await source.sysfs(name, 'operstate')
    const speed = Number(await source.sysfs(name, 'speed'))
    out.push({
      name,
      mac: list[0]?.mac && list[0].mac !== '00:00:00:00:00:00' ? list[0].mac : null,
      ipv4,
      up: operstate === null ? null : operstate === 'up' || operstate === 'unknown',
      speedMbps: Number.isFinite(speed) && speed > 0 ? speed : null,
      holdsDefaultRoute: defaults.has(name),
      loopback: list.some((a) => a.internal),
    })
  }
  return out.sort((a, b) => a.name.localeCompare(b.name))
}

/**
 * Checks an interface is fit to serve boot traffic on; throws a RackbootError saying why not and how to
 * override. The default-route rule protects the office network a laptop is also plugged into.
 */
export async function chooseBootInterface(
  name: string,
  options: { force?: boolean; source?: InterfaceSource } = {},
): Promise<InterfaceInfo & { ipv4: NonNullable<InterfaceInfo['ipv4']> }> {
  const source = options.source ?? systemInterfaceSource
  const all = await listInterfaces(source)
  const info = all.find((i) => i.name === name)
  if (!info) {
    // Node lists only links that are up and running with an address; sysfs tells a missing link from one that
    // is there but not (yet) running, such as a veth whose carrier the kernel has not marked up yet.
    const operstate = await source.sysfs(name, 'operstate')
    if (operstate === null)
      throw new RackbootError(
        `interface '${name}' does not exist (present: ${all.map((i) => i.name).join(', ') || 'none'})`,
        'not-found',
      )
    if (operstate !== 'up' && operstate !== 'unknown')
      throw new RackbootError(
        `interface '${name}' is ${operstate}, not up and running: bring it up (ip link set dev ${name} up) and check its cable, or for a veth that its peer is up`,
        'bad-request',
      )
  }
  if (!info?.ipv4)
    throw new RackbootError(
      `interface '${name}' has no IPv4 address; give it one first, e.g. ip addr add 198.18.0.1/24 dev ${name}`,
      'bad-request',
    )
  if (info.holdsDefaultRoute && !options.force)
    throw new RackbootError(
      `interface '${name}' holds the default route, so it is probably your uplink: serving DHCP there could hand addresses to other people's machines. Pick the provisioning NIC, or pass --force if this really is an isolated provisioning network`,
      'bad-request',
    )
  return info as InterfaceInfo & { ipv4: NonNullable<InterfaceInfo['ipv4']> }
}
