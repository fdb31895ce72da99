/**
 * `rackboot doctor`: checks what the boot stack needs on this machine, one line per check saying what is
 * wrong and how to fix it. Exit 1 when a check fails (warnings do not fail).
 */
import { readFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join, delimiter } from 'node:path'
import { listInterfaces, systemInterfaceSource, type InterfaceSource } from '../core/net/interfaces'
import { ipxeRoots, rendererRoot } from '../core/paths'
import { describeOtherServers, probeInterface } from '../core/net/rogue-dhcp'
import { bindToInterface } from '../core/net/bind'
import { errorMessage } from '../core/util/result'

export type CheckLevel = 'ok' | 'warn' | 'fail'
export interface Check {
  level: CheckLevel
  what: string
  fix?: string
}

export interface DoctorEnv {
  uid: number | null
  /** /proc/self/status text, or null off Linux. */
  procStatus: string | null
  interfaces?: InterfaceSource
  ipxeRoots: string[]
  path: string
  rendererBuilt: boolean
}

export async function systemDoctorEnv(): Promise<DoctorEnv> {
  return {
    uid: typeof process.getuid === 'function' ? process.getuid() : null,
    procStatus: await readFile('/proc/self/status', 'utf8').catch(() => null),
    ipxeRoots: ipxeRoots(),
    path: process.env.PATH ?? '',
    rendererBuilt: rendererRoot() !== null,
  }
}

/** CAP_NET_BIND_SERVICE is capability bit 10 of CapEff. */
export function hasBindCapability(procStatus: string | null): boolean {
  const m = procStatus ? /^CapEff:\s*([0-9a-f]+)$/m.exec(procStatus) : null
  return m ? (BigInt(`0x${m[1]}`) & (1n << 10n)) !== 0n : false
}

function onPath(cmd: string, path: string): boolean {
  return path.split(delimiter).some((d) => d && existsSync(join(d, cmd)))
}

export async function runChecks(env: DoctorEnv, iface: string | null): Promise<Check[]> {
  const checks: Check[] = []
  if (env.uid === 0 || hasBindCapability(env.procStatus))
    checks.push({ level: 'ok', what: 'may bind ports 67, 69 and 4011' })
  else
    checks.push({
      level: 'fail',
      what: 'cannot bind ports 67 (DHCP), 69 (TFTP) and 4011 (proxyDHCP): not root and no CAP_NET_BIND_SERVICE',
      fix: 'run as root, or: sudo setcap cap_net_bind_service,cap_net_raw=ep "$(readlink -f "$(command -v node)")"',
    })

  const nics = await listInterfaces(env.interfaces)
  if (iface) {
    const nic = nics.find((n) => n.name === iface)
    // Node lists only links that are up and running: a NIC without carrier is absent there, not in sysfs.
    const operstate = nic ? null : await (env.interfaces ?? systemInterfaceSource).sysfs(iface, 'operstate')
    if (!nic && operstate !== null && operstate !== 'up' && operstate !== 'unknown')
      checks.push({
        level: 'fail',
        what: `interface '${iface}' is ${operstate} (no link)`,
        fix: `bring it up (sudo ip link set dev ${iface} up) and check the cable and the switch port`,
      })
    else if (!nic)
      checks.push({
        level: 'fail',
        what: `interface '${iface}' does not exist`,
        fix: `pick one of: ${nics.map((n) => n.name).join(', ')}`,
      })
    else if (!nic.ipv4)
      checks.push({
        level: 'fail',
        what: `interface '${iface}' has no IPv4 address`,
        fix: `sudo ip addr add 198.18.0.1/24 dev ${iface}`,
      })
    else if (nic.holdsDefaultRoute)
      checks.push({
        level: 'warn',
        what: `interface '${iface}' (${nic.ipv4.address}/${nic.ipv4.prefix}) holds the default route: probably your uplink, not the provisioning switch`,
        fix: 'pick the NIC cabled to the provisioning switch; serve refuses this one unless --force',
      })
    else if (nic.up === false)
      checks.push({
        level: 'warn',
        what: `interface '${iface}' is down (no link)`,
        fix: 'check the cable and the switch port',
      })
    else checks.push({ level: 'ok', what: `interface '${iface}' has ${nic.ipv4.address}/${nic.ipv4.prefix}` })
  } else {
    const candidates = nics.filter((n) => !n.loopback && n.ipv4 && !n.holdsDefaultRoute).map((n) => n.name)
    checks.push({
      level: 'ok',
      what: `no interface chosen: serve stays on loopback. Candidates for --interface: ${candidates.join(', ') || 'none (give the provisioning NIC an IPv4 address)'}`,
    })
  }

  const wanted = ['undionly.kpxe', 'ipxe.efi', 'snponly.efi']
  for (const file of wanted) {
    const root = env.ipxeRoots.find((r) => existsSync(join(r, file)))
    if (root) checks.push({ level: 'ok', what: `iPXE binary ${file} found in ${root}` })
    else
      checks.push({
        level: file === 'snponly.efi' ? 'warn' : 'fail',
        what: `iPXE binary ${file} not found (looked in ${env.ipxeRoots.join(', ') || 'resources/ipxe, /usr/lib/ipxe'})`,
        fix: 'sudo apt-get install ipxe (Debian/Ubuntu), or put the binaries in resources/ipxe',
      })
  }

  if (onPath('qemu-system-x86_64', env.path))
    checks.push({ level: 'ok', what: 'qemu-system-x86_64 found (virtual rack lab)' })
  else
    checks.push({
      level: 'warn',
      what: 'qemu-system-x86_64 not found: the virtual rack lab is unavailable',
      fix: 'sudo apt-get install qemu-system-x86 ovmf',
    })

  if (env.rendererBuilt) checks.push({ level: 'ok', what: 'UI is built (out/renderer)' })
  else
    checks.push({
      level: 'warn',
      what: 'UI is not built: `serve` will offer the API only',
      fix: 'npm run build',
    })
  return checks
}

export function formatChecks(checks: Check[]): string {
  return (
    checks.map((c) => `${c.level.padEnd(4)}  ${c.what}${c.fix ? `\n      fix: ${c.fix}` : ''}`).join('\n') +
    '\n'
  )
}

/** The rogue-DHCP probe as a doctor line: another server on the wire is a warning with the way out. */
export async function probeCheck(iface: string): Promise<Check> {
  try {
    const found = await probeInterface(iface, {
      listInterfaces: () => listInterfaces(),
      bindUdp: (i, address, port) => bindToInterface({ interface: i, address, port }),
    })
    if (found.length === 0)
      return { level: 'ok', what: `no other DHCP server answered on ${iface} within 3 s` }
    return {
      level: 'warn',
      what: describeOtherServers(iface, found),
      fix: 'serve with --dhcp-mode proxy to leave addresses to it, or disconnect it from the provisioning switch',
    }
  } catch (e) {
    return { level: 'fail', what: `could not probe ${iface} for other DHCP servers: ${errorMessage(e)}` }
  }
}
