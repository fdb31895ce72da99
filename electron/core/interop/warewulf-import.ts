/**
 * Warewulf nodes.conf (v4.5 or v4.6) → Rackboot nodes, racks and a per-node passthrough. Pure.
 *
 * All or nothing: every problem in the file is listed (with its line and node) and nothing is returned
 * unless the whole file validates. Also reads the bare node map `wwctl node import` takes.
 */
import { nodeSchema, hostnameSchema, describeIssues, type Node, type Rack } from '../inventory/schema'
import { compareNodes } from '../inventory/repo'
import { ipToInt, parseCidr, cidrContains } from '../util/ipv4'
import { type Result, ok, err } from '../util/result'
import { readYamlTree } from './yaml-tree'
import {
  expandProfiles,
  isMapValue,
  mergeInto,
  normaliseLegacy,
  stringList,
  NODE_KEYS,
  KERNEL_KEYS,
  IPMI_KEYS,
  NETDEV_KEYS,
} from './warewulf-merge'
import { toRackboot, type Path } from './warewulf-node'
import {
  SLOT_TAG,
  type ImportProblem,
  type WarewulfImport,
  type WarewulfImportOptions,
  type WarewulfNodeExtra,
  type WarewulfVersion,
  type WwMap,
  type WwValue,
} from './warewulf-types'

