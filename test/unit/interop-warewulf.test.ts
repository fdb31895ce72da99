import { describe, it, expect } from 'vitest'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import {
  importWarewulf,
  exportWarewulf,
  type WarewulfImport,
  type WarewulfVersion,
} from '../../electron/core/interop/warewulf'
import { writeWarewulfExport } from '../../electron/core/interop/write'
import { dbSchema, emptyDb, nodeSchema, type Db, type NodeInput } from '../../electron/core/inventory/schema'

const FIX = join(__dirname, '..', 'fixtures', 'warewulf')
const fixture = (f: string) => readFileSync(join(FIX, f), 'utf8')
const now = () => new Date('2026-01-01T00:00:00Z')

function imported(text: string, opts: Parameters<typeof importWarewulf>[1] = {}): WarewulfImport {
  const r = importWarewulf(text, { now, ...opts })
  if (!r.ok) throw new Error(`expected an import, got problems: ${JSON.stringify(r.error, null, 1)}`)
  return r.value
}
function problems(text: string, opts: Parameters<typeof importWarewulf>[1] = {}) {
  const r = importWarewulf(text, { now, ...opts })
  if (r.ok) throw new Error('expected problems, got an import')
  return r.error
}
const dbOf = (i: WarewulfImport, base: Db = emptyDb()): Db => ({ ...base, nodes: i.nodes, racks: i.racks })
const byName = (i: WarewulfImport, name: string) => i.nodes.find((n) => n.name === name)!

describe('importWarewulf on real Warewulf files', () => {
  it('v4.5 provision test: implicit default profile gives n1 and n3 the container', () => {
    const i = imported(fixture('v4.5-provision-test.nodes.conf'))
    expect(i.version).toBe('4.5')
    expect(i.nodes.map((n) => [n.name, n.image, n.macs])).toEqual([
      ['n1', 'suse', ['00:00:00:ff:ff:ff']],
      ['n2', 'none', ['00:00:00:00:ff:ff']],
      ['n3', 'suse', ['00:00:00:00:00:ff']],
    ])
    expect(i.extras.n3).toEqual({
      fields: { 'ipxe template': 'test', kernel: { override: '1.1.1' } },
      netdevs: [{ name: 'default', hasMac: true, fields: { device: 'net' } }],
      primary: 'default',
    })
  })

  it('v4.6 provision test: no implicit profile, so n3 has no image', () => {
    const i = imported(fixture('v4.6-provision-test.nodes.conf'))
    expect(i.version).toBe('4.6')
    expect(i.nodes.map((n) => [n.name, n.image])).toEqual([
      ['n1', 'suse'],
      ['n2', 'none'],
      ['n3', null],
    ])
    expect(i.extras.n2!.fields.tags).toEqual({ GrubMenuEntry: 'dracut' })
    expect(i.extras.n3!.fields.kernel).toEqual({ version: '1.1.1' })
  })

  it('v4.6 debug overlay: profile lists merged, primary MAC first, everything else kept', () => {
    const i = imported(fixture('v4.6-debug-overlay.nodes.conf'))
    const n1 = byName(i, 'node1')
    expect(n1.macs).toEqual(['e6:92:39:49:7b:03', '9a:77:29:73:14:f1', '9a:77:29:73:14:f8'])
    expect(n1.ipv4).toBe('192.168.3.21')
    expect(n1.image).toBe('rockylinux-9')
    expect(n1.kernelArgs).toBe('quiet crashkernel=no vga=791 net.naming-scheme=v238')
    expect(n1.overlays.runtime).toEqual(['hosts', 'ssh.authorized_keys', 'syncuser'])
    expect(n1.overlays.system[0]).toBe('wwinit')
    expect(n1.state).toBe('captured')
    const x = i.extras.node1!
    // Address and user are the node's BMC; the rest of ipmi (password, write, …) stays passthrough.
    expect(n1.bmc).toEqual({ ipv4: '192.168.4.21', user: 'user' })
    expect(x.fields.ipmi).toMatchObject({ write: 'true' })
    expect(x.fields.ipmi).not.toHaveProperty('ipaddr')
    expect(Object.keys(x.fields)).toEqual(['init', 'root', 'ipxe template', 'ipmi', 'disks', 'filesystems'])
    expect(x.netdevs.map((d) => d.name)).toEqual(['default', 'secondary', 'tertiary'])
    expect(x.netdevs[1]!.fields).toMatchObject({ ipaddr: '192.168.3.22', tags: { DNS1: '8.8.8.8' } })
    expect(x.netdevs[2]!.fields).toMatchObject({ ipaddr6: '2001:db8::3', prefixlen6: '64' })
  })

  it('v4.5 upgraded 4.3 file: string booleans, netdev `default: "true"`, overlays from the implicit profile', () => {
    const i = imported(fixture('v4.5-update-configuration-vers43.nodes.conf'))
    const n = byName(i, 'node01')
    expect(n).toMatchObject({ ipv4: '1.2.3.4', discoverable: true, macs: [], state: 'planned' })
    expect(n.overlays).toEqual({ system: ['nodeoverlay'], runtime: ['generic'] })
    expect(i.extras.node01!.primary).toBe('eth0')
    expect(i.extras.node01!.netdevs[0]!.fields).toEqual({ device: 'eth0' })
  })

  it('wicked vlan file: `primary network` picks the device, devices without hwaddr are kept', () => {
    const i = imported(fixture('v4.6-wicked-vlan.nodes.conf'))
    expect(i.extras.node1!.primary).toBe('untagged')
    expect(i.extras.node1!.netdevs.map((d) => [d.name, d.hasMac])).toEqual([
      ['untagged', false],
      ['tagged', false],
    ])
    expect(i.extras.node1!.netdevs[1]!.fields.tags).toMatchObject({ vlan_id: '902' })
  })

  it('the docs example for `wwctl node import` (a bare node map) imports, with its stray key reported', () => {
    const i = imported(fixture('v4.6-userdocs-node-import.yaml'))
    expect(byName(i, 'n1')).toMatchObject({
      macs: ['00:00:00:00:00:01'],
      ipv4: '10.0.2.1',
      kernelArgs: 'quiet crashkernel=no nosplash console=ttyS0,115200',
    })
    expect(i.warnings).toEqual([
      expect.stringMatching(/'network devices\.default\.DNS1' \(line 21\) is not a Warewulf key; kept/),
      expect.stringMatching(/profile 'default' is not defined .* not merged here/),
    ])
    expect(i.extras.n1!.netdevs[0]!.fields.DNS1).toBe('1.1.1.1')
  })

  it('names Rackboot cannot use are problems with their lines (v4.5 util test)', () => {
    expect(problems(fixture('v4.5-util-test.nodes.conf'))).toEqual([
      {
        line: 5,
        node: 'test_node',
        message: expect.stringContaining("node name 'test_node' is not a host name"),
      },
      { line: 25, node: 'test_node_IPv6', message: expect.stringContaining("'test_node_IPv6'") },
    ])
  })
})

