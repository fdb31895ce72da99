/**
 * Real machines in a storm: K QEMU nodes (TCG, SeaBIOS, the NIC's iPXE ROM, as `rackboot lab` starts them:
 * lab/qemu.ts) on taps bridged to the storm's client link, so they PXE-boot the default image through the same
 * server and the same shaped link while the simulated nodes storm it. A node is done when the image prints its
 * console marker and the server's timeline shows every artifact sent in full (bytes = size of the file served).
 * Nothing here decides what a node boots: the rig plans each one in the inventory with the default image.
 */
import type { ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { readLatestBoot } from '../boot/timeline/recorder'
import { qemuArgs, QEMU } from '../lab/qemu'
import { sleep } from '../util/sleep'

/** What build/default-image.sh's init prints once the image runs (the e2e tests wait for the same line). */
export const DEFAULT_IMAGE_MARKER = 'RACKBOOT-DEFAULT-IMAGE-UP'

export interface QemuStormNode {
  name: string
  mac: string
  ip: string
  tap: string
  console: string
}

export interface QemuNodeResult {
  name: string
  mac: string
  ip: string
  ok: boolean
  /** Power-on to the console marker. */
  bootMs: number | null
  /** HTTP bytes the server's timeline shows sent to this node (kernel, image, modules, overlays). */
  bytes: number
  errors: string[]
}

export interface QemuStormOptions {
  nodes: QemuStormNode[]
  /** Starts a command in the storm's client namespace (StormRig.spawnIn): the rig kills it on down(). */
  spawn(argv: string[]): ChildProcess
  /** Sizes of the image's artifacts by timeline stage (kernel, image, modules): each must arrive whole. */
  artifactSizes: Record<string, number>
  /** The serve's timeline folder (<dataDir>/timelines). */
  timelinesDir: string
  deadlineMs: number
  memMiB?: number
  /** Poll interval for consoles and timelines. Default 500 ms. */
  pollMs?: number
}

export interface QemuStorm {
  /** Every node's outcome, once each is done, failed or out of time. */
  done: Promise<QemuNodeResult[]>
  /** Ends the wait now (the rig kills the processes). */
  stop(): void
}

export function powerOnQemuNodes(o: QemuStormOptions): QemuStorm {
  const stopper = new AbortController()
  const pollMs = o.pollMs ?? 500
  const started = Date.now()
  const until = started + o.deadlineMs
  const one = async (n: QemuStormNode): Promise<QemuNodeResult> => {
    const r: QemuNodeResult = {
      name: n.name,
      mac: n.mac,
      ip: n.ip,
      ok: false,
      bootMs: null,
      bytes: 0,
      errors: [],
    }
    const args = qemuArgs({
      slot: 1,
      name: n.name,
      mac: n.mac,
      firmware: 'bios',
      nic: 'virtio',
      memMiB: o.memMiB ?? 512,
      tap: n.tap,
      console: n.console,
    })
    const child = o.spawn([QEMU, ...args])
    let exited: string | null = null
    let output = ''
    const keep = (d: Buffer) => (output = (output + d.toString()).slice(-4000))
    // Drained, or a chatty QEMU would block on a full pipe.
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    child.once('exit', (code, signal) => (exited = signal ? `killed by ${signal}` : `exit code ${code}`))
    child.once('error', (e) => (exited = `could not start ${QEMU}: ${e.message}`))
    const wait = () => sleep(pollMs, stopper.signal)
    // Bounded by the deadline (and by stop()).
    while (r.bootMs === null && Date.now() < until && !stopper.signal.aborted) {
      const text = await readFile(n.console, 'utf8').catch(() => '')
      if (text.includes(DEFAULT_IMAGE_MARKER)) r.bootMs = Date.now() - started
      else if (exited !== null) {
        r.errors.push(`QEMU ended before the marker (${exited}): ${output.trim().slice(-500)}`)
        break
      } else await wait()
    }
    if (r.bootMs === null && r.errors.length === 0) {
      const last = (await readFile(n.console, 'utf8').catch(() => '')).trim().slice(-500)
      r.errors.push(`no ${DEFAULT_IMAGE_MARKER} on the console within ${o.deadlineMs} ms; it ends: ${last}`)
    }
    if (r.bootMs === null) return r
    // The marker comes after the kernel unpacked every initrd, long after their 'done' events were saved;
    // a few polls cover a busy recorder.
    let missing: string[] = []
    for (let i = 0; i < 20 && !stopper.signal.aborted; i++) {
      const boot = await readLatestBoot(o.timelinesDir, n.mac)
      const t = boot?.transfers ?? {}
      r.bytes = Object.values(t).reduce((a, x) => a + x.bytes, 0)
      missing = Object.entries(o.artifactSizes)
        .filter(([stage, size]) => t[stage]?.bytes !== size)
        .map(([stage, size]) => `${stage} ${t[stage]?.bytes ?? 0} of ${size} bytes`)
      if (missing.length === 0) break
      await wait()
    }
    if (missing.length > 0)
      r.errors.push(`the server's timeline does not show whole files: ${missing.join(', ')}`)
    r.ok = r.errors.length === 0
    return r
  }
  return {
    done: Promise.all(o.nodes.map(one)),
    stop: () => stopper.abort(),
  }
}
