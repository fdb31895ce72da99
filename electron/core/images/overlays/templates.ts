/**
 * The files of each overlay for one node, as pure data: path, mode, bytes. render.ts packs them into a gzip
 * cpio (newc). docs/overlays.md lists every variable; `overlayVariables` is the single place they are computed.
 *
 * Directory entries are listed too, with standard modes: the kernel's initramfs unpacker creates no missing
 * parents, and for an existing directory it applies the archive's mode and owner (init/initramfs.c do_name),
 * so a wrong mode here would change the image's /etc.
 */
import { parseCidr, prefixToNetmask } from '../../util/ipv4'
import { INIT_SCRIPT } from '../bootstrap/init-script'
import { AGENT_SCRIPT } from '../bootstrap/agent-script'
import type { RuntimeFile } from '../../inventory/node-files'

export interface OverlayNode {
  name: string
  macs: string[]
  ipv4: string | null
  assetKey: string | null
}

export interface OverlayInputs {
  node: OverlayNode
  /** Every node of the inventory, for the cluster /etc/hosts. */
  nodes: ReadonlyArray<{ name: string; ipv4: string | null }>
  settings: { subnet: string | null; gateway: string | null; dns: string[]; domain: string }
  /** Lines of root's authorized_keys (settings `sshAuthorizedKeys`); [] writes none. */
  authorizedKeys: string[]
  /** Names of the node's runtime overlays in the inventory (node.overlays.runtime); shown in runtime.json. */
  runtimeOverlays: string[]
  /** Files of the runtime overlay (settings `runtimeFiles`), already validated by the schema. */
  runtimeFiles: RuntimeFile[]
  /** What the node's agent talks to, e.g. http://198.18.0.1:9873; null = the agent has nowhere to report. */
  serverUrl: string | null
}

export interface HostKey {
  /** ed25519, rsa, ... as in ssh_host_<type>_key. */
  type: string
  privateKey: string
  publicKey: string
}

export type OverlayEntry =
  | { kind: 'dir'; path: string; mode: number }
  | { kind: 'file'; path: string; mode: number; data: Buffer }
  | { kind: 'char'; path: string; mode: number; major: number; minor: number }

/** Placeholder the bootstrap replaces with the name of the interface that has the node's MAC. */
export const IFACE_PLACEHOLDER = '@RACKBOOT_IFACE@'

/** The template variables, all strings ('' when unset). */
export function overlayVariables(i: OverlayInputs): Record<string, string> {
  const cidr = i.settings.subnet ? parseCidr(i.settings.subnet) : null
  const prefix = cidr?.ok ? String(cidr.value.prefix) : ''
  const domain = i.settings.domain.replace(/\.$/, '')
  return {
    hostname: i.node.name,
    fqdn: domain ? `${i.node.name}.${domain}` : i.node.name,
    domain,
    mac: i.node.macs[0] ?? '',
    ipv4: i.node.ipv4 ?? '',
    prefix,
    netmask: prefix ? prefixToNetmask(Number(prefix)) : '',
    gateway: i.settings.gateway ?? '',
    dns: i.settings.dns.join(' '),
    serverUrl: i.serverUrl ?? '',
    assetKey: i.node.assetKey ?? '',
  }
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
const file = (path: string, mode: number, text: string): OverlayEntry => ({
  kind: 'file',
  path,
  mode,
  data: Buffer.from(text, 'utf8'),
})
const dir = (path: string, mode = 0o755): OverlayEntry => ({ kind: 'dir', path, mode })

function hostsFile(i: OverlayInputs, v: Record<string, string>): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback']
  for (const n of [...i.nodes].sort((a, b) => a.name.localeCompare(b.name)))
    if (n.ipv4) lines.push(v.domain ? `${n.ipv4}\t${n.name}.${v.domain} ${n.name}` : `${n.ipv4}\t${n.name}`)
  return `# Written by Rackboot: every node of the cluster.\n${lines.join('\n')}\n`
}

function staticAddress(v: Record<string, string>): boolean {
  return v.ipv4 !== '' && v.prefix !== ''
}

function ifupdown(v: Record<string, string>): string {
  const I = IFACE_PLACEHOLDER
  const head = [
    `# Written by Rackboot for ${v.hostname}. At boot /init replaces ${I} with the interface whose MAC is ${v.mac}.`,
    'auto lo',
    'iface lo inet loopback',
    '',
    `auto ${I}`,
  ]
  const body = staticAddress(v)
    ? [
        `iface ${I} inet static`,
        `    address ${v.ipv4}/${v.prefix}`,
        ...(v.gateway ? [`    gateway ${v.gateway}`] : []),
      ]
    : [`iface ${I} inet dhcp`]
  return `${[...head, ...body].join('\n')}\n`
}

