/**
 * `rackboot lab` end to end, the firmware chains and the rack workflows (root, QEMU TCG). Two labs run at
 * the same time (2 cores: one lab boots two full nodes, the other only holds two nodes in iPXE):
 *
 * - rblb1 (198.19.30.0/24): a vendor MAC list is imported onto two planned slots, then both nodes boot
 *   straight to their image (rackboot-rescue) and the agent reports them up: slot 1 UEFI (OVMF's PXE ->
 *   TFTP ipxe.efi -> iPXE -> HTTP), slot 2 BIOS with an e1000 NIC (its iPXE ROM -> HTTP).
 * - rblb2 (198.19.31.0/24): capture; two unknown nodes powered on together (inside the guard window) raise
 *   the ambiguity, neither is assigned while it is open, and `capture resolve` decides the slots.
 * - rblb3 (198.19.32.0/24): faults, each a clear state in the timeline: the serve restarted while a node
 *   downloads (it retries and comes up), a QEMU killed mid-download, a node nobody answers.
 *
 * Not here: BIOS through TFTP undionly.kpxe: that needs setting ipxeRomChain 'own-ipxe' (QEMU's BIOS NIC
 * ROMs are all iPXE), see test/e2e/lab-undionly.test.ts and docs/lab.md "BIOS through TFTP undionly.kpxe".
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { dispatch } from '../../electron/core/api/dispatch'
import { DEFAULT_IMAGE_NAME, ensureDefaultImage } from '../../electron/core/images/default-image'
import { Rackboot } from '../../electron/core/rackboot'
import type { Channel, RequestOf } from '../../electron/ipc/contract'
import { buildCli } from '../support/cli'
import { missing } from '../support/env'
import { BOOT_MS, alive, labFixture, namespaces, waitFor } from '../support/lab'

const RESOURCES = join(__dirname, '..', '..', 'resources')
const OVMF = '/usr/share/ovmf/OVMF.fd'
const skip = missing({
  root: true,
  commands: ['ip', 'qemu-system-x86_64', 'tcpdump'],
  files: [OVMF, join(RESOURCES, 'default-image', 'rackboot-rescue.tar.gz')],
})
const MARKER = 'RACKBOOT-DEFAULT-IMAGE-UP'

interface NodeJson {
  name: string
  macs: string[]
  state: string
}

type Call = <C extends Channel>(channel: C, request: RequestOf<C>) => Promise<void>

/** Plans racks and nodes on the lab's store before its serve holds it (the serve then finds them). */
async function plan(dataDir: string, steps: (call: Call) => Promise<void>): Promise<void> {
  const core = await Rackboot.open({ dataDir })
  try {
    await steps(async (channel, request) => {
      const r = await dispatch(core.handlers, channel, request)
      if (!r.ok) throw new Error(`${channel}: ${r.error.message} ${r.error.details?.join('; ') ?? ''}`)
    })
  } finally {
    await core.close()
  }
}