const ROUND_TRIP = [
  'v4.5-provision-test.nodes.conf',
  'v4.5-update-configuration-vers43.nodes.conf',
  'v4.6-debug-overlay.nodes.conf',
  'v4.6-provision-test.nodes.conf',
  'v4.6-wicked-vlan.nodes.conf',
  'v4.6-userdocs-node-import.yaml',
]

describe('round trip import → export → import', () => {
  for (const f of ROUND_TRIP)
    for (const version of ['4.5', '4.6'] as WarewulfVersion[])
      it(`${f} through a ${version} export is identical`, () => {
        const first = imported(fixture(f))
        const text = exportWarewulf(dbOf(first), { version, extras: first.extras })
        const second = imported(text)
        // A 4.6 file has no marker; when nothing in it tells, the reader applies 4.6 rules anyway.
        expect([version, null]).toContain(second.version)
        expect(second.nodes).toEqual(first.nodes)
        expect(second.racks).toEqual(first.racks)
        expect(second.extras).toEqual(first.extras)
        const unlined = (ws: string[]) => ws.map((w) => w.replace(/ \(line \d+\)/, ''))
        expect(unlined(second.warnings).filter((w) => !unlined(first.warnings).includes(w))).toEqual([])
        // And the text is a fixed point from there on.
        expect(exportWarewulf(dbOf(second), { version, extras: second.extras })).toBe(text)
      })
})

