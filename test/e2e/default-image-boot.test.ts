/**
 * The default image, `rackboot-rescue`, boots for real: QEMU (TCG) with the iPXE ROM of its virtio NIC gets
 * our script URL from QEMU's user-mode DHCP (`bootfile=`), loads kernel, image, modules and system overlay
 * from the core's HTTP server, and the node comes up: kernel, Rackboot's /init, the image's busybox init,
 * DHCP, the marker line, and an agent report that moves the node to 'up'.
 *
 * Network: user-mode networking with restrict=on (the guest reaches nothing but the guestfwd address; no
 * host interface is touched), guestfwd to the server on 127.0.0.1 through `busybox nc`, as in
 * test/integration/http-ipxe-qemu.test.ts. Every guest connection therefore reaches the server from
 * 127.0.0.1, so the node's reserved address is 127.0.0.1 here (overlays and reports are only for the node's
 * own address), and `rackboot.server=` names the guestfwd address because the server itself only knows its
 * loopback listening address.
 *
 * Needs the built image: `npm run build:default-image` (.ci/install builds it).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { missing } from '../support/env'
import { ipxeBootFileUrl } from '../../electron/core/boot/http/ipxe'
import { Rackboot } from '../../electron/core/rackboot'
import {
  DEFAULT_IMAGE_NAME,
  defaultImageFiles,
  ensureDefaultImage,
} from '../../electron/core/images/default-image'
import { dispatch } from '../../electron/core/api/dispatch'
import type { Channel, RequestOf, ResponseOf } from '../../electron/ipc/contract'

const RESOURCES = join(__dirname, '..', '..', 'resources')
const files = defaultImageFiles(RESOURCES)
const skip = missing({ commands: ['qemu-system-x86_64', 'busybox'], files: [files.archive, files.kernel] })

const GUEST_SERVER = 'http://10.0.2.100'
const MARKER = 'RACKBOOT-DEFAULT-IMAGE-UP'
/** TCG on a busy shared machine: generous, and no assertion on how long anything took. */
const BOOT_TIMEOUT_MS = 240_000

interface Vm {
  console: () => string
  stop: () => Promise<void>
}

describe.skipIf(skip !== null)('the default image boots in QEMU (TCG, iPXE ROM, user-mode network)', () => {
  let dir: string
  let core: Rackboot
  let port: number
  const vms: Vm[] = []

  const call = async <C extends Channel>(channel: C, request: RequestOf<C>): Promise<ResponseOf<C>> => {
    const r = await dispatch(core.handlers, channel, request)
    if (!r.ok) throw new Error(`${channel}: ${r.error.message} ${r.error.details?.join('; ') ?? ''}`)
    return r.value as ResponseOf<C>
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rb-default-image-'))
    core = await Rackboot.open({ dataDir: join(dir, 'data') })
    const outcome = await ensureDefaultImage(core, { resourcesDir: RESOURCES })
    expect(outcome.status).toBe('imported')
    const status = await core.startStack({ httpPort: 0, tftpPort: 0, ipxeRoots: [] })
    port = Number(status.http.listening?.split(':').pop())
    expect(port).toBeGreaterThan(0)
  }, 120_000)

  afterAll(async () => {
    for (const vm of vms) await vm.stop()
    await core?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  function boot(mac: string): Vm {
    const log = join(dir, `console-${mac.replace(/:/g, '')}.log`)
    const netdev = [
      'user,id=n0,restrict=on',
      `guestfwd=tcp:10.0.2.100:80-cmd:busybox nc 127.0.0.1 ${port}`,
      `bootfile=${ipxeBootFileUrl(GUEST_SERVER)}`,
    ].join(',')
    // -serial file: the whole console is kept for the failure message, whatever the test reads.
    const args = ['-accel', 'tcg', '-m', '512', '-nographic', '-monitor', 'none', '-serial', `file:${log}`]
    args.push('-no-reboot', '-boot', 'n', '-netdev', netdev, '-device', `virtio-net-pci,netdev=n0,mac=${mac}`)
    const qemu: ChildProcess = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    qemu.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
    const vm: Vm = {
      console: () =>
        (existsSync(log) ? readFileSync(log, 'latin1') : '')
          .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '') // eslint-disable-line no-control-regex
          .concat(stderr ? `\n[qemu stderr] ${stderr}` : ''),
      async stop() {
        if (qemu.exitCode === null && qemu.signalCode === null) {
          const exited = new Promise((r) => qemu.once('exit', r))
          qemu.kill('SIGKILL')
          await exited
        }
      },
    }
    vms.push(vm)
    return vm
  }

  /** Polls until check() holds; bounded by count (and so by time). */
  async function until(vm: Vm, what: string, check: () => boolean): Promise<void> {
    for (let i = 0; i < BOOT_TIMEOUT_MS / 250 && !check(); i++) await new Promise((r) => setTimeout(r, 250))
    if (!check()) throw new Error(`QEMU: gave up waiting for ${what}; console:\n${vm.console().slice(-4000)}`)
  }

  it(
    'a node assigned rackboot-rescue: kernel, /init, exec /sbin/init, the marker, and the agent reports it up',
    async () => {
      const mac = '52:54:00:0d:ef:01'
      await call('nodes/add', { name: 'rescue1', mac, ip: '127.0.0.1', image: DEFAULT_IMAGE_NAME })
      await core.store.update((db) => {
        db.nodes.find((n) => n.name === 'rescue1')!.kernelArgs = `rackboot.server=${GUEST_SERVER}`
      })
      const vm = boot(mac)
      await until(vm, 'the marker', () => vm.console().includes(MARKER))
      const c = vm.console()
      expect(c).toMatch(/Linux version 6\.\d+\.\d+/)
      expect(c).toContain('rackboot-init: node rescue1 (52:54:00:0d:ef:01)')
      expect(c).toContain('rackboot-init: agent started')
      expect(c).toContain('rackboot-init: exec /sbin/init')
      // The image's own init got the NIC up through DHCP (slirp's pool is 10.0.2.15 onwards).
      expect(c).toMatch(/rackboot-rescue: eth0 52:54:00:0d:ef:01 up: 10\.0\.2\.\d+\/24/)
      // The bootstrap ran before the image's init, which printed the marker.
      expect(c.indexOf('rackboot-init: exec /sbin/init')).toBeLessThan(c.indexOf(MARKER))

      const state = () => core.repo.listNodes().find((n) => n.name === 'rescue1')?.state
      await until(vm, "the agent's report (node state 'up')", () => state() === 'up')
      expect((await call('nodes/list', {})).find((n) => n.name === 'rescue1')?.state).toBe('up')
      await vm.stop()
    },
    BOOT_TIMEOUT_MS * 2 + 60_000,
  )

  it(
    "an unknown MAC under unknownNodes 'default-image' boots rackboot-rescue without overlays",
    async () => {
      await call('settings/update', { unknownNodes: 'default-image' })
      const vm = boot('52:54:00:0d:ef:99')
      await until(vm, 'the marker', () => vm.console().includes(MARKER))
      const c = vm.console()
      expect(c).toMatch(/Linux version 6\.\d+\.\d+/)
      // No node, so no system overlay: the image's own /init runs, not Rackboot's bootstrap.
      expect(c).not.toContain('rackboot-init:')
      expect(c).toMatch(/rackboot-rescue: eth0 52:54:00:0d:ef:99 up: 10\.0\.2\.\d+\/24/)
      await vm.stop()
    },
    BOOT_TIMEOUT_MS + 60_000,
  )
})
