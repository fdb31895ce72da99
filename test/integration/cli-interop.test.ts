import { describe, it, expect } from 'vitest'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cliScratch, rackboot, serve } from '../support/cli'

const { tmp, keep } = cliScratch('rackboot-interop-')

const FIX = join(__dirname, '..', 'fixtures', 'warewulf')

type Listed = Record<string, unknown> & {
  name: string
  macs: string[]
  rack: string | null
  slot: number | null
}

function ok(args: string[]): string {
  const r = rackboot(args)
  if (r.status !== 0) throw new Error(`rackboot ${args.join(' ')} exited ${r.status}:\n${r.stderr}`)
  return r.stdout
}
function listNodes(dataDir: string): Listed[] {
  return JSON.parse(ok(['nodes', 'list', '--json', '--data-dir', dataDir])) as Listed[]
}
/** What an import decides; the clock is not. */
const withoutTimes = (nodes: Listed[]) => nodes.map(({ createdAt: _c, updatedAt: _u, ...rest }) => rest)
const dbBytes = (dataDir: string) => readFileSync(join(dataDir, 'db.json'))

/** A data dir holding rack r1 with four planned nodes c01..c04 in slots 1..4 (no MACs), via a Warewulf map. */
function plannedRack(): { dataDir: string; dir: string } {
  const dir = tmp()
  const dataDir = join(dir, 'data')
  const conf = ['nodes:']
  for (let i = 1; i <= 4; i++)
    conf.push(
      `  c0${i}:`,
      `    tags: {rack: r1, slot: "${i}"}`,
      `    network devices: {default: {ipaddr: 198.18.0.1${i}}}`,
    )
  writeFileSync(join(dir, 'plan.conf'), conf.join('\n') + '\n')
  ok(['import', 'warewulf', join(dir, 'plan.conf'), '--data-dir', dataDir])
  return { dataDir, dir }
}