export function importWarewulf(
  text: string,
  opts: WarewulfImportOptions = {},
): Result<WarewulfImport, ImportProblem[]> {
  const tree = readYamlTree(text)
  if (!tree.ok) return err(tree.error.map((p) => ({ ...p, node: null })))
  const { value: root, lineOf } = tree.value
  const problems: ImportProblem[] = []
  const warnings: string[] = []
  const at = (path: Path, line = lineOf(path)) => (line === null ? '' : ` (line ${line})`)

  if (!isMapValue(root))
    return err([
      {
        line: lineOf([]) ?? 1,
        node: null,
        message:
          'expected a YAML map with `nodes:` (a Warewulf nodes.conf) or a map of nodes (wwctl node import)',
      },
    ])
  const isConf = 'nodes' in root || 'nodeprofiles' in root || 'WW_INTERNAL' in root
  const nodesBase: Path = isConf ? ['nodes'] : []
  const rawNodes = isConf ? (root.nodes ?? {}) : root
  const rawProfiles = isConf ? (root.nodeprofiles ?? {}) : {}
  if (isConf)
    for (const k of Object.keys(root))
      if (!['nodes', 'nodeprofiles', 'WW_INTERNAL'].includes(k))
        warnings.push(`top-level key '${k}'${at([k])} is not a Warewulf nodes.conf key; it is ignored`)
  if (!isMapValue(rawNodes))
    return err([{ line: lineOf(['nodes']), node: null, message: '`nodes:` must be a map of node names' }])
  if (!isMapValue(rawProfiles))
    return err([
      {
        line: lineOf(['nodeprofiles']),
        node: null,
        message: '`nodeprofiles:` must be a map of profile names',
      },
    ])

  // Only the merge differs by version (v4.5's implicit `default` profile); with no sign, v4.6 rules apply.
  const detected = detectVersion(root, rawNodes, rawProfiles)
  const version = opts.version ?? detected

  // Shape checks and legacy rewrites of every profile and node, before any merge.
  const entryOk = (what: string, path: Path, v: WwValue, node: string | null): WwMap | null => {
    if (v === null) return {}
    if (!isMapValue(v)) {
      problems.push({ line: lineOf(path), node, message: `${what} must be a map of settings` })
      return null
    }
    checkKeys(v, path, node)
    return normaliseLegacy(v)
  }
  const checkKeys = (v: WwMap, path: Path, node: string | null) => {
    const unknown = (k: string, p: Path) =>
      warnings.push(
        `${node ? `node '${node}'` : `profile '${String(path[path.length - 1])}'`}: key '${[...p.slice(path.length), k].join('.')}'${at([...p, k])} is not a Warewulf key; kept as is`,
      )
    for (const [k, val] of Object.entries(v)) {
      if (!NODE_KEYS.has(k)) unknown(k, path)
      const sub = [...path, k]
      const mustMap = (m: boolean) => {
        if (!m) problems.push({ line: lineOf(sub), node, message: `'${k}' must be a map` })
      }
      const mustList = () => {
        if (!(
          val === null ||
          typeof val === 'string' ||
          (Array.isArray(val) && val.every((x) => typeof x === 'string'))
        ))
          problems.push({ line: lineOf(sub), node, message: `'${k}' must be a list of names` })
      }
      if (k === 'kernel' && val !== null) {
        mustMap(isMapValue(val))
        if (isMapValue(val)) {
          for (const kk of Object.keys(val)) if (!KERNEL_KEYS.has(kk)) unknown(kk, [...path, k])
          const args = val.args
          if (!(args === undefined || args === null || typeof args === 'string' || Array.isArray(args)))
            problems.push({
              line: lineOf([...sub, 'args']),
              node,
              message: `'kernel.args' must be a string or a list`,
            })
        }
      } else if (k === 'ipmi' && val !== null) {
        mustMap(isMapValue(val))
        if (isMapValue(val))
          for (const kk of Object.keys(val)) if (!IPMI_KEYS.has(kk)) unknown(kk, [...path, k])
      } else if (k === 'network devices' && val !== null) {
        mustMap(isMapValue(val))
        if (isMapValue(val))
          for (const [dev, d] of Object.entries(val)) {
            if (d !== null && !isMapValue(d))
              problems.push({
                line: lineOf([...sub, dev]),
                node,
                message: `network device '${dev}' must be a map`,
              })
            else if (d !== null)
              for (const kk of Object.keys(d)) if (!NETDEV_KEYS.has(kk)) unknown(kk, [...path, k, dev])
          }
      } else if ((k === 'tags' || k === 'keys') && val !== null) mustMap(isMapValue(val))
      else if (k === 'profiles' || k === 'system overlay' || k === 'runtime overlay') mustList()
    }
  }

  const profiles: Record<string, WwMap> = {}
  for (const [name, v] of Object.entries(rawProfiles)) {
    const e = entryOk(`profile '${name}'`, ['nodeprofiles', name], v, null)
    if (e) profiles[name] = e
  }

  const nodes: Node[] = []
  const extras: Record<string, WarewulfNodeExtra> = {}
  const stamp = (opts.now ?? (() => new Date()))().toISOString()
  const owners = {
    mac: new Map<string, { node: string; line: number | null }>(),
    ip: new Map<string, { node: string; line: number | null }>(),
  }

  for (const [name, v] of Object.entries(rawNodes)) {
    const nodePath = [...nodesBase, name]
    const nodeLine = lineOf(nodePath)
    const own = entryOk(`node '${name}'`, nodePath, v, name)
    if (!own) continue
    if (!hostnameSchema.safeParse(name).success)
      problems.push({
        line: nodeLine,
        node: name,
        message: `node name '${name}' is not a host name Rackboot can use (letters, digits and inner hyphens, at most 63); rename it in the file`,
      })

    // Profiles: v4.5 implies `default` when a node names none.
    let direct = stringList(own.profiles)
    if (direct.length === 0 && own.profiles === undefined && version === '4.5') direct = ['default']
    const { order, missing } = expandProfiles(direct, profiles)
    for (const m of missing) {
      const implicit = own.profiles === undefined && m.name === 'default' && m.via === null
      if (implicit) continue
      const idx = stringList(own.profiles).indexOf(m.name)
      const line =
        m.via === null
          ? (lineOf([...nodePath, 'profiles', idx]) ?? nodeLine)
          : lineOf(['nodeprofiles', m.via, 'profiles'])
      const message = `profile '${m.name}'${m.via ? ` (named by profile '${m.via}')` : ''} is not defined in nodeprofiles`
      if (isConf) problems.push({ line, node: name, message })
      else
        warnings.push(
          `node '${name}': ${message}; its settings live on the Warewulf server and are not merged here`,
        )
    }
    let merged: WwMap = {}
    for (const p of order) if (profiles[p]) merged = mergeInto(merged, profiles[p])
    merged = mergeInto(merged, own)
    delete merged.profiles

    // Where a merged value came from: the node itself, else the last profile that set it.
    const lineIn = (sub: Path): number | null => {
      const l = lineOf([...nodePath, ...sub])
      if (l !== null) return l
      for (const p of [...order].reverse()) {
        const pl = lineOf(['nodeprofiles', p, ...sub])
        if (pl !== null) return pl
      }
      return nodeLine
    }
    const problem = (sub: Path, message: string) => problems.push({ line: lineIn(sub), node: name, message })

    const mapped = toRackboot(merged, problem, (w) => warnings.push(`node '${name}': ${w}`))

    for (const { dev, mac } of mapped.macs) {
      const prev = owners.mac.get(mac)
      const line = lineIn(['network devices', dev, 'hwaddr'])
      if (prev)
        problems.push({
          line,
          node: name,
          message: `MAC ${mac} (device '${dev}') is also on node '${prev.node}'${prev.line ? ` (line ${prev.line})` : ''}`,
        })
      else owners.mac.set(mac, { node: name, line })
    }
    for (const { dev, ip } of mapped.ipv4s) {
      const prev = owners.ip.get(ip)
      const line = lineIn(['network devices', dev, 'ipaddr'])
      if (prev && prev.node !== name)
        problems.push({
          line,
          node: name,
          message: `IPv4 ${ip} (device '${dev}') is also on node '${prev.node}'${prev.line ? ` (line ${prev.line})` : ''}`,
        })
      else if (!prev) owners.ip.set(ip, { node: name, line })
    }
    // A BMC address shares the address space of the devices: no other device or BMC, this node's included.
    const bmcIp = mapped.node.bmc.ipv4
    if (bmcIp !== null) {
      const prev = owners.ip.get(bmcIp)
      const line = lineIn(['ipmi', 'ipaddr'])
      if (prev)
        problems.push({
          line,
          node: name,
          message: `BMC address ${bmcIp} (ipmi ipaddr) is also on node '${prev.node}'${prev.line ? ` (line ${prev.line})` : ''}`,
        })
      else owners.ip.set(bmcIp, { node: name, line })
    }
    if (opts.subnet && mapped.node.ipv4) {
      const cidr = parseCidr(opts.subnet)
      if (cidr.ok && !cidrContains(cidr.value, ipToInt(mapped.node.ipv4)!))
        problem(
          ['network devices', mapped.primaryDev ?? '', 'ipaddr'],
          `IPv4 ${mapped.node.ipv4} is outside the subnet ${cidr.value.text}`,
        )
    }
    if (mapped.node.image && opts.images && !opts.images.includes(mapped.node.image))
      warnings.push(
        `node '${name}': image '${mapped.node.image}' is not among Rackboot's images; import it before booting this node`,
      )

    const parsed = nodeSchema.safeParse({ ...mapped.node, name, createdAt: stamp, updatedAt: stamp })
    if (!parsed.success) {
      // The name was reported above; anything else is a value Rackboot's schema refuses.
      const rest = describeIssues(parsed.error).filter((m) => !m.startsWith('name:'))
      if (rest.length > 0) problems.push({ line: nodeLine, node: name, message: rest.join('; ') })
      continue
    }
    nodes.push(parsed.data)
    extras[name] = mapped.extra
  }

  const racks = inferRacks(nodes, (rack, slot, a, b) =>
    problems.push({
      line: lineOf([...nodesBase, b, 'tags', SLOT_TAG]) ?? lineOf([...nodesBase, b]),
      node: b,
      message: `rack '${rack}' slot ${slot} is also taken by node '${a}'`,
    }),
  )
  if (detected && opts.version && detected !== opts.version)
    warnings.push(`the file looks like Warewulf ${detected} but was read with ${opts.version} rules`)
  if (problems.length > 0) return err(problems.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity)))
  nodes.sort(compareNodes)
  return ok({ version: detected, nodes, racks, extras, warnings })
}

