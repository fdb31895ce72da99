import { describe, it, expect, afterAll } from 'vitest'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import {
  exportAnsible,
  exportCsv,
  exportDhcpd,
  exportDnsmasq,
  exportHosts,
  exportJson,
  exporters,
  CSV_COLUMNS,
} from '../../electron/core/interop/exports'
import { parseCsv, csvField } from '../../electron/core/interop/csv'
import { dbSchema, nodeSchema, type Db, type NodeInput } from '../../electron/core/inventory/schema'
import { missing } from '../support/env'

function sampleDb(domain = 'lab.example'): Db {
  const node = (n: NodeInput) =>
    nodeSchema.parse({ createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z', ...n })
  return dbSchema.parse({
    version: 1,
    settings: { subnet: '198.18.0.0/24', domain },
    racks: [{ name: 'r-a' }, { name: 'r2' }],
    nodes: [
      node({ name: 'cn2', rack: 'r-a', slot: 2, macs: ['52:54:00:00:00:02'], ipv4: '198.18.0.12' }),
      node({ name: 'spare', macs: [] }),
      node({
        name: 'cn1',
        rack: 'r-a',
        slot: 1,
        macs: ['52:54:00:00:00:01', '52:54:00:00:01:01'],
        ipv4: '198.18.0.11',
      }),
      node({ name: 'gpu1', rack: 'r2', slot: 10, macs: ['52:54:00:00:00:03'], bmc: { ipv4: '10.0.1.3' } }),
    ],
  })
}

// Goldens: our own outputs, reviewed by hand against hosts(5), dnsmasq(8) and dhcpd.conf(5).
describe('golden exports (rack order)', () => {
  it('csv', () => {
    expect(exportCsv(sampleDb())).toBe(
      'rack,slot,name,mac,ip,serial,bmc\r\n' +
        'r-a,1,cn1,52:54:00:00:00:01 52:54:00:00:01:01,198.18.0.11,,\r\n' +
        'r-a,2,cn2,52:54:00:00:00:02,198.18.0.12,,\r\n' +
        'r2,10,gpu1,52:54:00:00:00:03,,,10.0.1.3\r\n' +
        ',,spare,,,,\r\n',
    )
  })
  it('hosts, with and without a domain', () => {
    expect(exportHosts(sampleDb())).toBe(
      '# Rackboot nodes, in rack order\n' +
        '198.18.0.11\tcn1.lab.example\tcn1\n' +
        '198.18.0.12\tcn2.lab.example\tcn2\n' +
        '# gpu1: no IPv4 address yet\n' +
        '# spare: no IPv4 address yet\n',
    )
    expect(exportHosts(sampleDb('')).split('\n')[1]).toBe('198.18.0.11\tcn1')
    expect(exportHosts(sampleDb('.lab.example.')).split('\n')[1]).toBe('198.18.0.11\tcn1.lab.example\tcn1')
  })
  it('dnsmasq', () => {
    expect(exportDnsmasq(sampleDb())).toBe(
      '# Rackboot nodes, in rack order: include with conf-file= or drop into /etc/dnsmasq.d/\n' +
        'dhcp-host=52:54:00:00:00:01,52:54:00:00:01:01,198.18.0.11,cn1\n' +
        'dhcp-host=52:54:00:00:00:02,198.18.0.12,cn2\n' +
        'dhcp-host=52:54:00:00:00:03,gpu1\n' +
        '# spare: no MAC address yet\n',
    )
  })
  it('dhcpd', () => {
    expect(exportDhcpd(sampleDb())).toBe(
      `# Rackboot nodes, in rack order: include "<this file>"; from dhcpd.conf
host cn1 {
  hardware ethernet 52:54:00:00:00:01;
  fixed-address 198.18.0.11;
  option host-name "cn1";
}
host cn1-nic2 {
  hardware ethernet 52:54:00:00:01:01;
  fixed-address 198.18.0.11;
  option host-name "cn1";
}
host cn2 {
  hardware ethernet 52:54:00:00:00:02;
  fixed-address 198.18.0.12;
  option host-name "cn2";
}
host gpu1 {
  hardware ethernet 52:54:00:00:00:03;
  option host-name "gpu1";
}
# spare: no MAC address yet
`,
    )
  })
  it('dhcpd keeps declaration names unique when a node is called like a NIC declaration', () => {
    const db = sampleDb()
    db.nodes.push(nodeSchema.parse({ name: 'cn1-nic2', macs: ['52:54:00:00:00:09'] }))
    const names = [...exportDhcpd(db).matchAll(/^host (\S+) \{/gm)].map((m) => m[1])
    expect(new Set(names).size).toBe(names.length)
    expect(names).toContain('cn1-nic2-x')
  })
  it('ansible', () => {
    expect(exportAnsible(sampleDb())).toBe(`all:
  children:
    rack_r_a:
      hosts:
        cn1:
          ansible_host: 198.18.0.11
          rackboot_rack: r-a
          rackboot_slot: 1
          rackboot_macs:
            - "52:54:00:00:00:01"
            - "52:54:00:00:01:01"
        cn2:
          ansible_host: 198.18.0.12
          rackboot_rack: r-a
          rackboot_slot: 2
          rackboot_macs:
            - "52:54:00:00:00:02"
    rack_r2:
      hosts:
        gpu1:
          ansible_host: gpu1.lab.example
          rackboot_rack: r2
          rackboot_slot: 10
          rackboot_macs:
            - "52:54:00:00:00:03"
    unracked:
      hosts:
        spare:
          ansible_host: spare.lab.example
`)
  })
  it('the exporter table covers every format', () => {
    expect(Object.keys(exporters).sort()).toEqual(['ansible', 'csv', 'dhcpd', 'dnsmasq', 'hosts', 'json'])
  })
})

describe('exports parse back', () => {
  it('CSV parses back to the same rows, also with quotes, commas and newlines in fields', () => {
    const db = sampleDb()
    const tricky = db.nodes[0] as (typeof db.nodes)[0] & { serial?: string }
    tricky.serial = 'SN "7", batch\nB'
    const rows = parseCsv(exportCsv(db))
    expect(rows.ok).toBe(true)
    if (!rows.ok) return
    expect(rows.value.map((r) => r.fields)).toEqual([
      [...CSV_COLUMNS],
      ['r-a', '1', 'cn1', '52:54:00:00:00:01 52:54:00:00:01:01', '198.18.0.11', '', ''],
      ['r-a', '2', 'cn2', '52:54:00:00:00:02', '198.18.0.12', 'SN "7", batch\nB', ''],
      ['r2', '10', 'gpu1', '52:54:00:00:00:03', '', '', '10.0.1.3'],
      ['', '', 'spare', '', '', '', ''],
    ])
    expect(rows.value.map((r) => r.line)).toEqual([1, 2, 3, 5, 6])
  })

  it('csvField quotes per RFC 4180 §2.6–2.7', () => {
    expect(csvField('plain')).toBe('plain')
    expect(csvField('a,b')).toBe('"a,b"')
    expect(csvField('say "hi"')).toBe('"say ""hi"""')
    expect(csvField('two\r\nlines')).toBe('"two\r\nlines"')
    expect(csvField(' padded')).toBe('" padded"')
    expect(csvField('a;b', ';')).toBe('"a;b"')
  })

  it('parseCsv refuses broken quoting with the line', () => {
    expect(parseCsv('a,b\n"open,c\n')).toEqual({
      ok: false,
      error: { line: 2, message: 'a quoted field is never closed' },
    })
    expect(parseCsv('a,b"c\n')).toMatchObject({ ok: false, error: { line: 1 } })
    expect(parseCsv('"a"b\n')).toMatchObject({ ok: false, error: { line: 1 } })
  })

  it('the Ansible inventory is YAML with every host under its rack group', () => {
    const inv = parse(exportAnsible(sampleDb()))
    expect(Object.keys(inv.all.children)).toEqual(['rack_r_a', 'rack_r2', 'unracked'])
    expect(inv.all.children.rack_r_a.hosts.cn1.rackboot_macs).toEqual([
      '52:54:00:00:00:01',
      '52:54:00:00:01:01',
    ])
  })

  it('the JSON dump is the whole inventory and validates against the schema', () => {
    const db = sampleDb()
    const back = dbSchema.parse(JSON.parse(exportJson(db)))
    expect(back.nodes.map((n) => n.name)).toEqual(['cn1', 'cn2', 'gpu1', 'spare'])
    expect({ ...back, nodes: [] }).toEqual({ ...db, nodes: [] })
    expect([...back.nodes].sort((a, b) => (a.name < b.name ? -1 : 1))).toEqual(
      [...db.nodes].sort((a, b) => (a.name < b.name ? -1 : 1)),
    )
  })

  it('an empty inventory exports cleanly in every format', () => {
    const db = dbSchema.parse({ version: 1 })
    expect(exportCsv(db)).toBe('rack,slot,name,mac,ip,serial,bmc\r\n')
    expect(parse(exportAnsible(db))).toEqual({ all: { children: {} } })
    for (const f of Object.values(exporters)) expect(typeof f(db)).toBe('string')
  })
})

describe('real tools accept the exports', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rackboot-interop-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it.skipIf(missing({ commands: ['dnsmasq'] }) !== null)('dnsmasq --test accepts the dhcp-host lines', () => {
    const file = join(dir, 'hosts.conf')
    writeFileSync(file, exportDnsmasq(sampleDb()))
    const out = execFileSync('dnsmasq', ['--test', `--conf-file=${file}`], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    void out
    // And it would refuse a broken line, so the check above means something.
    writeFileSync(file, 'dhcp-host=52:54:00:00:00:0g,x\n')
    expect(() => execFileSync('dnsmasq', ['--test', `--conf-file=${file}`], { stdio: 'ignore' })).toThrow()
  })

  // Ansible reads inventories with PyYAML (YAML 1.1), where an unquoted MAC is a base-60 integer.
  it.skipIf(!hasPyYaml())("PyYAML (Ansible's reader) sees every MAC as a string", () => {
    const file = join(dir, 'inventory.yml')
    writeFileSync(file, exportAnsible(sampleDb()))
    const out = execFileSync(
      'python3',
      ['-c', 'import sys, json, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))', file],
      { encoding: 'utf8' },
    )
    expect(JSON.parse(out).all.children.rack_r_a.hosts.cn1.rackboot_macs).toEqual([
      '52:54:00:00:00:01',
      '52:54:00:00:01:01',
    ])
  })
})

/** python3 with PyYAML (Debian: python3-yaml, installed by .ci/install); under CI its absence fails. */
function hasPyYaml(): boolean {
  try {
    execFileSync('python3', ['-c', 'import yaml'], { stdio: 'ignore' })
    return true
  } catch {
    return missing({ files: ['python3 with the yaml module (python3-yaml)'] }) === null
  }
}