describe('rackboot import/export warewulf round trip', () => {
  const cases: [string, '4.5' | '4.6'][] = [
    ['v4.6-debug-overlay.nodes.conf', '4.6'],
    ['v4.6-debug-overlay.nodes.conf', '4.5'],
    ['v4.5-update-configuration-vers43.nodes.conf', '4.6'],
    ['v4.6-wicked-vlan.nodes.conf', '4.5'],
  ]
  for (const [fixture, version] of cases)
    it(`${fixture} → export ${version} → import into a fresh dir gives the same nodes`, () => {
      const dir = tmp()
      const a = join(dir, 'a')
      const imported = rackboot(['import', 'warewulf', join(FIX, fixture), '--data-dir', a])
      expect(imported.status, imported.stderr).toBe(0)
      expect(imported.stdout).toMatch(/^imported \d+ nodes? \(/)
      const first = listNodes(a)
      expect(first.length).toBeGreaterThan(0)

      const out = join(dir, 'out')
      const exported = rackboot(['export', 'warewulf', '--out', out, '--version', version, '--data-dir', a])
      expect(exported.status, exported.stderr).toBe(0)
      const conf = readFileSync(join(out, 'nodes.conf'), 'utf8')
      expect(conf.includes('WW_INTERNAL: 45')).toBe(version === '4.5')

      // Both hand-off files read back to the same node list (the bare map loses no node setting either).
      for (const [name, file] of [
        ['b', 'nodes.conf'],
        ['c', 'nodes.import.yaml'],
      ] as const) {
        const again = rackboot(['import', 'warewulf', join(out, file), '--data-dir', join(dir, name)])
        expect(again.status, again.stderr).toBe(0)
        expect(withoutTimes(listNodes(join(dir, name)))).toEqual(withoutTimes(first))
      }
    })

  it('README.md names the wwctl steps and the images it could not export', () => {
    const dir = tmp()
    ok(['import', 'warewulf', join(FIX, 'v4.6-debug-overlay.nodes.conf'), '--data-dir', join(dir, 'a')])
    ok(['export', 'warewulf', '--out', join(dir, 'out'), '--data-dir', join(dir, 'a')])
    const readme = readFileSync(join(dir, 'out', 'README.md'), 'utf8')
    for (const step of [
      'wwctl node import nodes.import.yaml',
      '/etc/warewulf/nodes.conf',
      'wwctl overlay build',
      'wwctl configure --all',
      'Rackboot does not have this image',
    ])
      expect(readme).toContain(step)
  })

  it('keeps an image Rackboot does not have out of the node, warns, and still hands it back to Warewulf', () => {
    const dir = tmp()
    const r = rackboot(['import', 'warewulf', join(FIX, 'v4.6-debug-overlay.nodes.conf'), '--data-dir', dir])
    expect(r.status).toBe(0)
    expect(r.stderr).toContain("image 'rockylinux-9' is not among Rackboot's images")
    expect(listNodes(dir).find((n) => n.name === 'node1')!.image).toBeNull()
    ok(['export', 'warewulf', '--out', join(dir, 'out'), '--data-dir', dir])
    expect(readFileSync(join(dir, 'out', 'nodes.conf'), 'utf8')).toContain('image name: rockylinux-9')
  })
})

describe('rackboot import warewulf refusals', () => {
  function seeded(): { dataDir: string; dir: string; before: Buffer } {
    const dir = tmp()
    const dataDir = join(dir, 'data')
    ok(['nodes', 'add', 'old1', '--mac', '52:54:00:00:00:09', '--ip', '198.18.0.9', '--data-dir', dataDir])
    return { dataDir, dir, before: dbBytes(dataDir) }
  }

  it('invalid YAML: exit 1, the line named, db.json byte-identical', () => {
    const { dataDir, dir, before } = seeded()
    writeFileSync(join(dir, 'bad.conf'), 'nodes:\n  n1:\n    tags: {rack: r1\n  n2: {}\n')
    const r = rackboot(['import', 'warewulf', join(dir, 'bad.conf'), '--data-dir', dataDir])
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/not imported, nothing was saved/)
    expect(r.stderr).toMatch(/line \d+/)
    expect(dbBytes(dataDir).equals(before)).toBe(true)
  })

  it('duplicate MACs and a taken slot inside the file: exit 1, every problem with line and node', () => {
    const { dataDir, dir, before } = seeded()
    writeFileSync(
      join(dir, 'dup.conf'),
      [
        'nodes:',
        '  n1:',
        '    network devices: {default: {hwaddr: "52:54:00:00:00:01"}}',
        '    tags: {rack: r1, slot: "5"}',
        '  n2:',
        '    network devices: {default: {hwaddr: "52:54:00:00:00:01"}}',
        '  n3:',
        '    network devices: {default: {hwaddr: "52:54:00:00:00:03"}, eth1: {hwaddr: "52:54:00:00:00:01"}}',
        '    tags: {rack: r1, slot: "5"}',
        '',
      ].join('\n'),
    )
    const r = rackboot(['import', 'warewulf', join(dir, 'dup.conf'), '--data-dir', dataDir])
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('3 problems')
    expect(r.stderr).toMatch(/line 6, node 'n2': MAC 52:54:00:00:00:01 .*also on node 'n1' \(line 3\)/)
    expect(r.stderr).toMatch(/line 8, node 'n3': MAC 52:54:00:00:00:01 .*also on node 'n1'/)
    expect(r.stderr).toMatch(/node 'n3': rack 'r1' slot 5 is also taken by node 'n1'/)
    expect(dbBytes(dataDir).equals(before)).toBe(true)
  })

  it('conflicts with the inventory (name, MAC, IPv4) are all listed; --replace replaces the same name only', () => {
    const { dataDir, dir, before } = seeded()
    writeFileSync(
      join(dir, 'clash.conf'),
      [
        'nodes:',
        '  old1:',
        '    network devices: {default: {hwaddr: "52:54:00:00:00:21"}}',
        '  new1:',
        '    network devices: {default: {hwaddr: "52:54:00:00:00:09"}}',
        '  new2:',
        '    network devices: {default: {hwaddr: "52:54:00:00:00:22", ipaddr: 198.18.0.9}}',
        '',
      ].join('\n'),
    )
    const r = rackboot(['import', 'warewulf', join(dir, 'clash.conf'), '--data-dir', dataDir])
    expect(r.status).toBe(1)
    expect(r.stderr).toContain("node 'old1' already exists")
    expect(r.stderr).toContain("node 'new1': MAC 52:54:00:00:00:09 already belongs to node 'old1'")
    expect(r.stderr).toContain("node 'new2': IPv4 198.18.0.9 already belongs to node 'old1'")
    expect(dbBytes(dataDir).equals(before)).toBe(true)

    // Replacing old1 takes its MAC and IPv4 away, so new1 and new2 fit; a dry run still saves nothing.
    const dry = rackboot([
      'import',
      'warewulf',
      join(dir, 'clash.conf'),
      '--replace',
      '--dry-run',
      '--data-dir',
      dataDir,
    ])
    expect(dry.status, dry.stderr).toBe(0)
    expect(dry.stdout).toContain('dry run, nothing saved: would import 3 nodes')
    expect(dry.stdout).toContain('would replace 1 node(s): old1')
    expect(dbBytes(dataDir).equals(before)).toBe(true)
    ok(['import', 'warewulf', join(dir, 'clash.conf'), '--replace', '--data-dir', dataDir])
    expect(listNodes(dataDir).map((n) => [n.name, n.macs])).toEqual([
      ['new1', ['52:54:00:00:00:09']],
      ['new2', ['52:54:00:00:00:22']],
      ['old1', ['52:54:00:00:00:21']],
    ])
  })
})

