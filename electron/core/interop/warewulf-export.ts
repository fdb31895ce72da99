/**
 * Rackboot inventory → Warewulf nodes.conf (v4.5 or v4.6). Pure and total: data in, YAML text out.
 *
 * One profile (default name `default`) carries what all nodes share (kernel args; netmask and gateway from
 * settings); each node names it in `profiles` and carries its own image, overlays, devices and placement tags.
 * Rack placement survives the round trip as tags `rack`, `slot` (and `height` when a node is taller than 1 U),
 * because Warewulf has no rack field.
 */
import type { Db, Node } from '../inventory/schema'
import { compareNodes } from '../inventory/repo'
import { parseCidr, prefixToNetmask } from '../util/ipv4'
import {
  HEIGHT_TAG,
  RACK_TAG,
  SLOT_TAG,
  type WarewulfExportOptions,
  type WarewulfNodeExtra,
  type WwMap,
} from './warewulf-types'
import { isMapValue } from './warewulf-merge'
import { stringifyForYaml11 } from './yaml-quote'

export function exportWarewulf(db: Db, opts: WarewulfExportOptions): string {
  const profileName = opts.profile ?? 'default'
  const nodes = [...db.nodes].sort(compareNodes)
  const extraOf = (n: Node): WarewulfNodeExtra | null => opts.extras?.[n.name] ?? n.extra.warewulf ?? null

  // Shared kernel args: 4.6 appends profile and node lists, so the profile takes the common leading words;
  // 4.5 replaces the profile's string with the node's, so the profile takes the string only if all agree.
  const words = nodes.map((n) => splitArgs(n.kernelArgs))
  const bare = opts.form === 'node-import'
  let shared: string[] = []
  if (nodes.length > 0 && !bare) {
    if (opts.version === '4.6') {
      shared = words[0]!
      for (const w of words) {
        let i = 0
        while (i < shared.length && i < w.length && shared[i] === w[i]) i++
        shared = shared.slice(0, i)
      }
    } else if (nodes.every((n) => n.kernelArgs === nodes[0]!.kernelArgs)) shared = words[0]!
  }

  const { subnet, gateway } = db.settings
  const cidr = subnet ? parseCidr(subnet) : null
  const siteNet: WwMap = {}
  if (cidr?.ok) siteNet.netmask = prefixToNetmask(cidr.value.prefix)
  if (gateway) siteNet.gateway = gateway

  const built = nodes.map((n) => buildDevices(n, extraOf(n)))
  // The profile's device merges into the node device of the same name, so it only helps when all primaries
  // are called `default`; otherwise each primary carries netmask and gateway itself.
  const siteOnProfile =
    !bare &&
    Object.keys(siteNet).length > 0 &&
    built.every((b) => b.primary === null || b.primary === 'default')

  // No `comment` here: a profile's comment is inherited by every node that names it.
  const profile: WwMap = {}
  if (shared.length > 0) profile.kernel = { args: opts.version === '4.6' ? shared : shared.join(' ') }
  if (siteOnProfile) profile['network devices'] = { default: { ...siteNet } }

  const out: WwMap = {}
  nodes.forEach((n, i) => {
    const extra = extraOf(n)
    const { devices, primary } = built[i]!
    if (!siteOnProfile && primary !== null)
      for (const [k, v] of Object.entries(siteNet))
        if (isMapValue(devices[primary]) && devices[primary][k] === undefined) devices[primary][k] = v
    const fields: WwMap = { ...(extra?.fields ?? {}) }
    const take = (k: string) => {
      const v = fields[k]
      delete fields[k]
      return v
    }
    const e: WwMap = { profiles: [profileName] }
    const comment = take('comment')
    if (comment !== undefined) e.comment = comment
    // An image Rackboot did not know at import is kept in the passthrough: Warewulf still gets its name back.
    const keptImage = take('image name') ?? take('container name')
    const image = n.image ?? (typeof keptImage === 'string' && keptImage !== '' ? keptImage : null)
    if (image !== null) e[opts.version === '4.6' ? 'image name' : 'container name'] = image
    const kernel: WwMap = { ...(isMapValue(fields.kernel) ? fields.kernel : {}) }
    delete fields.kernel
    const own = words[i]!.slice(shared.length)
    if (opts.version === '4.6' ? own.length > 0 : n.kernelArgs !== '' && shared.length === 0)
      kernel.args = opts.version === '4.6' ? own : n.kernelArgs
    if (Object.keys(kernel).length > 0) e.kernel = kernel
    if (n.overlays.system.length > 0) e['system overlay'] = [...n.overlays.system]
    if (n.overlays.runtime.length > 0) e['runtime overlay'] = [...n.overlays.runtime]
    if (Object.keys(devices).length > 0) e['network devices'] = devices
    if (primary !== null) e['primary network'] = primary
    const tags: WwMap = { ...(isMapValue(fields.tags) ? fields.tags : {}) }
    delete fields.tags
    if (n.rack !== null) tags[RACK_TAG] = n.rack
    if (n.slot !== null) tags[SLOT_TAG] = String(n.slot)
    if (n.heightU !== 1) tags[HEIGHT_TAG] = String(n.heightU)
    if (Object.keys(tags).length > 0) e.tags = tags
    // The node's BMC over a kept `ipmi` block, so an imported password or interface goes back untouched.
    const ipmi: WwMap = { ...(isMapValue(fields.ipmi) ? fields.ipmi : {}) }
    delete fields.ipmi
    if (n.bmc.ipv4 !== null) ipmi.ipaddr = n.bmc.ipv4
    if (n.bmc.user !== null) ipmi.username = n.bmc.user
    if (Object.keys(ipmi).length > 0) e.ipmi = ipmi
    if (n.assetKey !== null) e['asset key'] = n.assetKey
    if (n.discoverable) e.discoverable = 'true'
    for (const [k, v] of Object.entries(fields)) e[k] = v
    out[n.name] = e
  })

  // Warewulf 4.5 reads with yaml.v2 (YAML 1.1): quote what 1.1 would read as a number or boolean.
  if (bare)
    return stringifyForYaml11(
      out,
      ` Warewulf ${opts.version} node map for \`wwctl node import\`, written by Rackboot (${nodes.length} node${nodes.length === 1 ? '' : 's'}); each names profile '${profileName}' of the server it lands on`,
    )
  return stringifyForYaml11(
    opts.version === '4.5'
      ? { WW_INTERNAL: 45, nodeprofiles: { [profileName]: profile }, nodes: out }
      : { nodeprofiles: { [profileName]: profile }, nodes: out },
    ` Warewulf ${opts.version} nodes.conf written by Rackboot (${nodes.length} node${nodes.length === 1 ? '' : 's'}); profile '${profileName}' holds what they share`,
  )
}

