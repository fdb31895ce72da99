/**
 * The everyday exports of the inventory, each `(db) => text`, nodes in rack order (compareNodes). Pure.
 * `rackboot export csv|hosts|dnsmasq|dhcpd|ansible|json` prints these.
 */
import type { Db, Node } from '../inventory/schema'
import { compareNodes } from '../inventory/repo'
import { csvRecord } from './csv'
import { stringifyForYaml11 } from './yaml-quote'

export type ExportFormat = 'csv' | 'hosts' | 'dnsmasq' | 'dhcpd' | 'ansible' | 'json'

/** `bmc` last, so readers that take columns by position keep working. */
export const CSV_COLUMNS = ['rack', 'slot', 'name', 'mac', 'ip', 'serial', 'bmc'] as const

const inRackOrder = (db: Db): Node[] => [...db.nodes].sort(compareNodes)

/**
 * One record per node: rack, slot, name, MACs (space-separated, boot MAC first), IPv4, serial, BMC IPv4.
 * CRLF records and quoting per RFC 4180, so spreadsheets and `parseCsv` read it back unchanged.
 */
export function exportCsv(db: Db): string {
  let out = csvRecord(CSV_COLUMNS)
  for (const n of inRackOrder(db))
    out += csvRecord([
      n.rack ?? '',
      n.slot === null ? '' : String(n.slot),
      n.name,
      n.macs.join(' '),
      n.ipv4 ?? '',
      n.serial ?? '',
      n.bmc.ipv4 ?? '',
    ])
  return out
}

/** /etc/hosts lines: `ip<TAB>name.domain name` (hosts(5): canonical name first, then aliases). */
export function exportHosts(db: Db): string {
  const domain = db.settings.domain.replace(/^\.+|\.+$/g, '')
  const lines = ['# Rackboot nodes, in rack order']
  for (const n of inRackOrder(db)) {
    if (n.ipv4 === null) lines.push(`# ${n.name}: no IPv4 address yet`)
    else lines.push(domain ? `${n.ipv4}\t${n.name}.${domain}\t${n.name}` : `${n.ipv4}\t${n.name}`)
  }
  return lines.join('\n') + '\n'
}

/**
 * dnsmasq `dhcp-host=` lines (dnsmasq(8) --dhcp-host): every MAC of a node on one line, then its IPv4 and
 * name. Several MACs on one line give one address to whichever NIC asks (one at a time), as dnsmasq documents.
 */
export function exportDnsmasq(db: Db): string {
  const lines = ['# Rackboot nodes, in rack order: include with conf-file= or drop into /etc/dnsmasq.d/']
  for (const n of inRackOrder(db)) {
    if (n.macs.length === 0) {
      lines.push(`# ${n.name}: no MAC address yet`)
      continue
    }
    lines.push(`dhcp-host=${[...n.macs, ...(n.ipv4 ? [n.ipv4] : []), n.name].join(',')}`)
  }
  return lines.join('\n') + '\n'
}

/**
 * ISC dhcpd `host` declarations (dhcpd.conf(5)): one per MAC, since a declaration takes one
 * `hardware ethernet`; a node's further NICs get `<name>-nic<k>` declarations with the same address.
 */
export function exportDhcpd(db: Db): string {
  const nodes = inRackOrder(db)
  const taken = new Set(nodes.map((n) => n.name))
  const blocks = ['# Rackboot nodes, in rack order: include "<this file>"; from dhcpd.conf']
  for (const n of nodes) {
    if (n.macs.length === 0) {
      blocks.push(`# ${n.name}: no MAC address yet`)
      continue
    }
    n.macs.forEach((mac, k) => {
      let decl = n.name
      if (k > 0) {
        decl = `${n.name}-nic${k + 1}`
        while (taken.has(decl)) decl += '-x'
        taken.add(decl)
      }
      const body = [`  hardware ethernet ${mac};`]
      if (n.ipv4) body.push(`  fixed-address ${n.ipv4};`)
      body.push(`  option host-name "${n.name}";`)
      blocks.push(`host ${decl} {\n${body.join('\n')}\n}`)
    })
  }
  return blocks.join('\n') + '\n'
}

/** Ansible group name of a rack: group names must be identifiers, so hyphens become underscores. */
export function ansibleGroup(rack: string | null): string {
  return rack === null ? 'unracked' : `rack_${rack.replace(/-/g, '_')}`
}

/**
 * Ansible YAML inventory: `all.children.<rack group>.hosts.<node>` with `ansible_host` (the IPv4, else the
 * FQDN when a domain is set) and rackboot_rack/slot/macs host variables.
 */
export function exportAnsible(db: Db): string {
  const domain = db.settings.domain.replace(/^\.+|\.+$/g, '')
  const children: Record<string, { hosts: Record<string, Record<string, unknown>> }> = {}
  for (const n of inRackOrder(db)) {
    const group = (children[ansibleGroup(n.rack)] ??= { hosts: {} })
    const vars: Record<string, unknown> = {}
    if (n.ipv4) vars.ansible_host = n.ipv4
    else if (domain) vars.ansible_host = `${n.name}.${domain}`
    if (n.rack !== null) vars.rackboot_rack = n.rack
    if (n.slot !== null) vars.rackboot_slot = n.slot
    if (n.macs.length > 0) vars.rackboot_macs = [...n.macs]
    group.hosts[n.name] = vars
  }
  // Ansible reads YAML with PyYAML (YAML 1.1), where an unquoted MAC can be a base-60 number.
  return stringifyForYaml11({ all: { children } })
}

/** The whole inventory as JSON (the store's schema), nodes in rack order. */
export function exportJson(db: Db): string {
  return JSON.stringify({ ...db, nodes: inRackOrder(db) }, null, 2) + '\n'
}

export const exporters: Record<ExportFormat, (db: Db) => string> = {
  csv: exportCsv,
  hosts: exportHosts,
  dnsmasq: exportDnsmasq,
  dhcpd: exportDhcpd,
  ansible: exportAnsible,
  json: exportJson,
}