function ownDb(): Db {
  const node = (n: NodeInput) => nodeSchema.parse({ createdAt: 'x', updatedAt: 'x', ...n })
  return dbSchema.parse({
    version: 1,
    settings: { subnet: '198.18.0.0/24', gateway: '198.18.0.1', domain: 'lab.example' },
    racks: [
      { name: 'r1', heightU: 42 },
      { name: 'r2', heightU: 48 },
    ],
    images: [{ name: 'rocky-9', kind: 'oci' }],
    nodes: [
      node({
        name: 'c2',
        rack: 'r1',
        slot: 2,
        macs: ['52:54:00:00:00:02'],
        ipv4: '198.18.0.12',
        image: 'rocky-9',
        kernelArgs: 'quiet console=ttyS0,115200 rd.debug',
      }),
      node({
        name: 'c1',
        rack: 'r1',
        slot: 1,
        macs: ['52:54:00:00:00:01', '52:54:00:00:01:01'],
        ipv4: '198.18.0.11',
        image: 'rocky-9',
        kernelArgs: 'quiet console=ttyS0,115200',
        overlays: { system: ['wwinit'], runtime: ['hosts'] },
        discoverable: true,
        assetKey: 'A-17',
        bmc: { ipv4: '198.18.1.11', user: 'admin' },
      }),
      node({
        name: 'big',
        rack: 'r2',
        slot: 46,
        heightU: 2,
        macs: ['52:54:00:00:00:03'],
        ipv4: '198.18.0.13',
        kernelArgs: 'quiet console=ttyS0,115200 opt="a b"',
      }),
      node({ name: 'spare', kernelArgs: 'quiet console=ttyS0,115200' }),
    ],
  })
}
const essentials = (db: Db) =>
  [...db.nodes]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    // `extra` is the Warewulf passthrough an import adds; a Rackboot-made node has none.
    .map(({ createdAt: _c, updatedAt: _u, state: _s, extra: _e, ...rest }) => rest)

