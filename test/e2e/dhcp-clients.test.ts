/**
 * Rackboot's DHCP server against real clients, inside a namespace pair created and deleted here:
 * `rackboot serve --interface rbds-v0 --dhcp-mode server|proxy` in rbds-srv, busybox udhcpc and ISC dhclient
 * in rbds-cli. Asserted from both ends: the address the client configured on its interface, and the lines
 * of the server's lease journal.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { existsSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ipToInt } from '../../electron/core/util/ipv4'
import { DhcpMessageType } from '../../electron/core/boot/dhcp'
import { missing } from '../support/env'
import { buildCli } from '../support/cli'
import { createNetnsPair, type NetnsPair } from '../support/netns'
import { relayClient, serveInNs, waitFor, type InNsServe } from './dhcp-serve'

const skip = missing({ root: true, commands: ['busybox', 'dhclient', 'ip'] })

interface JournalLine {
  m: string
  i: number
  x: number
  s: 'bound' | 'declined' | 'released'
}

describe.skipIf(skip)('DHCP server with real clients in a namespace pair', () => {
  let net: NetnsPair
  let dir: string
  let server: InNsServe | null = null
  let clientMac: string

  const journal = (): JournalLine[] => {
    const f = join(dir, 'data', 'leases.jsonl')
    if (!existsSync(f)) return []
    return readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as JournalLine)
  }
  const linesFor = (ip: string) => journal().filter((l) => l.m === clientMac && l.i === ipToInt(ip))
  const addressesOnClient = () =>
    [
      ...net
        .exec('cli', 'ip', ['-4', '-o', 'addr', 'show', 'dev', net.clientIf])
        .matchAll(/inet ([0-9.]+)\//g),
    ].map((m) => m[1]!)
  const logLines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n') : [])

  async function startServer(mode: 'server' | 'proxy'): Promise<void> {
    await server?.stop()
    server = await serveInNs(net, [
      '--interface',
      net.serverIf,
      '--dhcp-mode',
      mode,
      '--data-dir',
      join(dir, 'data'),
      '--pool',
      '198.18.30.100-198.18.30.149',
    ])
  }

  beforeAll(async () => {
    buildCli()
    dir = await mkdtemp(join(tmpdir(), 'rbds-clients-'))
    net = createNetnsPair({ prefix: 'rbds', serverAddress: '198.18.30.1/24' })
    clientMac = /link\/ether ([0-9a-f:]{17})/.exec(net.exec('cli', 'ip', ['link', 'show', net.clientIf]))![1]!
    // Hooks log only after the address is on the interface, so a test that saw the log line sees the address.
    // Hooks only put the leased address on the client veth: the namespace shares /etc with the host, so the
    // distribution scripts (resolv.conf, routes) must not run.
    await writeFile(
      join(dir, 'udhcpc.sh'),
      `#!/bin/sh\ncase "$1" in\n  bound|renew) ip addr flush dev "$interface"; ip addr add "$ip/\${mask:-24}" dev "$interface" ;;\n  deconfig) ip addr flush dev "$interface" ;;\nesac\necho "$1 $ip" >> ${dir}/udhcpc.log\n`,
      { mode: 0o755 },
    )
    await writeFile(
      join(dir, 'dhclient.sh'),
      `#!/bin/sh\ncase "$reason" in\n  BOUND|RENEW|REBIND|REBOOT) ip addr flush dev "$interface"; ip addr add "$new_ip_address/24" dev "$interface" ;;\n  RELEASE|EXPIRE|STOP) ip addr flush dev "$interface" ;;\nesac\necho "$reason $new_ip_address" >> ${dir}/dhclient.log\n`,
      { mode: 0o755 },
    )
    await startServer('server')
  })

  afterAll(async () => {
    await server?.stop().catch(() => undefined)
    net?.destroy()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('busybox udhcpc: lease, RENEW (unicast), RELEASE on exit', async () => {
    const log = join(dir, 'udhcpc.log')
    const udhcpc = net.spawn('cli', 'busybox', [
      'udhcpc',
      '-i',
      net.clientIf,
      '-f',
      '-R',
      '-n',
      '-t',
      '5',
      '-T',
      '2',
      '-A',
      '1',
      '-s',
      join(dir, 'udhcpc.sh'),
    ])
    const bound = await waitFor(
      'udhcpc bound',
      () =>
        logLines(log)
          .find((l) => l.startsWith('bound '))
          ?.split(' ')[1],
    )
    expect(ipToInt(bound)! - ipToInt('198.18.30.100')!).toBeGreaterThanOrEqual(0)
    expect(ipToInt(bound)! - ipToInt('198.18.30.149')!).toBeLessThanOrEqual(0)
    expect(addressesOnClient()).toEqual([bound])
    const first = await waitFor('the bound line in the journal', () => linesFor(bound).at(0))
    expect(first.s).toBe('bound')

    udhcpc.kill('SIGUSR1') // renew: a unicast REQUEST with ciaddr (RENEWING)
    await waitFor('udhcpc renew', () =>
      logLines(log).some((l) => l === `renew ${bound}`) ? true : undefined,
    )
    const renewed = await waitFor('a second journal line', () =>
      linesFor(bound).length >= 2 ? linesFor(bound) : undefined,
    )
    expect(renewed.at(-1)!.s).toBe('bound')
    expect(renewed.at(-1)!.x).toBeGreaterThanOrEqual(first.x)

    udhcpc.kill('SIGTERM') // -R: RELEASE on exit
    await waitFor('udhcpc exit', () =>
      udhcpc.exitCode !== null || udhcpc.signalCode !== null ? true : undefined,
    )
    await waitFor('the release in the journal', () =>
      linesFor(bound).at(-1)?.s === 'released' ? true : undefined,
    )
    expect(addressesOnClient()).toEqual([])
  })

  it('ISC dhclient: lease, INIT-REBOOT of the same address, RELEASE with -r', async () => {
    const log = join(dir, 'dhclient.log')
    const args = [
      '-v',
      '-1',
      '-lf',
      join(dir, 'dhclient.leases'),
      '-pf',
      join(dir, 'dhclient.pid'),
      '-sf',
      join(dir, 'dhclient.sh'),
    ]
    const first = net.spawn('cli', 'dhclient', ['-d', ...args, net.clientIf])
    const bound = await waitFor(
      'dhclient BOUND',
      () =>
        logLines(log)
          .find((l) => l.startsWith('BOUND '))
          ?.split(' ')[1],
    )
    expect(addressesOnClient()).toEqual([bound])
    await waitFor('the bound line in the journal', () => linesFor(bound).at(0))
    first.kill('SIGTERM') // exits without releasing: the lease stays in its lease file
    await waitFor('dhclient exit', () =>
      first.exitCode !== null || first.signalCode !== null ? true : undefined,
    )

    const before = linesFor(bound).length
    const again = net.spawn('cli', 'dhclient', ['-d', ...args, net.clientIf])
    // With a lease on file dhclient starts in INIT-REBOOT: a REQUEST with option 50 and no server id.
    await waitFor('dhclient REBOOT', () =>
      logLines(log).some((l) => l === `REBOOT ${bound}`) ? true : undefined,
    )
    await waitFor('a renewed journal line', () => (linesFor(bound).length > before ? true : undefined))
    again.kill('SIGTERM')
    await waitFor('dhclient exit', () =>
      again.exitCode !== null || again.signalCode !== null ? true : undefined,
    )

    net.exec('cli', 'dhclient', ['-r', ...args, net.clientIf], 30_000)
    await waitFor('the release in the journal', () =>
      linesFor(bound).at(-1)?.s === 'released' ? true : undefined,
    )
    expect(addressesOnClient()).toEqual([])
  })

  it('a REQUEST naming another server id gets no answer (and ours still does)', async () => {
    net.exec('cli', 'ip', ['addr', 'add', '198.18.30.2/24', 'dev', net.clientIf])
    try {
      const lines = await relayClient(net, {
        mode: 'probe',
        giaddr: '198.18.30.2',
        server: '198.18.30.1',
        otherServer: '198.18.30.99',
      })
      expect(lines[0]).toMatchObject({ ev: 'offer', serverId: '198.18.30.1' })
      expect(lines[1]).toEqual({ ev: 'request-other-server', reply: null })
      expect(lines[2]).toMatchObject({ ev: 'request-ours', reply: DhcpMessageType.Ack, ip: lines[0]!.ip })
    } finally {
      net.exec('cli', 'ip', ['addr', 'flush', 'dev', net.clientIf])
    }
  })

  it('proxy mode: PXE clients get a boot file and no address, plain clients nothing, 4011 answered', async () => {
    await startServer('proxy')
    const linesBefore = journal().length
    // A plain DHCP client gets no lease at all.
    const log = join(dir, 'udhcpc.log')
    await writeFile(log, '')
    const r = net.spawn('cli', 'busybox', [
      'udhcpc',
      '-i',
      net.clientIf,
      '-f',
      '-n',
      '-q',
      '-t',
      '2',
      '-T',
      '1',
      '-A',
      '1',
      '-s',
      join(dir, 'udhcpc.sh'),
    ])
    const code = await new Promise<number | null>((resolve) => r.once('exit', (c) => resolve(c)))
    expect(code).not.toBe(0)
    expect((await readFile(log, 'utf8')).split('\n').filter((l) => l.startsWith('bound'))).toEqual([])

    net.exec('cli', 'ip', ['addr', 'add', '198.18.30.3/24', 'dev', net.clientIf])
    try {
      const lines = await relayClient(net, {
        mode: 'probe',
        giaddr: '198.18.30.3',
        server: '198.18.30.1',
        otherServer: '198.18.30.99',
        vendorClass: 'PXEClient:Arch:00000:UNDI:002001',
        arch: 0,
        proxyRequest: true,
      })
      expect(lines[0]).toMatchObject({
        ev: 'offer',
        ip: '0.0.0.0',
        serverId: '198.18.30.1',
        file: 'undionly.kpxe',
        leaseTime: null,
      })
      expect(lines[2]).toMatchObject({ ev: 'request-ours', reply: null }) // REQUESTs on 67 are the real server's
      expect(lines[3]).toMatchObject({
        ev: 'request-4011',
        reply: DhcpMessageType.Ack,
        ip: '0.0.0.0',
        file: 'undionly.kpxe',
      })
    } finally {
      net.exec('cli', 'ip', ['addr', 'flush', 'dev', net.clientIf])
    }
    expect(journal().length).toBe(linesBefore)
  })
})
