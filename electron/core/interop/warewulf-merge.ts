/**
 * Warewulf's profile rules, on plain values (pure).
 *
 * Mirrors Warewulf v4.6 internal/pkg/node/mergo.go (MergeNode) and v4.5 constructors.go (FindAllNodes):
 * - a node's profiles are expanded depth-first (a profile's own `profiles` come before it; each once);
 *   `~name` removes a profile;
 * - profiles merge in that order, then the node: a non-empty scalar replaces, lists append
 *   (profiles first, then node), maps merge key by key; `~item` in a list removes `item` (cleanList);
 * - `kernel: {args}` is a list in 4.6 (appends) and a string in 4.5 (replaces);
 * - v4.5 gives a node without `profiles` the profile `default`; v4.6 does not.
 */
import type { WwMap, WwValue } from './warewulf-types'

export function isMapValue(v: WwValue | undefined): v is WwMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Warewulf's cleanList: drop every `~x` and every `x` negated by one; keep the rest in order. */
export function cleanList(list: readonly string[]): string[] {
  const negated = new Set(list.filter((t) => t.startsWith('~')).map((t) => t.slice(1)))
  return list.filter((t) => !t.startsWith('~') && !negated.has(t))
}

/** Lists under these keys replace rather than append (4.6 `resources` are interface{} values: mergo sets them). */
const REPLACE_LISTS_UNDER = new Set(['resources'])

/** mergo.Merge(dst, src, WithOverride, WithAppendSlice) on plain values; returns a new value. */
export function mergeInto(dst: WwMap, src: WwMap, replaceLists = false): WwMap {
  const out: WwMap = { ...dst }
  for (const [k, s] of Object.entries(src)) {
    if (s === null || s === '') continue
    const d = out[k]
    if (isMapValue(s))
      out[k] = mergeInto(isMapValue(d) ? d : {}, s, replaceLists || REPLACE_LISTS_UNDER.has(k))
    else if (Array.isArray(s)) {
      if (s.length === 0) continue
      out[k] = !replaceLists && Array.isArray(d) ? [...d, ...s] : [...s]
    } else out[k] = s
  }
  return out
}

/**
 * Rewrites the keys older Warewulf wrote (still read by 4.5 and upgraded by `wwctl upgrade nodes` in 4.6):
 * `keys` → `tags`, `kernel args|version|override` → `kernel: {…}`, `ipmi <x>` → `ipmi: {x}`,
 * `ip6addr` → `ipaddr6`, and applies `tagsdel` (a wire-only key) to the tags beside it.
 */
export function normaliseLegacy(entry: WwMap): WwMap {
  const out: WwMap = {}
  const kernel: WwMap = {}
  const ipmi: WwMap = {}
  for (const [k, v] of Object.entries(entry)) {
    if (k === 'kernel args') kernel.args = v
    else if (k === 'kernel version' || k === 'kernel override') kernel.override = v
    else if (k.startsWith('ipmi ')) ipmi[k.slice(5)] = v
    else out[k] = v
  }
  // v4.5 FindAllNodes sets the deprecated keys after the nested ones, so they win.
  if (Object.keys(kernel).length > 0)
    out.kernel = { ...(isMapValue(out.kernel) ? out.kernel : {}), ...kernel }
  if (Object.keys(ipmi).length > 0) out.ipmi = { ...(isMapValue(out.ipmi) ? out.ipmi : {}), ...ipmi }
  if (isMapValue(out.keys)) {
    out.tags = { ...(isMapValue(out.tags) ? out.tags : {}), ...out.keys }
    delete out.keys
  }
  applyTagsDel(out)
  if (isMapValue(out.ipmi)) out.ipmi = applyTagsDel({ ...out.ipmi })
  if (isMapValue(out['network devices'])) {
    const devs: WwMap = {}
    for (const [name, dev] of Object.entries(out['network devices'])) {
      if (!isMapValue(dev)) {
        devs[name] = dev
        continue
      }
      const d = applyTagsDel({ ...dev })
      if (d.ip6addr !== undefined && d.ipaddr6 === undefined) {
        d.ipaddr6 = d.ip6addr
        delete d.ip6addr
      }
      devs[name] = d
    }
    out['network devices'] = devs
  }
  return out
}

function applyTagsDel(m: WwMap): WwMap {
  const del = m.tagsdel
  if (Array.isArray(del) && isMapValue(m.tags)) {
    const tags = { ...m.tags }
    for (const t of del) if (typeof t === 'string') delete tags[t]
    m.tags = tags
  }
  delete m.tagsdel
  return m
}

export interface ProfileExpansion {
  order: string[]
  /** Profile names referenced but not defined, with the chain that referenced them. */
  missing: { name: string; via: string | null }[]
}

/** getNodeProfiles: nested expansion, each profile once, `~x` removes x. */
export function expandProfiles(
  direct: readonly string[],
  profiles: Readonly<Record<string, WwMap>>,
): ProfileExpansion {
  const visited = new Set<string>()
  const missing: ProfileExpansion['missing'] = []
  const walk = (ids: readonly string[], via: string | null): string[] => {
    const out: string[] = []
    for (const id of ids) {
      if (id.startsWith('~')) {
        out.push(id)
        continue
      }
      if (visited.has(id)) continue
      visited.add(id)
      const p = profiles[id]
      if (p === undefined) missing.push({ name: id, via })
      else out.push(...walk(stringList(p.profiles), id))
      out.push(id)
    }
    return out
  }
  return { order: cleanList(walk(direct, null)), missing }
}

/** A YAML list of strings, or a lone string (v4.2 wrote `runtime overlay: "generic"`). */
export function stringList(v: WwValue | undefined): string[] {
  if (typeof v === 'string') return v === '' ? [] : [v]
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string')
  return []
}

/** Every key Warewulf 4.5 or 4.6 reads on a node or profile (yaml tags of NodeConf/Node/Profile). */
export const NODE_KEYS = new Set([
  'profiles',
  'comment',
  'cluster name',
  'container name',
  'image name',
  'ipxe template',
  'runtime overlay',
  'system overlay',
  'kernel',
  'ipmi',
  'init',
  'root',
  'asset key',
  'discoverable',
  'network devices',
  'tags',
  'tagsdel',
  'keys',
  'primary network',
  'disks',
  'filesystems',
  'resources',
  'kernel version',
  'kernel override',
  'kernel args',
  'ipmi username',
  'ipmi password',
  'ipmi ipaddr',
  'ipmi netmask',
  'ipmi port',
  'ipmi gateway',
  'ipmi interface',
  'ipmi escapechar',
  'ipmi write',
])
export const KERNEL_KEYS = new Set(['version', 'override', 'args'])
export const IPMI_KEYS = new Set([
  'username',
  'password',
  'ipaddr',
  'netmask',
  'port',
  'gateway',
  'interface',
  'escapechar',
  'write',
  'template',
  'tags',
  'tagsdel',
])
export const NETDEV_KEYS = new Set([
  'type',
  'onboot',
  'device',
  'hwaddr',
  'ipaddr',
  'ipcidr',
  'ip6addr',
  'ipaddr6',
  'prefix',
  'prefixlen6',
  'netmask',
  'gateway',
  'gateway6',
  'mtu',
  'primary',
  'default',
  'tags',
  'tagsdel',
])