describe.skipIf(skip)('rackboot lab: firmware chains, vendor MAC list, capture ambiguity', () => {
  const chains = labFixture({ prefix: 'rblb1', id: 30, subnet: '198.19.30.0/24' })
  const capture = labFixture({ prefix: 'rblb2', id: 31, subnet: '198.19.31.0/24' })
  const faults = labFixture({ prefix: 'rblb3', id: 32, subnet: '198.19.32.0/24' })
  beforeAll(() => buildCli())
  // Each `lab down` stops serve and QEMU by PID (seconds each): far past vitest's 10 s default for hooks.
  afterAll(() => {
    chains.close()
    capture.close()
    faults.close()
  }, 300_000)

  describe.concurrent('two labs at once', () => {
    it(
      'a vendor MAC list onto planned slots, then UEFI (PXE -> TFTP ipxe.efi) and BIOS e1000 boot their image',
      async ({ expect }) => {
        const lab = chains
        const [mac1, mac2] = ['52:54:00:1e:00:01', '52:54:00:1e:00:02']
        // The image is imported and the slots planned before the lab's serve takes the store.
        const core = await Rackboot.open({ dataDir: lab.dataDir() })
        try {
          expect((await ensureDefaultImage(core, { resourcesDir: RESOURCES })).status).toBe('imported')
        } finally {
          await core.close()
        }
        await plan(lab.dataDir(), async (call) => {
          await call('racks/upsert', { name: 'r1', heightU: 42, numbering: 'bottom-up' })
          for (const [name, slot] of [
            ['v1', 1],
            ['v2', 2],
          ] as const)
            await call('nodes/add', {
              name,
              rack: 'r1',
              slot,
              ip: `198.19.30.1${slot}`,
              image: DEFAULT_IMAGE_NAME,
            })
        })
        expect(lab.up(2, '--slot', '1=uefi', '--slot', '2=e1000')).toMatch(
          new RegExp(`slot 1  rblb1-node01  ${mac1}  uefi\\n  slot 2  rblb1-node02  ${mac2}  bios  e1000`),
        )
        // The vendor's spreadsheet export: serials and MACs in its own spelling, imported next to the serve.
        const list = join(lab.dataDir(), 'vendor-macs.csv')
        writeFileSync(list, 'Serial Number,MAC Address\nSN-0001,52-54-00-1E-00-01\nSN-0002,5254.001e.0002\n')
        lab.cli('lab', 'exec', '--', 'import', 'macs', list)
        const planned = JSON.parse(lab.cli('lab', 'exec', '--', 'nodes', 'list', '--json')) as NodeJson[]
        expect(planned.map((n) => [n.name, n.macs])).toEqual([
          ['v1', [mac1]],
          ['v2', [mac2]],
        ])

        const dhcp = await lab.tcpdump('udp port 67 or udp port 68')
        expect(lab.cli('lab', 'power-on', 'all')).toContain('powered on slot 1, 2')
        const detail = (slot: number) => () =>
          `${lab.console(slot)}\n--- serve.log:\n${lab.serveLog()}\n--- stack/counters:\n${lab.counters()}`
        for (const slot of [1, 2])
          await waitFor(
            `slot ${slot} to reach its image's init`,
            () => lab.console(slot).includes(MARKER),
            detail(slot),
            4 * BOOT_MS,
          )
        const state = () =>
          (JSON.parse(lab.cli('lab', 'exec', '--', 'nodes', 'list', '--json')) as NodeJson[]).map(
            (n) => n.state,
          )
        await waitFor(
          "both agents' reports (state 'up')",
          () => state().every((s) => s === 'up'),
          () => state().join(', '),
        )

        // UEFI: EDK2's PXE asked as itself, took ipxe.efi over TFTP, then iPXE went on over HTTP.
        const uefi = lab.console(1)
        expect(dhcp()).toContain('PXEClient:Arch:00007:UNDI:003000')
        expect(lab.serveLog()).toMatch(/TFTP 198\.19\.30\.11:\d+ 'ipxe\.efi': sent \d+ bytes/)
        expect(uefi).toContain('platform=efi')
        expect(uefi).toContain('EFI stub')
        expect(uefi).toContain(`rackboot-init: node v1 (${mac1})`)
        expect(uefi).toContain(`rackboot-rescue: eth0 ${mac1} up: 198.19.30.11/24`)
        // BIOS e1000: the NIC's iPXE ROM went straight to HTTP (no TFTP), Linux drove the e1000.
        const bios = lab.console(2)
        expect(dhcp()).toContain('PXEClient:Arch:00000:UNDI:002001')
        expect(lab.serveLog()).not.toContain('TFTP 198.19.30.12')
        expect(bios).toMatch(/e1000 \S+ eth0: Intel\(R\) PRO\/1000 Network Connection/)
        expect(bios).toContain(`rackboot-init: node v2 (${mac2})`)
        expect(bios).toContain(`rackboot-rescue: eth0 ${mac2} up: 198.19.30.12/24`)
        for (const [slot, c] of [
          [1, uefi],
          [2, bios],
        ] as const) {
          // The bootstrap ran before the image's own init, which printed the marker.
          expect(c.indexOf('rackboot-init: exec /sbin/init'), `slot ${slot}`).toBeGreaterThan(0)
          expect(c.indexOf('rackboot-init: exec /sbin/init')).toBeLessThan(c.indexOf(MARKER))
        }

        // The server's timeline of each boot (nodes/timeline) and the lab's view with the console markers.
        const timeline = (node: string) =>
          (
            JSON.parse(lab.cli('lab', 'exec', '--', 'nodes', 'timeline', node, '--json')) as Array<{
              state: string
              clientType: string
              milestones: Array<{ milestone: string; detail?: string }>
            }>
          )[0]!
        // The timeline file is written after the store's node state: wait for both boots to be 'up' there too.
        await waitFor(
          "both timelines at state 'up'",
          () => timeline('v1').state === 'up' && timeline('v2').state === 'up',
          () => `${timeline('v1').state}, ${timeline('v2').state}`,
          60_000,
        )
        const v1 = timeline('v1')
        expect(v1).toMatchObject({ state: 'up', clientType: 'UEFI PXE' })
        expect(v1.milestones.map((m) => m.milestone)).toEqual([
          'dhcp-discover',
          'dhcp-ack',
          'tftp',
          'ipxe-script',
          'kernel',
          'image',
          'overlays',
          ...(v1.milestones.some((m) => m.milestone === 'bootstrap') ? ['bootstrap'] : []),
          'agent-up',
        ])
        expect(v1.milestones.find((m) => m.milestone === 'tftp')?.detail).toBe('ipxe.efi')
        const v2 = timeline('v2')
        expect(v2).toMatchObject({ state: 'up', clientType: 'iPXE' })
        expect(v2.milestones.map((m) => m.milestone)).not.toContain('tftp')
        for (const n of lab.status().nodes) {
          expect(n.timeline).toMatchObject({ state: 'up', stage: 'agent-up', problem: null })
          expect(n.timeline.milestones.map((m) => m.milestone)).toEqual(
            expect.arrayContaining(['power-on', 'bootstrap', 'sbin-init', 'agent-up']),
          )
        }
        expect(lab.cli('lab', 'down')).toContain('lab removed')
      },
      8 * BOOT_MS,
    )

    it(
      'faults: serve restarted mid-boot (the node retries and comes up), QEMU killed mid-download, no answer',
      async ({ expect }) => {
        const lab = faults
        const core = await Rackboot.open({ dataDir: lab.dataDir() })
        try {
          expect((await ensureDefaultImage(core, { resourcesDir: RESOURCES })).status).toBe('imported')
        } finally {
          await core.close()
        }
        await plan(lab.dataDir(), async (call) => {
          await call('nodes/add', {
            name: 'f1',
            mac: '52:54:00:20:00:01',
            ip: '198.19.32.11',
            image: DEFAULT_IMAGE_NAME,
          })
          await call('nodes/add', {
            name: 'f2',
            mac: '52:54:00:20:00:02',
            ip: '198.19.32.12',
            image: DEFAULT_IMAGE_NAME,
          })
        })
        // 4 Mbit/s from the server: the 8 MB kernel takes ~16 s, so "during the download" is a window.
        lab.up(3, '--rate', '4')
        const recorded = () =>
          JSON.parse(readFileSync(join(lab.dataDir(), 'lab', 'state.json'), 'utf8')) as {
            processes: Array<{ role: string; pid: number; slot?: number }>
          }
        const fetching = (slot: number) => () => lab.console(slot).includes('Rackboot: fetching kernel')
        lab.cli('lab', 'power-on', '2')
        await waitFor('slot 2 to start its kernel download', fetching(2), () => lab.console(2))
        // Killed as a crash or a pulled plug would (by the PID the lab recorded: faster than a CLI round trip).
        const qemu2 = recorded().processes.find((p) => p.role === 'qemu' && p.slot === 2)!.pid
        process.kill(qemu2, 'SIGKILL')
        await waitFor(
          'QEMU of slot 2 to die',
          () => !alive(qemu2),
          () => '',
          30_000,
        )
        lab.cli('lab', 'power-on', '1')
        await waitFor('slot 1 to start its kernel download', fetching(1), () => lab.console(1))
        expect(lab.cli('lab', 'restart-serve')).toMatch(/serve restarted: PID \d+/)

        await waitFor(
          'slot 1 to come up after the restart',
          () => lab.console(1).includes(MARKER),
          () => `${lab.console(1)}\n--- serve.log:\n${lab.serveLog()}`,
          4 * BOOT_MS,
        )
        await waitFor(
          "slot 1's agent report",
          () => lab.status().nodes[0]!.timeline.state === 'up',
          () => JSON.stringify(lab.status().nodes[0]!.timeline, null, 1),
        )
        const [one, two] = lab.status().nodes
        expect(one!.timeline.serverRestarts.length).toBe(1)
        expect(one!.timeline.milestones.map((m) => m.milestone)).toEqual(
          expect.arrayContaining(['power-on', 'dhcp-ack', 'ipxe-script', 'kernel', 'image', 'agent-up']),
        )
        // Killed while fetching: off, and where its boot stopped.
        expect(two!.timeline.state).toBe('off')
        expect(two!.timeline.problem).toMatch(
          /^the machine is off; its boot stopped after ipxe-script, kernel cut off at \d+ of \d+ bytes/,
        )
        // The restarted download failed on the node, which retried (the iPXE script's retry loop).
        expect(lab.console(1)).toMatch(/Rackboot: fetch_kernel failed \(error \w+\), retry 1 of/)

        // Nobody answers: the serve is gone (stopped by its PID, which the lab recorded) when slot 3 powers on.
        const serve = recorded().processes.find((p) => p.role === 'serve')!
        process.kill(serve.pid, 'SIGTERM')
        await waitFor(
          'the serve to stop',
          () => !alive(serve.pid),
          () => lab.serveLog(),
          30_000,
        )
        lab.cli('lab', 'power-on', '3')
        await waitFor(
          'slot 3 to show as stalled',
          () => lab.status('--stall-seconds', '20').nodes[2]!.timeline.state === 'stalled',
          () => JSON.stringify(lab.status('--stall-seconds', '20').nodes[2], null, 1),
        )
        const three = lab.status('--stall-seconds', '20')
        expect(three.serveRunning).toBe(false)
        expect(three.nodes[2]!.timeline).toMatchObject({ stage: 'power-on' })
        expect(three.nodes[2]!.timeline.problem).toContain('no DHCP DISCOVER reached the server')
        expect(lab.cli('lab', 'down')).toContain('lab removed')
        expect(namespaces()).not.toContain('rblb3-srv')
      },
      6 * BOOT_MS,
    )

    it(
      'two unknown nodes powered on together raise the ambiguity; neither is assigned until resolved',
      async ({ expect }) => {
        const lab = capture
        const [mac1, mac2] = ['52:54:00:1f:00:01', '52:54:00:1f:00:02']
        await plan(lab.dataDir(), async (call) => {
          await call('racks/upsert', { name: 'r1', heightU: 42, numbering: 'bottom-up' })
          await call('nodes/add', { name: 'c1', rack: 'r1', slot: 1 })
          await call('nodes/add', { name: 'c2', rack: 'r1', slot: 2 })
        })
        lab.up(2)
        expect(lab.cli('lab', 'exec', '--', 'capture', 'start')).toContain('capture ON')
        // No interval: both DISCOVERs land inside the 10 s capture guard window.
        expect(lab.cli('lab', 'power-on', 'all')).toContain('powered on slot 1, 2')

        const status = () =>
          JSON.parse(lab.cli('lab', 'exec', '--', 'capture', 'status', '--json')) as {
            ambiguity: { node: string; candidates: string[] } | null
          }
        const macsOf = () =>
          Object.fromEntries(
            (JSON.parse(lab.cli('lab', 'exec', '--', 'nodes', 'list', '--json')) as NodeJson[]).map((n) => [
              n.name,
              n.macs,
            ]),
          )
        await waitFor(
          'the capture ambiguity',
          () => status().ambiguity?.candidates.length === 2,
          () => `${JSON.stringify(status())}\n--- serve.log:\n${lab.serveLog()}`,
        )
        expect(status().ambiguity).toEqual({ node: 'c1', candidates: expect.arrayContaining([mac1, mac2]) })
        // Both keep asking for their script while the question is open, and neither has a slot.
        for (const slot of [1, 2])
          await waitFor(
            `slot ${slot} to wait for assignment`,
            () => lab.console(slot).includes('is waiting for assignment'),
            () => `${lab.console(slot)}\n--- serve.log:\n${lab.serveLog()}`,
          )
        expect(macsOf()).toEqual({ c1: [], c2: [] })
        expect(lab.cli('lab', 'exec', '--', 'capture', 'status')).toMatch(
          /PAUSED: .* arrived together for c1/,
        )

        // Resolved against power-on order, so the answer visibly comes from the resolution.
        const resolved = lab.cli('lab', 'exec', '--', 'capture', 'resolve', mac2, mac1)
        expect(resolved).not.toContain('PAUSED')
        expect(macsOf()).toEqual({ c1: [mac2], c2: [mac1] })
        // The nodes' next try finds their names (no image planned, so they say so and wait).
        await waitFor(
          'slot 2 to boot as c1',
          () => lab.console(2).includes(`node c1 (${mac2}) has no kernel and image yet`),
          () => lab.console(2),
        )
        await waitFor(
          'slot 1 to boot as c2',
          () => lab.console(1).includes(`node c2 (${mac1}) has no kernel and image yet`),
          () => lab.console(1),
        )
        expect(lab.cli('lab', 'down')).toContain('lab removed')
      },
      4 * BOOT_MS,
    )
  })
})
