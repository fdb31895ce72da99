/**
 * The stack's start order as its status tells it: TFTP and HTTP listen (and say so) before the rogue-DHCP
 * probe's seconds, DHCP after them. The overlay prebuild starts on that first status, so a cold storm's
 * nodes find their overlays built during the probe instead of in the storm's first, CPU-bound second.
 * Runs on loopback: the "interface" is an injected one with 127.0.0.1, its UDP sockets bound there.
 */
import { describe, it, expect, afterEach } from 'vitest'
import { createSocket, type Socket } from 'node:dgram'
import { mkdtempSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { StackStatus } from '../../electron/ipc/contract'
import { Rackboot } from '../../electron/core/rackboot'
import { Supervisor } from '../../electron/core/boot/supervisor'
import { inventoryResolver } from '../../electron/core/boot/resolver'
import { silentLogger } from '../../electron/core/util/logger'
import type { InterfaceSource } from '../../electron/core/net/interfaces'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const IFACE = 'rbtest0'
const interfaces: InterfaceSource = {
  addresses: () => ({
    [IFACE]: [
      {
        address: '127.0.0.1',
        netmask: '255.0.0.0',
        family: 'IPv4',
        mac: '02:00:00:00:00:01',
        internal: false,
        cidr: '127.0.0.1/8',
      },
    ],
  }),
  routeTable: () => Promise.resolve(null),
  sysfs: () => Promise.resolve('up'),
}

/** Every UDP socket on 127.0.0.1, any free port (the probe's and DHCP's). */
const bindUdp = (_iface: string, address: string): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const s = createSocket({ type: 'udp4', reuseAddr: true })
    s.once('error', reject)
    s.bind(0, address, () => resolve(s))
  })

const httpStatus = (hostPort: string) =>
  new Promise<number>((resolve, reject) => {
    const [host, port] = hostPort.split(':')
    request({ host, port: Number(port), path: '/status' }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
      .on('error', reject)
      .end()
  })

describe('boot stack start order', () => {
  it('says TFTP and HTTP listen before the rogue-DHCP probe, and DHCP only after it', async () => {
    const d = mkdtempSync(join(tmpdir(), 'rackboot-supervisor-'))
    dirs.push(d)
    const core = await Rackboot.open({ dataDir: join(d, 'data'), logger: silentLogger })
    const seen: Array<{ status: StackStatus; at: number; http: Promise<number> | null }> = []
    const probeMs = 600
    const supervisor: Supervisor = new Supervisor({
      logger: silentLogger,
      resolver: inventoryResolver(core.repo, core.images, () => supervisor.status()),
      interfaces,
      interfaceWatchMs: 0,
      onStatus: (status) =>
        seen.push({
          status,
          at: Date.now(),
          // Listening means answering: asked at the moment a starting stack says so.
          http:
            status.state === 'starting' && status.http.listening ? httpStatus(status.http.listening) : null,
        }),
      dhcp: {
        dataDir: join(d, 'data'),
        repo: core.repo,
        onPxeDiscover: () => Promise.resolve(),
        onBootEvent: () => undefined,
        bindUdp,
        ports: { server: 0, proxy: 0 },
        probeMs,
      },
    })
    try {
      const running = await supervisor.start({
        interface: IFACE,
        force: false,
        dhcpMode: 'server',
        httpPort: 0,
        tftpPort: 0,
        filesRoot: null,
        ipxeRoots: [],
      })
      expect(running.state).toBe('running')
      expect(running.dhcp.listening).not.toBeNull()
      const states = seen.map((s) => [s.status.state, !!s.status.http.listening, !!s.status.dhcp.listening])
      expect(states).toEqual([
        ['starting', false, false],
        ['starting', true, false],
        ['running', true, true],
      ])
      const early = seen[1]!
      expect(early.status.tftp.listening).toBe(running.tftp.listening)
      expect(early.status.http.listening).toBe(running.http.listening)
      expect(await early.http).toBe(200)
      // The probe's whole listening time lies between the two (a lower bound, which load only lengthens).
      expect(seen[2]!.at - early.at).toBeGreaterThanOrEqual(probeMs - 50)
    } finally {
      await supervisor.stop()
      await core.close()
    }
  })
})