describe('exportWarewulf of a Rackboot inventory', () => {
  it('4.6: image name, kernel args as a list split between profile and node, placement tags', () => {
    const doc = parse(exportWarewulf(ownDb(), { version: '4.6' }))
    expect(Object.keys(doc)).toEqual(['nodeprofiles', 'nodes'])
    expect(doc.nodeprofiles.default.kernel.args).toEqual(['quiet', 'console=ttyS0,115200'])
    expect(doc.nodeprofiles.default['network devices']).toEqual({
      default: { netmask: '255.255.255.0', gateway: '198.18.0.1' },
    })
    // Rack order: r1 slot 1, r1 slot 2, r2, then the unplaced node.
    expect(Object.keys(doc.nodes)).toEqual(['c1', 'c2', 'big', 'spare'])
    expect(doc.nodes.c1).toEqual({
      profiles: ['default'],
      'image name': 'rocky-9',
      'system overlay': ['wwinit'],
      'runtime overlay': ['hosts'],
      'network devices': {
        default: { hwaddr: '52:54:00:00:00:01', ipaddr: '198.18.0.11' },
        net1: { hwaddr: '52:54:00:00:01:01' },
      },
      'primary network': 'default',
      tags: { rack: 'r1', slot: '1' },
      ipmi: { ipaddr: '198.18.1.11', username: 'admin' },
      'asset key': 'A-17',
      discoverable: 'true',
    })
    expect(doc.nodes.c2.kernel).toEqual({ args: ['rd.debug'] })
    expect(doc.nodes.big.kernel).toEqual({ args: ['opt="a b"'] })
    expect(doc.nodes.big.tags).toEqual({ rack: 'r2', slot: '46', height: '2' })
    expect(doc.nodes.spare).toEqual({ profiles: ['default'] })
  })

  it('4.5: WW_INTERNAL 45, container name, kernel args as one string per node when they differ', () => {
    const text = exportWarewulf(ownDb(), { version: '4.5', profile: 'rackboot' })
    const doc = parse(text)
    expect(doc.WW_INTERNAL).toBe(45)
    expect(doc.nodeprofiles.rackboot.kernel).toBeUndefined()
    expect(doc.nodes.c1.profiles).toEqual(['rackboot'])
    expect(doc.nodes.c1['container name']).toBe('rocky-9')
    expect(doc.nodes.c1['image name']).toBeUndefined()
    expect(doc.nodes.c2.kernel).toEqual({ args: 'quiet console=ttyS0,115200 rd.debug' })
    // MACs are quoted: yaml.v2 reads YAML 1.1, where digit groups with colons can be base-60 numbers.
    expect(text).toContain('hwaddr: "52:54:00:00:00:01"')
  })

  it('4.5 puts shared kernel args on the profile only when every node agrees', () => {
    const db = ownDb()
    for (const n of db.nodes) n.kernelArgs = 'quiet'
    const doc = parse(exportWarewulf(db, { version: '4.5' }))
    expect(doc.nodeprofiles.default.kernel).toEqual({ args: 'quiet' })
    expect(doc.nodes.c1.kernel).toBeUndefined()
  })

  for (const version of ['4.5', '4.6'] as WarewulfVersion[])
    it(`${version}: importing the export gives back the same nodes and racks`, () => {
      const db = ownDb()
      const back = imported(exportWarewulf(db, { version }), { subnet: db.settings.subnet })
      expect(essentials(dbOf(back))).toEqual(essentials(db))
      expect(back.nodes.map((n) => n.name)).toEqual(['c1', 'c2', 'big', 'spare'])
      expect(back.racks.map((r) => [r.name, r.heightU])).toEqual([
        ['r1', 42],
        ['r2', 47],
      ])
      // Netmask and gateway came from the profile: kept per device, and stable from here on.
      expect(back.extras.c1!.netdevs[0]!.fields).toEqual({ netmask: '255.255.255.0', gateway: '198.18.0.1' })
      const again = imported(exportWarewulf(dbOf(back, db), { version, extras: back.extras }))
      expect(again.nodes).toEqual(back.nodes)
      expect(again.extras).toEqual(back.extras)
    })

  it('a MAC captured after import lands on the saved primary device', () => {
    const first = imported(fixture('v4.6-wicked-vlan.nodes.conf'))
    const db = dbOf(first)
    db.nodes[0]!.macs = ['52:54:00:aa:bb:cc']
    const doc = parse(exportWarewulf(db, { version: '4.6', extras: first.extras }))
    expect(doc.nodes.node1['network devices'].untagged.hwaddr).toBe('52:54:00:aa:bb:cc')
    expect(doc.nodes.node1['network devices'].tagged.hwaddr).toBeUndefined()
  })

  it('ipmi: address and user become the BMC, the password stays passthrough and goes back out', () => {
    const text = [
      'nodes:',
      '  n1:',
      '    ipmi:',
      '      ipaddr: 10.0.0.5',
      '      username: root',
      '      password: calvin',
      '      interface: lanplus',
    ].join('\n')
    const first = imported(text)
    expect(byName(first, 'n1').bmc).toEqual({ ipv4: '10.0.0.5', user: 'root' })
    expect(first.extras.n1!.fields.ipmi).toEqual({ password: 'calvin', interface: 'lanplus' })
    const db = dbOf(first)
    db.nodes[0]!.bmc = { ipv4: '10.0.0.6', user: 'root' }
    const doc = parse(exportWarewulf(db, { version: '4.6', extras: first.extras }))
    expect(doc.nodes.n1.ipmi).toEqual({
      password: 'calvin',
      interface: 'lanplus',
      ipaddr: '10.0.0.6',
      username: 'root',
    })
  })

  it('an empty inventory is a valid nodes.conf', () => {
    expect(parse(exportWarewulf(emptyDb(), { version: '4.6' }))).toEqual({
      nodeprofiles: { default: {} },
      nodes: {},
    })
  })
})

