/**
 * One Warewulf node, after its profiles are merged, → Rackboot's node fields plus the passthrough of what
 * Rackboot does not model (see WarewulfNodeExtra). Pure.
 */
import type { Node } from '../inventory/schema'
import { hostnameSchema } from '../inventory/schema'
import { parseMac } from '../util/mac'
import { ipToInt } from '../util/ipv4'
import { cleanList, isMapValue, stringList } from './warewulf-merge'
import {
  HEIGHT_TAG,
  RACK_TAG,
  SLOT_TAG,
  type WarewulfNetdevExtra,
  type WarewulfNodeExtra,
  type WwMap,
  type WwValue,
} from './warewulf-types'

export type Path = (string | number)[]

export interface Mapped {
  node: Omit<Node, 'name' | 'createdAt' | 'updatedAt'>
  extra: WarewulfNodeExtra
  macs: { dev: string; mac: string }[]
  ipv4s: { dev: string; ip: string }[]
  primaryDev: string | null
}

/** One merged Warewulf node → Rackboot fields plus what Rackboot does not model. */
export function toRackboot(
  merged: WwMap,
  problem: (sub: Path, message: string) => void,
  warn: (message: string) => void,
): Mapped {
  const fields: WwMap = { ...merged }
  const take = (k: string): WwValue | undefined => {
    const v = fields[k]
    delete fields[k]
    return v
  }
  const str = (v: WwValue | undefined) => (typeof v === 'string' && v !== '' ? v : null)

  const image = str(take('image name')) ?? str(take('container name'))
  delete fields['container name']
  let kernelArgs = ''
  const kernel = take('kernel')
  if (isMapValue(kernel)) {
    const { args, ...rest } = kernel
    kernelArgs = Array.isArray(args)
      ? cleanList(args.filter((a): a is string => typeof a === 'string')).join(' ')
      : (str(args) ?? '')
    if (Object.keys(rest).length > 0) fields.kernel = rest
  }
  const system = cleanList(stringList(take('system overlay')))
  const runtime = cleanList(stringList(take('runtime overlay')))
  const assetKey = str(take('asset key'))
  const discRaw = str(take('discoverable'))
  const discoverable = discRaw === null ? false : wwBool(discRaw)
  if (discRaw !== null && discoverable === null)
    warn(`discoverable '${discRaw}' is not a boolean; Warewulf reads it as false`)

  // BMC address and user become Rackboot's; the rest of `ipmi` (password, interface, …) stays passthrough.
  const bmc: Node['bmc'] = { ipv4: null, user: null }
  // Read in place (not `take`), so a kept `ipmi` keeps its position among the passthrough keys.
  const ipmiRaw = fields.ipmi
  if (isMapValue(ipmiRaw)) {
    const rest: WwMap = { ...ipmiRaw }
    const ip = str(rest.ipaddr)
    if (ip !== null && ipToInt(ip) !== null) {
      bmc.ipv4 = ip
      delete rest.ipaddr
    }
    const user = str(rest.username)
    if (user !== null && user.length <= 64) {
      bmc.user = user
      delete rest.username
    }
    if (Object.keys(rest).length > 0) fields.ipmi = rest
    else delete fields.ipmi
  }

  // Placement from tags.
  let rack: string | null = null
  let slot: number | null = null
  let heightU = 1
  const tags = take('tags')
  if (isMapValue(tags)) {
    const rest: WwMap = { ...tags }
    const r = str(rest[RACK_TAG])
    const s = str(rest[SLOT_TAG])
    const h = str(rest[HEIGHT_TAG])
    delete rest[RACK_TAG]
    delete rest[SLOT_TAG]
    delete rest[HEIGHT_TAG]
    if (r !== null) {
      if (hostnameSchema.safeParse(r).success) rack = r
      else problem(['tags', RACK_TAG], `tag rack '${r}' is not a rack name (letters, digits, inner hyphens)`)
    }
    if (s !== null) {
      const n = /^[0-9]{1,2}$/.test(s) ? Number(s) : NaN
      if (n >= 1 && n <= 60) slot = n
      else problem(['tags', SLOT_TAG], `tag slot '${s}' is not a slot number 1..60`)
      if (r === null) problem(['tags', SLOT_TAG], `tag slot '${s}' needs a rack tag beside it`)
    }
    if (h !== null) {
      const n = /^[0-9]{1,2}$/.test(h) ? Number(h) : NaN
      if (n >= 1 && n <= 10) heightU = n
      else problem(['tags', HEIGHT_TAG], `tag height '${h}' is not a height 1..10 U`)
    }
    if (slot !== null && slot + heightU - 1 > 60)
      problem(['tags', SLOT_TAG], `slot ${slot} with height ${heightU} U does not fit a rack of at most 60 U`)
    if (Object.keys(rest).length > 0) fields.tags = rest
  }

  // Network devices: the primary first (its hwaddr is the boot MAC), then the rest by name, as Warewulf sorts.
  const devsRaw = take('network devices')
  const primaryNamed = str(take('primary network'))
  const devs = isMapValue(devsRaw) ? devsRaw : {}
  const names = Object.keys(devs).sort()
  const flagged = names.find((n) => {
    const d = devs[n]
    return isMapValue(d) && (wwBool(str(d.primary) ?? '') === true || wwBool(str(d.default) ?? '') === true)
  })
  const primaryDev =
    primaryNamed !== null && names.includes(primaryNamed) ? primaryNamed : (flagged ?? names[0] ?? null)
  if (primaryNamed !== null && !names.includes(primaryNamed) && names.length > 0)
    warn(`primary network '${primaryNamed}' names no device; '${primaryDev}' is used`)
  const ordered = primaryDev === null ? [] : [primaryDev, ...names.filter((n) => n !== primaryDev)]
  const macs: Mapped['macs'] = []
  const ipv4s: Mapped['ipv4s'] = []
  const netdevs: WarewulfNetdevExtra[] = []
  let ipv4: string | null = null
  for (const dev of ordered) {
    const d: WwMap = isMapValue(devs[dev]) ? { ...(devs[dev] as WwMap) } : {}
    delete d.primary
    delete d.default
    let hasMac = false
    const hw = str(d.hwaddr)
    if (hw !== null) {
      const m = parseMac(hw)
      if (!m.ok) problem(['network devices', dev, 'hwaddr'], `device '${dev}': ${m.error}`)
      else if (macs.some((x) => x.mac === m.value))
        problem(['network devices', dev, 'hwaddr'], `MAC ${m.value} is on two devices of this node`)
      else {
        macs.push({ dev, mac: m.value })
        hasMac = true
        delete d.hwaddr
      }
    }
    const ip = str(d.ipaddr)
    if (ip !== null) {
      if (ipToInt(ip) !== null) {
        ipv4s.push({ dev, ip })
        if (dev === primaryDev) {
          ipv4 = ip
          delete d.ipaddr
        }
      } else if (dev === primaryDev)
        warn(`device '${dev}' ipaddr '${ip}' is not IPv4; Rackboot keeps it but will not serve it`)
    }
    netdevs.push({ name: dev, hasMac, fields: d })
  }
  return {
    node: {
      rack,
      slot,
      heightU,
      macs: macs.map((m) => m.mac),
      ipv4,
      image,
      kernelArgs,
      overlays: { system, runtime },
      discoverable: discoverable === true,
      // A node whose MAC is known has been captured in Rackboot's terms; without one it waits in the plan.
      state: macs.length > 0 ? 'captured' : 'planned',
      uuid: null,
      assetKey,
      serial: null,
      bmc,
      // The node carries its own passthrough, so the store keeps it and an export finds it on the node.
      extra: { warewulf: { fields, netdevs, primary: primaryDev } },
    },
    extra: { fields, netdevs, primary: primaryDev },
    macs,
    ipv4s,
    primaryDev,
  }
}

/** wwtype.WWbool: yes/no and Go's strconv.ParseBool spellings; null when neither. */
export function wwBool(s: string): boolean | null {
  if (['1', 't', 'T', 'TRUE', 'true', 'True', 'yes', 'Yes', 'YES'].includes(s)) return true
  if (['0', 'f', 'F', 'FALSE', 'false', 'False', 'no', 'No', 'NO', ''].includes(s)) return false
  return null
}