describe('rackboot export text formats', () => {
  it('csv, hosts and dnsmasq go to stdout in rack order; --out writes a file', () => {
    const { dataDir, dir } = plannedRack()
    ok([
      'import',
      'macs',
      writeList(dir, ['52:54:00:aa:00:01', '52:54:00:aa:00:02', '52:54:00:aa:00:03', '52:54:00:aa:00:04']),
      '--data-dir',
      dataDir,
    ])
    expect(ok(['export', 'csv', '--data-dir', dataDir])).toBe(
      [
        'rack,slot,name,mac,ip,serial,bmc',
        'r1,1,c01,52:54:00:aa:00:01,198.18.0.11,,',
        'r1,2,c02,52:54:00:aa:00:02,198.18.0.12,,',
        'r1,3,c03,52:54:00:aa:00:03,198.18.0.13,,',
        'r1,4,c04,52:54:00:aa:00:04,198.18.0.14,,',
        '',
      ].join('\r\n'),
    )
    const hosts = ok(['export', 'hosts', '--data-dir', dataDir]).split('\n')
    expect(hosts.slice(1, 3)).toEqual(['198.18.0.11\tc01', '198.18.0.12\tc02'])
    const dnsmasq = ok(['export', 'dnsmasq', '--data-dir', dataDir])
    expect(dnsmasq).toContain('dhcp-host=52:54:00:aa:00:01,198.18.0.11,c01\n')
    const file = join(dir, 'sub', 'dnsmasq.conf')
    const written = rackboot(['export', 'dnsmasq', '--out', file, '--data-dir', dataDir])
    expect(written.status).toBe(0)
    expect(written.stdout).toBe('')
    expect(readFileSync(file, 'utf8')).toBe(dnsmasq)
  })
})

function writeList(dir: string, lines: string[], name = 'macs.txt'): string {
  const file = join(dir, name)
  writeFileSync(file, lines.join('\n') + '\n')
  return file
}