describe('Warewulf merge rules', () => {
  it('scalars: later profile beats earlier, node beats profiles; lists append; ~x removes', () => {
    const i = imported(`
nodeprofiles:
  base:
    image name: one
    system overlay: [wwinit, wwclient]
    tags: {site: a, rack: r9}
  gpu:
    profiles: [base]
    image name: two
    system overlay: [nvidia]
    kernel: {args: [quiet]}
nodes:
  n1:
    profiles: [gpu]
    system overlay: [~wwclient, mine]
    kernel: {args: [nomodeset]}
    tags: {slot: "4"}
  n2:
    profiles: [gpu, ~base]
    image name: three
`)
    const n1 = byName(i, 'n1')
    expect(n1.image).toBe('two')
    expect(n1.overlays.system).toEqual(['wwinit', 'nvidia', 'mine'])
    expect(n1.kernelArgs).toBe('quiet nomodeset')
    expect([n1.rack, n1.slot]).toEqual(['r9', 4])
    expect(i.extras.n1!.fields.tags).toEqual({ site: 'a' })
    const n2 = byName(i, 'n2')
    expect(n2.image).toBe('three')
    expect(n2.overlays.system).toEqual(['nvidia'])
    expect(n2.rack).toBeNull()
  })

  it('4.5 kernel args are a string the node replaces; legacy top-level keys are read', () => {
    const i = imported(`
WW_INTERNAL: 45
nodeprofiles:
  default:
    kernel: {args: quiet splash}
    keys: {foo: bar}
nodes:
  a: {}
  b:
    kernel args: console=ttyS0
    ipmi username: admin
`)
    expect(byName(i, 'a').kernelArgs).toBe('quiet splash')
    expect(byName(i, 'b').kernelArgs).toBe('console=ttyS0')
    expect(i.extras.b!.fields).toEqual({ tags: { foo: 'bar' } })
    expect(byName(i, 'b').bmc).toEqual({ ipv4: null, user: 'admin' })
  })

  it('profile network devices merge into the node device of the same name', () => {
    const i = imported(`
nodeprofiles:
  p: {network devices: {default: {netmask: 255.255.0.0, mtu: 9000}}}
nodes:
  n: {profiles: [p], network devices: {default: {hwaddr: 52-54-00-AA-BB-01, ipaddr: 10.1.2.3, mtu: 1500}}}
`)
    expect(byName(i, 'n')).toMatchObject({ macs: ['52:54:00:aa:bb:01'], ipv4: '10.1.2.3' })
    expect(i.extras.n!.netdevs[0]!.fields).toEqual({ netmask: '255.255.0.0', mtu: '1500' })
  })

  it('keeps scalar text exactly as written (failsafe reading, like Go string fields)', () => {
    const i = imported(`nodes:\n  n:\n    comment: 1.10\n    tags: {octal: 0755, yes: yes}\n`)
    expect(i.extras.n!.fields).toEqual({ comment: '1.10', tags: { octal: '0755', yes: 'yes' } })
  })
})

