/**
 * Types shared by the Warewulf nodes.conf importer and exporter. Pure: no Node imports.
 *
 * Warewulf keys are spelled as in Warewulf's Go yaml tags (internal/pkg/node/datastructure.go,
 * v4.5.8 and v4.6.5): `container name` (4.5) / `image name` (4.6), `network devices`, `primary network`,
 * `system overlay`, `runtime overlay`, `asset key`, `kernel: {args, version}`.
 */
import type { Node, Rack } from '../inventory/schema'

export type WarewulfVersion = '4.5' | '4.6'

/** A YAML value as Warewulf's Go structs see it: every scalar is a string (Go fields are strings). */
export type WwValue = string | null | WwValue[] | { [key: string]: WwValue }
export type WwMap = { [key: string]: WwValue }

/** One thing wrong with an import file. `line` is 1-based in the file; `node` names the node concerned. */
export interface ImportProblem {
  line: number | null
  node: string | null
  message: string
}

/**
 * What Rackboot has no field for, per node, kept so an export gives it back. Values are the node's view after
 * Warewulf's profile merge, in Warewulf's own key spelling.
 */
export interface WarewulfNodeExtra {
  /** Node keys Rackboot does not model: comment, ipmi, disks, init, root, `ipxe template`, `kernel: {version}`,
   *  tags other than rack/slot/height, resources, `cluster name`, and keys unknown to Warewulf. */
  fields: WwMap
  /** Network devices in file order: devices with `hasMac` take node.macs in this order. */
  netdevs: WarewulfNetdevExtra[]
  /** Name of the primary device (Warewulf `primary network`), or null for "the first device". */
  primary: string | null
}

export interface WarewulfNetdevExtra {
  name: string
  /** True when this device's hwaddr is one of node.macs (it then takes the next MAC on export). */
  hasMac: boolean
  /** Device keys other than hwaddr, and other than ipaddr on the primary device whose IPv4 is node.ipv4. */
  fields: WwMap
}

/** The import, ready for the lead's apply step: nothing here has touched the store. */
export interface WarewulfImport {
  /** Detected from the file (WW_INTERNAL, `container name` vs `image name`, kernel args shape); null if none. */
  version: WarewulfVersion | null
  /** Nodes with profiles merged in, in rack order (compareNodes). */
  nodes: Node[]
  /** Racks named by the nodes' `rack` tags, tall enough for their slots. */
  racks: Rack[]
  /** Passthrough per node name (see WarewulfNodeExtra). */
  extras: Record<string, WarewulfNodeExtra>
  /** Things kept but worth a look: keys unknown to Warewulf, values Rackboot reads differently. */
  warnings: string[]
}

export interface WarewulfImportOptions {
  /** Merge rules: 4.5 adds profile `default` to nodes without `profiles`; 4.6 does not. Default: detected, else 4.6. */
  version?: WarewulfVersion
  /** When given, every node IPv4 must lie inside it (e.g. settings.subnet). */
  subnet?: string | null
  /** Image names Rackboot knows; a node naming another image gets a warning (its boot would fail). */
  images?: string[]
  /** createdAt/updatedAt of the new nodes. */
  now?: () => Date
}

export interface WarewulfExportOptions {
  version: WarewulfVersion
  /** Name of the profile every exported node references; default `default`. */
  profile?: string
  /** Passthrough per node name, from a previous import (WarewulfImport.extras); default: each node's own. */
  extras?: Record<string, WarewulfNodeExtra>
  /**
   * `nodes.conf` (default): a profile with what the nodes share, then the nodes. `node-import`: the bare map
   * of nodes that `wwctl node import FILE` reads (it unmarshals `map[string]*node.Node`, so no `nodes:` key and
   * no profiles), each node carrying its own kernel args, netmask and gateway.
   */
  form?: 'nodes.conf' | 'node-import'
}

/** Tag names that carry Rackboot's rack placement through Warewulf (`tags:` on each node). */
export const RACK_TAG = 'rack'
export const SLOT_TAG = 'slot'
export const HEIGHT_TAG = 'height'
