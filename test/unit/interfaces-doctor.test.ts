import { describe, it, expect } from 'vitest'
import type { NetworkInterfaceInfo } from 'node:os'
import {
  chooseBootInterface,
  defaultRouteInterfaces,
  listInterfaces,
  type InterfaceSource,
} from '../../electron/core/net/interfaces'
import { hasBindCapability, runChecks, formatChecks, type DoctorEnv } from '../../electron/cli/doctor'

const ROUTES = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
uplink0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
uplink0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
prov0\t000012C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
`
const v4 = (address: string, cidr: string): NetworkInterfaceInfo => ({
  address,
  netmask: '255.255.255.0',
  family: 'IPv4',
  mac: '52:54:00:00:00:01',
  internal: false,
  cidr,
})
const fake: InterfaceSource = {
  addresses: () => ({
    uplink0: [v4('192.0.2.2', '192.0.2.2/24')],
    prov0: [v4('198.18.0.1', '198.18.0.1/24')],
    bare0: [{ ...v4('fe80::1', 'fe80::1/64'), family: 'IPv6', scopeid: 2 }],
  }),
  routeTable: async () => ROUTES,
  // carrier0 exists but is not running (no carrier): Node's list leaves it out, sysfs still has it.
  sysfs: async (name, attr) =>
    !['uplink0', 'prov0', 'bare0', 'carrier0'].includes(name)
      ? null
      : attr === 'operstate'
        ? name === 'bare0' || name === 'carrier0'
          ? 'down'
          : 'up'
        : attr === 'speed'
          ? '1000'
          : null,
}

describe('interfaces', () => {
  it('finds the default-route interface in /proc/net/route', () => {
    expect([...defaultRouteInterfaces(ROUTES)]).toEqual(['uplink0'])
  })
  it('lists addresses, prefix, link and default route', async () => {
    const all = await listInterfaces(fake)
    const prov = all.find((i) => i.name === 'prov0')!
    expect(prov.ipv4).toEqual({ address: '198.18.0.1', prefix: 24, network: '198.18.0.0/24' })
    expect(prov.holdsDefaultRoute).toBe(false)
    expect(prov.speedMbps).toBe(1000)
    expect(all.find((i) => i.name === 'uplink0')!.holdsDefaultRoute).toBe(true)
  })
  it('refuses a missing interface, one without IPv4, and the uplink unless forced', async () => {
    await expect(chooseBootInterface('nope0', { source: fake })).rejects.toThrow(
      /'nope0' does not exist \(present: bare0, prov0, uplink0\)/,
    )
    await expect(chooseBootInterface('bare0', { source: fake })).rejects.toThrow(/no IPv4 address/)
    // Present but not running (a veth the kernel has not marked up yet): said so, not "does not exist".
    await expect(chooseBootInterface('carrier0', { source: fake })).rejects.toThrow(
      /'carrier0' is down, not up and running: bring it up \(ip link set dev carrier0 up\)/,
    )
    await expect(chooseBootInterface('uplink0', { source: fake })).rejects.toThrow(/default route.*--force/)
    await expect(chooseBootInterface('uplink0', { source: fake, force: true })).resolves.toMatchObject({
      name: 'uplink0',
    })
    await expect(chooseBootInterface('prov0', { source: fake })).resolves.toMatchObject({
      ipv4: { address: '198.18.0.1' },
    })
  })
})

describe('doctor', () => {
  it('reads CAP_NET_BIND_SERVICE from CapEff', () => {
    expect(hasBindCapability('CapEff:\t0000000000000400\n')).toBe(true)
    expect(hasBindCapability('CapEff:\t0000000000000000\n')).toBe(false)
    expect(hasBindCapability(null)).toBe(false)
  })
  const env = (over: Partial<DoctorEnv>): DoctorEnv => ({
    uid: 1000,
    procStatus: 'CapEff:\t0000000000000000\n',
    interfaces: fake,
    ipxeRoots: [],
    path: '/nonexistent',
    rendererBuilt: false,
    ...over,
  })
  it('fails each missing prerequisite with its fix', async () => {
    const checks = await runChecks(env({}), 'bare0')
    const text = formatChecks(checks)
    expect(text).toMatch(/fail\s+cannot bind ports 67/)
    expect(text).toContain('setcap cap_net_bind_service')
    expect(text).toMatch(/fail\s+interface 'bare0' has no IPv4 address/)
    expect(text).toMatch(/fail\s+iPXE binary undionly.kpxe not found/)
    expect(text).toContain('apt-get install ipxe')
    expect(text).toMatch(/warn\s+qemu-system-x86_64 not found/)
  })
  it('passes as root on a good interface and warns on the uplink', async () => {
    const good = await runChecks(env({ uid: 0 }), 'prov0')
    expect(good.find((c) => c.what.startsWith('interface'))).toMatchObject({ level: 'ok' })
    const uplink = await runChecks(env({ uid: 0 }), 'uplink0')
    expect(uplink.find((c) => c.what.startsWith("interface 'uplink0'"))).toMatchObject({ level: 'warn' })
  })
  it('tells a NIC without link from a missing one', async () => {
    const unplugged = await runChecks(env({ uid: 0 }), 'carrier0')
    expect(unplugged.find((c) => c.what.startsWith("interface 'carrier0'"))).toMatchObject({
      level: 'fail',
      what: "interface 'carrier0' is down (no link)",
    })
    const missing = await runChecks(env({ uid: 0 }), 'nope0')
    expect(missing.find((c) => c.what.startsWith("interface 'nope0'"))).toMatchObject({
      level: 'fail',
      what: "interface 'nope0' does not exist",
    })
  })
})