describe('importWarewulf problems: all listed, nothing applied', () => {
  it('invalid YAML names its line', () => {
    const p = problems('nodes:\n  n1:\n    comment: [unclosed\n  n2: {}\n')
    expect(p.length).toBeGreaterThan(0)
    expect(p[0]!.line).toBeGreaterThanOrEqual(3)
    expect(p[0]!.message).toMatch(/^invalid YAML/)
  })

  it('a duplicate key is invalid YAML (Go yaml.v3 refuses it too)', () => {
    const p = problems('nodes:\n  n1: {}\n  n1: {}\n')
    expect(p).toEqual([{ line: 3, node: null, message: expect.stringMatching(/invalid YAML.*unique/i) }])
  })

  it('lists every duplicate MAC and IPv4 across nodes with node and line', () => {
    const p = problems(`nodes:
  a:
    network devices:
      default: {hwaddr: "52:54:00:00:00:01", ipaddr: 198.18.0.10}
  b:
    network devices:
      default: {hwaddr: 52:54:00:00:00:01, ipaddr: 198.18.0.10}
  c:
    network devices:
      eth0: {hwaddr: 52:54:00:00:00:01}
      ib0: {ipaddr: 198.18.0.10}
`)
    expect(p).toEqual([
      {
        line: 7,
        node: 'b',
        message: "MAC 52:54:00:00:00:01 (device 'default') is also on node 'a' (line 4)",
      },
      { line: 7, node: 'b', message: "IPv4 198.18.0.10 (device 'default') is also on node 'a' (line 4)" },
      { line: 10, node: 'c', message: "MAC 52:54:00:00:00:01 (device 'eth0') is also on node 'a' (line 4)" },
      { line: 11, node: 'c', message: "IPv4 198.18.0.10 (device 'ib0') is also on node 'a' (line 4)" },
    ])
  })

  it('IPv4 outside the given subnet, bad MAC, bad slot and a slot taken twice', () => {
    const p = problems(
      `nodes:
  a:
    network devices: {default: {hwaddr: "52:54:00:00:00:01", ipaddr: 10.0.0.5}}
    tags: {rack: r1, slot: "3"}
  b:
    network devices: {default: {hwaddr: "52:54:00:zz:00:02"}}
    tags: {rack: r1, slot: "3"}
  c:
    tags: {rack: r1, slot: "61"}
`,
      { subnet: '198.18.0.0/24' },
    )
    expect(p.map((x) => [x.line, x.node, x.message.replace(/'.*?'/, "'…'")])).toEqual([
      [3, 'a', 'IPv4 10.0.0.5 is outside the subnet 198.18.0.0/24'],
      [6, 'b', expect.stringContaining("device '…': '52:54:00:zz:00:02' is not a MAC")],
      [7, 'b', "rack '…' slot 3 is also taken by node 'a'"],
      [9, 'c', "tag slot '…' is not a slot number 1..60"],
    ])
  })

  it('a profile that does not exist is a problem at the line naming it, also when nested', () => {
    const p = problems(`nodeprofiles:
  gpu:
    profiles: [basis]
nodes:
  n1:
    profiles:
      - default
      - gpu
`)
    expect(p).toEqual([
      {
        line: 3,
        node: 'n1',
        message: "profile 'basis' (named by profile 'gpu') is not defined in nodeprofiles",
      },
      { line: 7, node: 'n1', message: "profile 'default' is not defined in nodeprofiles" },
    ])
  })

  it('wrong shapes are problems, unknown keys are warnings kept in the passthrough', () => {
    expect(problems('nodes:\n  n1: 5\n  n2:\n    network devices: [a]\n')).toEqual([
      { line: 2, node: 'n1', message: "node 'n1' must be a map of settings" },
      { line: 4, node: 'n2', message: "'network devices' must be a map" },
    ])
    const i = imported('nodes:\n  n1:\n    colour: blue\n    kernel: {args: [quiet], flavour: rt}\n')
    expect(i.warnings).toEqual([
      "node 'n1': key 'colour' (line 3) is not a Warewulf key; kept as is",
      "node 'n1': key 'kernel.flavour' (line 4) is not a Warewulf key; kept as is",
    ])
    expect(i.extras.n1!.fields).toEqual({ colour: 'blue', kernel: { flavour: 'rt' } })
    const doc = parse(exportWarewulf(dbOf(i), { version: '4.6', extras: i.extras }))
    expect(doc.nodes.n1.colour).toBe('blue')
    expect(doc.nodes.n1.kernel).toEqual({ flavour: 'rt' })
    expect(doc.nodeprofiles.default.kernel).toEqual({ args: ['quiet'] })
  })

  it('not a map, and an empty file, are problems', () => {
    expect(problems('- a\n- b\n')[0]!.message).toMatch(/expected a YAML map/)
    expect(problems('')[0]!.message).toMatch(/expected a YAML map/)
  })

  it('a YAML alias bomb stops with a problem instead of eating memory', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]']
    for (let k = 1; k < 9; k++)
      lines.push(
        `a${k}: &a${k} [${Array(10)
          .fill(`*a${k - 1}`)
          .join(', ')}]`,
      )
    const p = problems(lines.join('\n') + '\nnodes: {}\n')
    expect(p[0]!.message).toMatch(/too many values|alias/i)
  })

  it('images Rackboot does not know give a warning', () => {
    const i = imported('nodes:\n  n1: {image name: rocky}\n', { images: ['alma'] })
    expect(i.warnings).toEqual([expect.stringContaining("image 'rocky' is not among Rackboot's images")])
  })
})

describe('reading the export like Warewulf 4.5 does (YAML 1.1)', () => {
  // gopkg.in/yaml.v2 and PyYAML both read YAML 1.1, where an unquoted 52:54:00:00:00:01 is a base-60 number.
  it.skipIf(!hasPyYaml())('every hwaddr and tag stays a string under a YAML 1.1 reader', () => {
    const text = exportWarewulf(ownDb(), { version: '4.5' })
    const out = execFileSync(
      'python3',
      ['-c', 'import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin.read())))'],
      { input: text, encoding: 'utf8' },
    )
    const doc = JSON.parse(out)
    expect(doc.nodes.c1['network devices'].default.hwaddr).toBe('52:54:00:00:00:01')
    expect(doc.nodes.c1.discoverable).toBe('true')
    expect(doc.nodes.c1.tags.slot).toBe('1')
  })
})

describe('writeWarewulfExport', () => {
  it('writes DIR/nodes.conf, creating DIR, and replaces an old one whole', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rackboot-ww-'))
    try {
      const dir = join(root, 'etc', 'warewulf')
      const file = await writeWarewulfExport(dir, 'nodes: {}\n')
      expect(file).toBe(join(dir, 'nodes.conf'))
      await writeWarewulfExport(dir, exportWarewulf(ownDb(), { version: '4.6' }))
      expect(imported(readFileSync(file, 'utf8')).nodes).toHaveLength(4)
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })
})

function hasPyYaml(): boolean {
  try {
    execFileSync('python3', ['-c', 'import yaml'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}
