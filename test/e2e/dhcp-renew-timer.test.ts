/**
 * ISC dhclient renewing on its own T1 timer (RFC 2131 §4.4.5), not on a signal or a command: a 60 s lease
 * (the shortest the settings allow) gives T1 = 30 s, and the test only waits. Asserted on the wire with
 * tcpdump in the server namespace: the RENEWING REQUEST is unicast from the leased address to our address
 * with ciaddr set and neither option 50 nor 54 (§4.3.2), and our ACK goes back unicast with the same xid,
 * the same address and the lease times. The journal gets a second `bound` line for the address.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { existsSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodePacket, DhcpMessageType, type DhcpPacket } from '../../electron/core/boot/dhcp'
import { missing } from '../support/env'
import { buildCli } from '../support/cli'
import { createNetnsPair, type NetnsPair } from '../support/netns'
import { readPcapUdp, type UdpDatagram } from '../support/pcap'
import { serveInNs, waitFor, type InNsServe } from './dhcp-serve'

const skip = missing({ root: true, commands: ['dhclient', 'ip', 'tcpdump'] })

const SERVER_IP = '198.19.130.1'
const LEASE_SECONDS = 60
const T1 = LEASE_SECONDS / 2

interface Seen {
  d: UdpDatagram
  p: DhcpPacket
}

describe.skipIf(skip)('dhclient renews at T1 by itself', () => {
  let net: NetnsPair
  let dir: string
  let server: InNsServe | null = null
  let dump: ChildProcess | null = null

  beforeAll(async () => {
    buildCli()
    dir = await mkdtemp(join(tmpdir(), 'rbpf-renew-'))
    net = createNetnsPair({ prefix: 'rbpf', serverAddress: `${SERVER_IP}/24` })
    await writeFile(join(dir, 'config.json'), JSON.stringify({ leaseSeconds: LEASE_SECONDS }))
    // Only put the address on the veth: the namespace shares /etc with the host (see dhcp-clients.test.ts).
    await writeFile(
      join(dir, 'dhclient.sh'),
      `#!/bin/sh\ncase "$reason" in\n  BOUND|RENEW|REBIND|REBOOT) ip addr flush dev "$interface"; ip addr add "$new_ip_address/24" dev "$interface" ;;\n  RELEASE|EXPIRE|STOP) ip addr flush dev "$interface" ;;\nesac\necho "$reason $new_ip_address" >> ${dir}/dhclient.log\n`,
      { mode: 0o755 },
    )
    server = await serveInNs(net, [
      '--interface',
      net.serverIf,
      '--dhcp-mode',
      'server',
      '--data-dir',
      join(dir, 'data'),
      '--config',
      join(dir, 'config.json'),
      '--pool',
      '198.19.130.100-198.19.130.149',
    ])
    let err = ''
    dump = net.spawn('srv', 'tcpdump', [
      '-n',
      '-U',
      // Without it libpcap hands packets over per ring block (up to 1 s late): a SIGTERM just after the
      // renew would lose them.
      '--immediate-mode',
      '-i',
      net.serverIf,
      '-w',
      join(dir, 'dhcp.pcap'),
      'udp port 67 or udp port 68',
    ])
    dump.stderr!.on('data', (d: Buffer) => (err += d.toString()))
    await waitFor('tcpdump to listen', () => (err.includes('listening on') ? true : undefined))
  })

  afterAll(async () => {
    await server?.stop().catch(() => undefined)
    net?.destroy()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('sends a unicast RENEWING REQUEST with ciaddr at T1 and gets our unicast ACK', async () => {
    const log = join(dir, 'dhclient.log')
    const lines = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n') : [])
    const client = net.spawn('cli', 'dhclient', [
      '-d',
      '-v',
      '-lf',
      join(dir, 'dhclient.leases'),
      '-pf',
      join(dir, 'dhclient.pid'),
      '-sf',
      join(dir, 'dhclient.sh'),
      net.clientIf,
    ])
    const bound = await waitFor(
      'dhclient BOUND',
      () =>
        lines()
          .find((l) => l.startsWith('BOUND '))
          ?.split(' ')[1],
    )
    // Nothing is sent to dhclient from here on: the renew has to come from its own timer.
    await waitFor(
      'dhclient RENEW from its T1 timer',
      () => (lines().some((l) => l === `RENEW ${bound}`) ? true : undefined),
      (LEASE_SECONDS + 30) * 1000,
    )
    client.kill('SIGTERM')
    await waitFor('dhclient exit', () =>
      client.exitCode !== null || client.signalCode !== null ? true : undefined,
    )
    dump!.kill('SIGTERM') // tcpdump flushes and closes the file on SIGTERM
    await waitFor('tcpdump exit', () =>
      dump!.exitCode !== null || dump!.signalCode !== null ? true : undefined,
    )

    const seen: Seen[] = []
    for (const d of readPcapUdp(join(dir, 'dhcp.pcap'))) {
      const r = decodePacket(d.payload)
      if (r.ok) seen.push({ d, p: r.value })
    }
    const firstAck = seen.find((s) => s.p.options.messageType === DhcpMessageType.Ack && s.p.yiaddr === bound)
    expect(firstAck, 'the ACK that bound the lease').toBeDefined()
    expect(firstAck!.p.options.renewalTime).toBe(T1)

    const renew = seen.find(
      (s) => s.p.options.messageType === DhcpMessageType.Request && s.p.ciaddr === bound,
    )
    const summary = seen
      .map(
        (s) =>
          `${s.d.time.toFixed(2)} ${s.d.srcIp}:${s.d.srcPort}>${s.d.dstIp}:${s.d.dstPort} type ${s.p.options.messageType} ciaddr ${s.p.ciaddr} yiaddr ${s.p.yiaddr} xid ${s.p.xid}`,
      )
      .join('\n')
    expect(renew, `a REQUEST with ciaddr set among\n${summary}\n${lines().join('\n')}`).toBeDefined()
    expect(renew!.d).toMatchObject({ srcIp: bound, dstIp: SERVER_IP, srcPort: 68, dstPort: 67 })
    expect(renew!.p.options.requestedIp).toBeUndefined() // RENEWING: no option 50 (§4.3.2)
    expect(renew!.p.options.serverId).toBeUndefined() // and no option 54
    // Sent by the timer, not at once: ISC dhclient jitters T1 into [3/4·T1, T1] (dhclient.c, "introduce some
    // randomness to the renewal time"), so the earliest a timer-driven renew can leave is 3/4·T1 after the ACK.
    expect(renew!.d.time - firstAck!.d.time).toBeGreaterThanOrEqual(Math.floor((T1 * 3) / 4) - 1)

    const ack = seen.find(
      (s) =>
        s.d.time >= renew!.d.time &&
        s.p.xid === renew!.p.xid &&
        s.p.options.messageType === DhcpMessageType.Ack,
    )
    expect(ack, 'our ACK to the renew').toBeDefined()
    expect(ack!.d).toMatchObject({ srcIp: SERVER_IP, dstIp: bound, srcPort: 67, dstPort: 68 })
    expect(ack!.p.yiaddr).toBe(bound)
    expect(ack!.p.options).toMatchObject({ serverId: SERVER_IP, leaseTime: LEASE_SECONDS, renewalTime: T1 })

    const journal = readFileSync(join(dir, 'data', 'leases.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.includes(`"s":"bound"`))
    expect(journal.length).toBeGreaterThanOrEqual(2)
  }, 180_000)
})