function detectVersion(root: WwMap, nodes: WwMap, profiles: WwMap): WarewulfVersion | null {
  if (root.WW_INTERNAL !== undefined) return '4.5'
  let v45 = 0
  let v46 = 0
  for (const e of [...Object.values(nodes), ...Object.values(profiles)]) {
    if (!isMapValue(e)) continue
    if ('container name' in e) v45++
    if ('image name' in e) v46++
    const k = e.kernel
    if (isMapValue(k)) {
      if (typeof k.args === 'string') v45++
      if (Array.isArray(k.args)) v46++
      if ('override' in k) v45++
    }
  }
  return v45 > v46 ? '4.5' : v46 > v45 ? '4.6' : null
}

function inferRacks(
  nodes: Node[],
  clash: (rack: string, slot: number, a: string, b: string) => void,
): Rack[] {
  const byRack = new Map<string, Node[]>()
  for (const n of nodes) if (n.rack !== null) byRack.set(n.rack, [...(byRack.get(n.rack) ?? []), n])
  const racks: Rack[] = []
  for (const [name, members] of [...byRack].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const taken = new Map<number, string>()
    let top = 42
    for (const n of [...members].sort(compareNodes)) {
      if (n.slot === null) continue
      for (let u = n.slot; u < n.slot + n.heightU; u++) {
        const other = taken.get(u)
        if (other !== undefined) {
          clash(name, u, other, n.name)
          break
        }
        taken.set(u, n.name)
      }
      top = Math.max(top, Math.min(60, n.slot + n.heightU - 1))
    }
    racks.push({ name, heightU: top, numbering: 'bottom-up' })
  }
  return racks
}