describe('rackboot import macs', () => {
  it('a garbage line, a duplicate or a count mismatch refuses the list and saves nothing', () => {
    const { dataDir, dir } = plannedRack()
    const before = dbBytes(dataDir)
    const list = writeList(dir, ['52:54:00:aa:00:01', 'not-a-mac', '52:54:00:aa:00:02', '52:54:00:aa:00:01'])
    const r = rackboot(['import', 'macs', list, '--data-dir', dataDir])
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('MAC list refused, nothing was saved: 3 problems')
    expect(r.stderr).toContain("line 2: 'not-a-mac' is not a MAC address")
    expect(r.stderr).toContain('line 4: MAC 52:54:00:aa:00:01 is already on line 1')
    expect(r.stderr).toContain('the list has 2 MAC addresses but 4 empty slots are planned')
    expect(dbBytes(dataDir).equals(before)).toBe(true)
    expect(listNodes(dataDir).every((n) => n.macs.length === 0)).toBe(true)
  })

  it('a good list fills the empty slots in rack order (dry run first), with serials from a CSV', () => {
    const { dataDir, dir } = plannedRack()
    const before = dbBytes(dataDir)
    const list = writeList(
      dir,
      [
        'Serial;MAC address;BMC MAC',
        'SN-A;5254.00aa.0011;52:54:00:bb:00:11',
        'SN-B;52-54-00-AA-00-12;',
        'SN-C;525400aa0013;',
        'SN-D;52:54:00:aa:00:14;',
      ],
      'vendor.csv',
    )
    const dry = rackboot(['import', 'macs', list, '--dry-run', '--data-dir', dataDir])
    expect(dry.status, dry.stderr).toBe(0)
    expect(dry.stdout).toContain('dry run, nothing saved: would assign 4 MACs')
    expect(dbBytes(dataDir).equals(before)).toBe(true)

    const r = rackboot(['import', 'macs', list, '--data-dir', dataDir])
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toContain('assigned 4 MACs; 0 empty planned slot(s) left')
    expect(listNodes(dataDir).map((n) => [n.rack, n.slot, n.name, n.macs, n.serial, n.state])).toEqual([
      ['r1', 1, 'c01', ['52:54:00:aa:00:11'], 'SN-A', 'captured'],
      ['r1', 2, 'c02', ['52:54:00:aa:00:12'], 'SN-B', 'captured'],
      ['r1', 3, 'c03', ['52:54:00:aa:00:13'], 'SN-C', 'captured'],
      ['r1', 4, 'c04', ['52:54:00:aa:00:14'], 'SN-D', 'captured'],
    ])
    // The same list again: every MAC is known now, so it is refused whole.
    const again = rackboot(['import', 'macs', list, '--data-dir', dataDir])
    expect(again.status).toBe(1)
    expect(again.stderr).toContain("line 2: MAC 52:54:00:aa:00:11 already belongs to node 'c01'")
  })

  it('--force assigns what matched and lists the rest', () => {
    const { dataDir, dir } = plannedRack()
    const list = writeList(dir, ['52:54:00:aa:00:21', 'garbage', '52:54:00:aa:00:22'])
    const r = rackboot(['import', 'macs', list, '--force', '--data-dir', dataDir])
    expect(r.status, r.stderr).toBe(0)
    expect(r.stderr).toContain("warning: line 2: 'garbage' is not a MAC address")
    expect(r.stdout).toContain('assigned 2 MACs; 2 empty planned slot(s) left')
    expect(listNodes(dataDir).map((n) => n.macs)).toEqual([
      ['52:54:00:aa:00:21'],
      ['52:54:00:aa:00:22'],
      [],
      [],
    ])
  })
})

describe('rackboot interop next to a running serve', () => {
  it('imports through the serve that holds the store, and refuses through it with every problem', async () => {
    const dir = tmp()
    const dataDir = join(dir, 'data')
    keep(await serve(['--data-dir', dataDir, '--http-port', '0', '--tftp-port', '0', '--ui-port', '0']))
    const r = rackboot([
      'import',
      'warewulf',
      join(FIX, 'v4.6-wicked-vlan.nodes.conf'),
      '--data-dir',
      dataDir,
    ])
    expect(r.status, r.stderr).toBe(0)
    const listed = listNodes(dataDir)
    expect(listed.length).toBeGreaterThan(0)
    const again = rackboot([
      'import',
      'warewulf',
      join(FIX, 'v4.6-wicked-vlan.nodes.conf'),
      '--data-dir',
      dataDir,
    ])
    expect(again.status).toBe(1)
    for (const n of listed) expect(again.stderr).toContain(`node '${n.name}' already exists`)
    expect(ok(['export', 'csv', '--data-dir', dataDir]).split('\r\n').length).toBe(listed.length + 2)
  })
})

describe('rackboot interop usage errors', () => {
  it('exit 2 naming the flag', () => {
    const dir = tmp()
    const noOut = rackboot(['export', 'warewulf', '--data-dir', dir])
    expect(noOut.status).toBe(2)
    expect(noOut.stderr).toContain('--out')
    const badVersion = rackboot([
      'export',
      'warewulf',
      '--out',
      join(dir, 'o'),
      '--version',
      '4.7',
      '--data-dir',
      dir,
    ])
    expect(badVersion.status).toBe(2)
    expect(badVersion.stderr).toContain('--version')
    expect(rackboot(['import', 'warewulf', '--data-dir', dir]).status).toBe(2)
    const missing = rackboot(['import', 'macs', join(dir, 'nope.txt'), '--data-dir', dir])
    expect(missing.status).toBe(1)
    expect(missing.stderr).toContain(`cannot read ${join(dir, 'nope.txt')}`)
    expect(rackboot(['--version']).stdout).toMatch(/^\d+\.\d+\.\d+/)
  })
})