function networkd(v: Record<string, string>): string {
  const net = staticAddress(v)
    ? [
        `Address=${v.ipv4}/${v.prefix}`,
        ...(v.gateway ? [`Gateway=${v.gateway}`] : []),
        ...(v.dns ? v.dns.split(' ').map((d) => `DNS=${d}`) : []),
        ...(v.domain ? [`Domains=${v.domain}`] : []),
      ]
    : ['DHCP=ipv4']
  return `# Written by Rackboot for ${v.hostname}.\n[Match]\nMACAddress=${v.mac}\n\n[Network]\n${net.join('\n')}\n`
}

function resolvConf(v: Record<string, string>): string {
  const lines = ['# Written by Rackboot.']
  if (v.domain) lines.push(`search ${v.domain}`)
  for (const d of v.dns ? v.dns.split(' ') : []) lines.push(`nameserver ${d}`)
  return `${lines.join('\n')}\n`
}

/** Shell assignments sourced by /init and the agent; values single-quoted so nothing in them runs. */
export function agentConf(v: Record<string, string>): string {
  return [
    '# Written by Rackboot: where the node agent reports. Sourced by /init and /usr/sbin/rackboot-agent.',
    `RACKBOOT_SERVER=${shq(v.serverUrl ?? '')}`,
    `RACKBOOT_MAC=${shq(v.mac ?? '')}`,
    `RACKBOOT_NODE=${shq(v.hostname ?? '')}`,
    `RACKBOOT_ASSETKEY=${shq(v.assetKey ?? '')}`,
    // For /init's rescue path only: the image's own network configuration is what normally applies them.
    `RACKBOOT_IPV4=${shq(v.ipv4 ?? '')}`,
    `RACKBOOT_PREFIX=${shq(v.prefix ?? '')}`,
    '',
  ].join('\n')
}

/** The system overlay: identity, network, SSH, the bootstrap at /init and the agent. Holds secrets. */
export function systemOverlayEntries(i: OverlayInputs, hostKeys: readonly HostKey[]): OverlayEntry[] {
  const v = overlayVariables(i)
  const out: OverlayEntry[] = [
    dir('dev'),
    // Without /dev/console in the initramfs the kernel starts /init with no stdin/stdout/stderr.
    { kind: 'char', path: 'dev/console', mode: 0o600, major: 5, minor: 1 },
    dir('etc'),
    file('etc/hostname', 0o644, `${v.hostname}\n`),
    file('etc/hosts', 0o644, hostsFile(i, v)),
    file('etc/resolv.conf', 0o644, resolvConf(v)),
    dir('etc/network'),
    file('etc/network/interfaces', 0o644, ifupdown(v)),
    dir('etc/rackboot'),
    file('etc/rackboot/agent.conf', 0o600, agentConf(v)),
    dir('etc/ssh'),
  ]
  for (const k of [...hostKeys].sort((a, b) => a.type.localeCompare(b.type)))
    out.push(
      file(`etc/ssh/ssh_host_${k.type}_key`, 0o600, k.privateKey),
      file(`etc/ssh/ssh_host_${k.type}_key.pub`, 0o644, k.publicKey),
    )
  out.push(
    dir('etc/systemd'),
    dir('etc/systemd/network'),
    file('etc/systemd/network/10-rackboot.network', 0o644, networkd(v)),
    file('init', 0o755, INIT_SCRIPT),
  )
  // An empty list leaves the image's own authorized_keys alone.
  if (i.authorizedKeys.length > 0)
    out.push(
      dir('root', 0o700),
      dir('root/.ssh', 0o700),
      file('root/.ssh/authorized_keys', 0o600, `${i.authorizedKeys.map((k) => k.trim()).join('\n')}\n`),
    )
  out.push(dir('usr'), dir('usr/sbin'), file('usr/sbin/rackboot-agent', 0o755, AGENT_SCRIPT))
  return out
}

export interface RuntimeState {
  /** Goes up by one each time the runtime inputs change. */
  generation: number
  /** When this generation was rendered (ISO 8601). */
  renderedAt: string
}

/**
 * The runtime overlay: what may change while the node runs: the settings' runtime files, and runtime.json
 * naming them. Users and groups are a placeholder for now. A runtime file's parent directories are not in the
 * archive: the agent's `cpio -d` makes missing ones and an existing one keeps its mode and owner.
 */
export function runtimeOverlayEntries(i: OverlayInputs, state: RuntimeState): OverlayEntry[] {
  const files = [...i.runtimeFiles].sort((a, b) => a.path.localeCompare(b.path))
  const doc = {
    node: i.node.name,
    generation: state.generation,
    renderedAt: state.renderedAt,
    overlays: i.runtimeOverlays,
    files: files.map((f) => f.path),
    users: [] as string[],
    groups: [] as string[],
  }
  return [
    dir('etc'),
    dir('etc/rackboot'),
    file('etc/rackboot/runtime.json', 0o644, `${JSON.stringify(doc, null, 2)}\n`),
    ...files.map((f) => file(f.path.slice(1), f.mode, f.content)),
  ]
}