/** Devices of one node: the passthrough's devices get the node's MACs back in order, then new ones. */
function buildDevices(
  n: Node,
  extra: WarewulfNodeExtra | null,
): { devices: { [name: string]: WwMap }; primary: string | null } {
  const macs = [...n.macs]
  const devices: { [name: string]: WwMap } = {}
  const saved = extra?.netdevs ?? []
  for (const d of saved) {
    const f: WwMap = { ...d.fields }
    if (d.hasMac) {
      const mac = macs.shift()
      if (mac !== undefined) f.hwaddr = mac
    }
    devices[d.name] = f
  }
  let primary = extra?.primary && devices[extra.primary] ? extra.primary : (saved[0]?.name ?? null)
  // A MAC captured after the import: the primary takes it if it has none, else a new device does.
  if (primary !== null && macs.length > 0 && devices[primary]!.hwaddr === undefined)
    devices[primary]!.hwaddr = macs.shift()!
  let k = 1
  for (const mac of macs) {
    let name = Object.keys(devices).length === 0 ? 'default' : `net${k++}`
    while (devices[name]) name = `net${k++}`
    devices[name] = { hwaddr: mac }
    primary ??= name
  }
  if (n.ipv4 !== null) {
    if (primary === null) {
      primary = 'default'
      devices.default = {}
    }
    devices[primary]!.ipaddr = n.ipv4
  }
  // Warewulf's own order inside a device: hwaddr and ipaddr read best first.
  for (const [name, f] of Object.entries(devices)) {
    const { device, hwaddr, ipaddr, ...rest } = f
    const ordered: WwMap = {}
    if (device !== undefined) ordered.device = device
    if (hwaddr !== undefined) ordered.hwaddr = hwaddr
    if (ipaddr !== undefined) ordered.ipaddr = ipaddr
    devices[name] = { ...ordered, ...rest }
  }
  return { devices, primary }
}

/** Kernel command line → words, keeping `a="b c"` whole (Warewulf joins the list with spaces). */
export function splitArgs(args: string): string[] {
  return args.match(/(?:[^\s"]+|"[^"]*")+/g) ?? []
}
