/**
 * The scripts against a real client: the iPXE in QEMU's virtio NIC ROM (BIOS) and under OVMF (EFI) runs our
 * scripts from our server. Network: QEMU user-mode networking with restrict=on (the guest reaches nothing
 * but the one guestfwd address, no host interface is involved); guestfwd spawns `busybox nc` per guest
 * connection to the server on 127.0.0.1. The "kernel" is an iPXE binary (a bzImage / EFI app), so `boot`
 * succeeding shows as a second iPXE banner, or a second script fetch.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { missing } from '../support/env'
import { ipxeBootFileUrl } from '../../electron/core/boot/http/ipxe'
import {
  type BootNodeView,
  type HttpBootEvent,
  type ProvisioningServer,
  startProvisioningServer,
} from '../../electron/core/boot/http/server'

const LKRN = '/usr/lib/ipxe/ipxe.lkrn'
const EFI_APP = '/usr/lib/ipxe/ipxe.efi'
const OVMF = '/usr/share/ovmf/OVMF.fd'
const skip = missing({ commands: ['qemu-system-x86_64', 'busybox'], files: [LKRN, EFI_APP, OVMF] })

const NODE: BootNodeView = {
  name: 'n1',
  macs: ['52:54:00:00:00:01'],
  ipv4: null,
  image: 'test',
  kernelArgs: 'console=ttyS0 rb.test=1',
  assetKey: 'tag42',
}

interface Run {
  events: HttpBootEvent[]
  console: () => string
  server: ProvisioningServer
  stop: () => Promise<void>
}

describe.skipIf(skip !== null)('iPXE runs our scripts (QEMU, TCG)', () => {
  let dir: string
  const running: Run[] = []

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rb-http-qemu-'))
    for (const k of ['image', 'system', 'runtime']) writeFileSync(join(dir, k), `${k}\n`)
  })
  afterAll(async () => {
    for (const r of running) await r.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  async function boot(o: {
    mac: string
    firmware: 'bios' | 'efi'
    failFirstSystemFetch?: boolean
  }): Promise<Run> {
    const events: HttpBootEvent[] = []
    let systemCalls = 0
    const server = await startProvisioningServer({
      host: '127.0.0.1',
      port: 0,
      baseUrl: 'http://10.0.2.100',
      waitSeconds: 2,
      retryDelaySeconds: 1,
      onEvent: (e) => events.push(e),
      resolver: {
        nodeByMac: (mac) => (NODE.macs.includes(mac) ? NODE : null),
        async artifact(_node, kind) {
          if (kind === 'modules') return null
          // The 2nd call is the fetch (the 1st is the script render): refuse it once to exercise the retry loop.
          if (kind === 'system' && ++systemCalls === 2 && o.failFirstSystemFetch) return null
          if (kind === 'kernel') return { path: o.firmware === 'efi' ? EFI_APP : LKRN, name: 'kernel' }
          return { path: join(dir, kind), name: kind }
        },
        unknownNodePolicy: () => 'wait',
        status: () => ({}),
      },
    })
    const bootfile = ipxeBootFileUrl('http://10.0.2.100')
    const netdev = `user,id=n0,restrict=on,guestfwd=tcp:10.0.2.100:80-cmd:busybox nc 127.0.0.1 ${server.address.port},bootfile=${bootfile}`
    const args = [
      '-accel',
      'tcg',
      '-m',
      '256',
      '-nographic',
      '-monitor',
      'none',
      '-serial',
      'stdio',
      '-no-reboot',
    ]
    args.push('-boot', 'n', '-smbios', 'type=3,asset=tag42', '-netdev', netdev)
    args.push('-device', `virtio-net-pci,netdev=n0,mac=${o.mac}`)
    if (o.firmware === 'efi') args.push('-bios', OVMF)
    const qemu: ChildProcess = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    qemu.stdout?.on('data', (d: Buffer) => (out += d.toString('latin1')))
    qemu.stderr?.on('data', (d: Buffer) => (out += d.toString('latin1')))
    const run: Run = {
      events,
      server,
      console: () => out.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ''), // eslint-disable-line no-control-regex
      async stop() {
        if (qemu.exitCode === null && qemu.signalCode === null) {
          const exited = new Promise((r) => qemu.once('exit', r))
          qemu.kill('SIGKILL')
          await exited
        }
        await server.close()
      },
    }
    running.push(run)
    return run
  }

  async function until(run: Run, what: string, check: () => boolean): Promise<void> {
    for (let i = 0; i < 900 && !check(); i++) await new Promise((r) => setTimeout(r, 100))
    if (!check())
      throw new Error(`QEMU: gave up waiting for ${what}; console:\n${run.console().slice(-3000)}`)
  }

  const doneEvents = (run: Run) => run.events.filter((e) => e.done).map((e) => `${e.route} ${e.status}`)

  it('BIOS: script, kernel and initrds (one retried), then boot runs the kernel', async () => {
    const run = await boot({ mac: '52:54:00:00:00:01', firmware: 'bios', failFirstSystemFetch: true })
    const started = () => run.console().indexOf('Rackboot: starting the kernel')
    await until(run, 'the kernel to start', () => started() >= 0 && run.console().includes('iPXE', started()))
    const c = run.console()
    // The BIOS console wraps at 80 columns.
    expect(c.replace(/[\r\n]/g, '')).toContain('/ipxe/52-54-00-00-00-01?platform=pcbios&assetkey=tag42')
    expect(c).toMatch(/Rackboot: fetch_system failed \(error 0x[0-9a-f]+\), retry 1 of 5 in 1 s/)
    expect(doneEvents(run)).toEqual([
      'ipxe 200',
      'kernel 200',
      'image 200',
      'system 404',
      'system 200',
      'runtime 200',
    ])
    // One keep-alive connection carries several requests.
    expect(run.server.stats().connectionsAccepted).toBeLessThan(run.server.stats().requests)
    await run.stop()
  }, 120_000)

  it('unknown MAC waits and asks again', async () => {
    const run = await boot({ mac: '52:54:00:00:00:99', firmware: 'bios' })
    await until(
      run,
      'three script fetches',
      () => run.events.filter((e) => e.route === 'ipxe' && e.done).length >= 3,
    )
    expect(run.console()).toContain('Rackboot: 52:54:00:00:00:99 is waiting for assignment')
    expect(doneEvents(run).slice(0, 3)).toEqual(['ipxe 200', 'ipxe 200', 'ipxe 200'])
    await run.stop()
  }, 120_000)

  it('EFI (OVMF): the same chain with platform=efi, boot runs the EFI image', async () => {
    const run = await boot({ mac: '52:54:00:00:00:01', firmware: 'efi' })
    // The booted "kernel" is iPXE again: it asks for its script a second time.
    await until(
      run,
      'the EFI kernel to start',
      () => run.events.filter((e) => e.route === 'ipxe' && e.done).length >= 2,
    )
    expect(run.console().replace(/[\r\n]/g, '')).toContain(
      '/ipxe/52-54-00-00-00-01?platform=efi&assetkey=tag42',
    )
    expect(doneEvents(run).slice(0, 5)).toEqual([
      'ipxe 200',
      'kernel 200',
      'image 200',
      'system 200',
      'runtime 200',
    ])
    await run.stop()
  }, 120_000)
})
