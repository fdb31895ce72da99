/**
 * The virtual rack lab: namespaces + bridge + taps (netns.ts), Rackboot's own `serve` on the server side,
 * QEMU nodes on the client side (qemu.ts), all recorded in state.json (state.ts) before they exist.
 * Linux and root only. Every method reads the state file afresh: the CLI calls one method per process.
 */
import { open, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ensureDir } from '../inventory/durable-file'
import { readLatestBoot } from '../boot/timeline/recorder'
import { type LabTimeline, labTimeline } from './timeline'
import type { Logger } from '../util/logger'
import { RackbootError } from '../util/result'
import type { IpxeRomChain } from '../boot/dhcp/pxe'
import type { SettingsPatch } from '../inventory/schema'
import { type IpRunner, checkPrefix, createLabNetwork, labNames, removeNamespaces } from './netns'
import {
  QEMU,
  consoleSummary,
  labMac,
  processAlive,
  processMatches,
  qemuArgs,
  spawnDetached,
  spawnInNamespace,
  stopProcess,
} from './qemu'
import { freePort } from './ui-bridge'
import {
  type Firmware,
  type LabNode,
  type LabProcess,
  type LabState,
  type Nic,
  type UefiChain,
  FIRMWARES,
  NICS,
  UEFI_CHAINS,
  consolesDir,
  labDir,
  labStateFile,
  readLabState,
  writeLabState,
} from './state'

export interface LabOptions {
  dataDir: string
  ip: IpRunner
  /** How to run this program again (`node …/bin/rackboot.js`), for `serve` in the server namespace. */
  selfCommand: string[]
  logger: Logger
  /** Injected for tests; defaults to real timers. */
  sleep?: (ms: number) => Promise<void>
}

export interface LabUpOptions {
  id: number
  /** Names of namespaces and links start with this; default `rbl<id>`. */
  prefix?: string
  nodes: number
  firmware: Firmware | 'mixed'
  nic: Nic
  /** UEFI nodes: OVMF's PXE -> TFTP ipxe.efi (default), or the NIC's UEFI iPXE ROM. */
  uefiChain?: UefiChain
  /** Per-slot exceptions to firmware/nic/uefiChain, so one lab can hold several kinds of machine. */
  slotOverrides?: SlotOverride[]
  memMiB: number
  /** A /24 inside 198.18.0.0/15; the server takes .1, unknown nodes get .100-.199. Default 198.18.<id>.0/24. */
  subnet?: string
  /** Send IPv6 router advertisements on the lab link (ra.ts); off only to measure what they save. */
  ra?: boolean
  /** Caps what the server sends to the nodes (tc tbf on the server's lab interface), e.g. to watch a slow link. */
  rateMbit?: number
  /** Start Rackboot's serve (default). Off: the wire only, for a benchmark that runs another stack there. */
  serve?: boolean
  /** Seconds to wait for `serve` to print its ready line. */
  serveTimeoutS?: number
  /** Setting `ipxeRomChain` for the lab's serve: `own-ipxe` chains BIOS iPXE ROMs through TFTP undionly.kpxe. */
  ipxeRomChain?: IpxeRomChain
  /**
   * Make the serve's UI reachable from the host: the serve also listens on `<lab dir>/ui.sock` and a bridge
   * process on the host's 127.0.0.1 forwards the same port to it (ui-bridge.ts). Needs `serve`.
   */
  ui?: boolean
}

export interface LabNodeStatus {
  slot: number
  name: string
  mac: string
  firmware: Firmware
  pid: number | null
  running: boolean
  stage: string
  lastLine: string
  console: string
  /** The node's boot since its last power-on: server events plus console markers (lab/timeline.ts). */
  timeline: LabTimeline
}

export interface LabUp {
  state: LabState
  ready: Record<string, unknown>
}

export interface SlotOverride {
  slot: number
  firmware?: Firmware
  nic?: Nic
  uefiChain?: UefiChain
}

/** `2=uefi,e1000` or `3=uefi,ipxe-rom`: a slot and any of firmware, NIC model and UEFI chain, comma-separated. */
export function parseSlotOverride(text: string): SlotOverride | string {
  const m = /^([0-9]{1,2})=([a-z0-9,-]+)$/.exec(text)
  if (!m) return `slot override '${text}' is not <slot>=<firmware|nic|uefi-chain>[,…], e.g. 2=uefi,e1000`
  const o: SlotOverride = { slot: Number(m[1]) }
  for (const word of m[2]!.split(',')) {
    if ((FIRMWARES as readonly string[]).includes(word)) o.firmware = word as Firmware
    else if ((NICS as readonly string[]).includes(word)) o.nic = word as Nic
    else if ((UEFI_CHAINS as readonly string[]).includes(word)) o.uefiChain = word as UefiChain
    else
      return `slot override '${text}': '${word}' is none of ${[...FIRMWARES, ...NICS, ...UEFI_CHAINS].join(', ')}`
  }
  return o
}

const MAX_NODES = 60
/** The line `rackboot lab ui-bridge` prints once it listens. */
export const UI_BRIDGE_READY = 'rackboot ui-bridge ready'
/** The line `rackboot lab ra-sender` prints once its socket is open. */
export const RA_SENDER_READY = 'rackboot ra-sender ready'

export function parseLabSubnet(subnet: string): { base: string; serverIp: string; pool: string } | string {
  const m = /^198\.(18|19)\.([0-9]{1,3})\.0\/24$/.exec(subnet)
  if (!m || Number(m[2]) > 255)
    return `lab subnet '${subnet}' must be a /24 inside 198.18.0.0/15, e.g. 198.18.5.0/24`
  const base = `198.${m[1]}.${m[2]}`
  return { base, serverIp: `${base}.1`, pool: `${base}.100-${base}.199` }
}

export class Lab {
  private readonly sleep: (ms: number) => Promise<void>
  constructor(private readonly o: LabOptions) {
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)))
  }

  async state(): Promise<LabState | null> {
    const r = await readLabState(this.o.dataDir)
    if (!r.ok) throw new RackbootError(r.error, 'lab-state')
    return r.value
  }

  private async requireState(): Promise<LabState> {
    const s = await this.state()
    if (!s)
      throw new RackbootError(`no lab on ${this.o.dataDir}`, 'lab-none', 'start one with `rackboot lab up`')
    return s
  }

  async up(u: LabUpOptions): Promise<LabUp> {
    if (process.platform !== 'linux')
      throw new RackbootError('the lab needs Linux (network namespaces)', 'lab-os')
    const existing = await this.state()
    if (existing)
      throw new RackbootError(
        `a lab is already up on ${this.o.dataDir} (${existing.prefix}, ${existing.nodes.length} nodes)`,
        'lab-exists',
        'run `rackboot lab down` first',
      )
    if (!Number.isInteger(u.id) || u.id < 0 || u.id > 255)
      throw new RackbootError(`lab id ${u.id} is not 0..255`, 'bad-request')
    if (!Number.isInteger(u.nodes) || u.nodes < 1 || u.nodes > MAX_NODES)
      throw new RackbootError(`--nodes ${u.nodes} is not 1..${MAX_NODES}`, 'bad-request')
    const prefix = u.prefix ?? `rbl${u.id}`
    const prefixProblem = checkPrefix(prefix)
    if (prefixProblem) throw new RackbootError(prefixProblem, 'bad-request')
    const subnet = u.subnet ?? `198.18.${u.id}.0/24`
    const net = parseLabSubnet(subnet)
    if (typeof net === 'string') throw new RackbootError(net, 'bad-request')

    const names = labNames(prefix)
    const consoles = consolesDir(this.o.dataDir)
    await ensureDir(consoles)
    for (const o of u.slotOverrides ?? [])
      if (o.slot < 1 || o.slot > u.nodes)
        throw new RackbootError(
          `slot override for slot ${o.slot}: the lab has slots 1..${u.nodes}`,
          'bad-request',
        )
    const nodes: LabNode[] = Array.from({ length: u.nodes }, (_, i) => {
      const slot = i + 1
      const own = u.slotOverrides?.find((o) => o.slot === slot)
      const firmware: Firmware =
        own?.firmware ?? (u.firmware === 'mixed' ? (slot % 2 === 1 ? 'bios' : 'uefi') : u.firmware)
      const uefiChain = own?.uefiChain ?? u.uefiChain
      return {
        slot,
        name: `${prefix}-node${String(slot).padStart(2, '0')}`,
        mac: labMac(u.id, slot),
        firmware,
        nic: own?.nic ?? u.nic,
        ...(firmware === 'uefi' && uefiChain ? { uefiChain } : {}),
        memMiB: u.memMiB,
        tap: names.tap(slot),
        console: join(consoles, `slot${String(slot).padStart(2, '0')}.log`),
      }
    })
    const state: LabState = {
      version: 1,
      id: u.id,
      prefix,
      subnet,
      namespaces: [],
      links: [],
      serverNamespace: names.serverNamespace,
      clientNamespace: names.clientNamespace,
      serverInterface: names.serverIf,
      serverAddress: net.serverIp,
      nodes,
      processes: [],
      serveLog: join(labDir(this.o.dataDir), 'serve.log'),
      createdAt: new Date().toISOString(),
      ...(u.ui && u.serve !== false
        ? { ui: { port: await freePort(), socket: join(labDir(this.o.dataDir), 'ui.sock') } }
        : {}),
    }
    const save = () => writeLabState(this.o.dataDir, state)
    await save()
    try {
      await createLabNetwork(
        this.o.ip,
        names,
        { serverAddressCidr: `${net.serverIp}/24`, slots: nodes.map((n) => n.slot) },
        {
          namespace: async (name) => {
            state.namespaces.push(name)
            await save()
          },
          namespaceNotCreated: async (name) => {
            state.namespaces = state.namespaces.filter((n) => n !== name)
            await save()
          },
          link: async (namespace, name) => {
            state.links.push({ namespace, name })
            await save()
          },
        },
      )
      if (u.rateMbit !== undefined)
        // Inside the lab's own namespace, on its own interface: gone with the namespace.
        await this.o.ip([
          'netns',
          'exec',
          state.serverNamespace,
          'tc',
          'qdisc',
          'add',
          'dev',
          state.serverInterface,
          'root',
          'tbf',
          'rate',
          `${u.rateMbit}mbit`,
          'burst',
          '64kb',
          'latency',
          '500ms',
        ])
      await writeFile(state.serveLog, '', { mode: 0o600 })
      const settings = u.ipxeRomChain ? { ipxeRomChain: u.ipxeRomChain } : undefined
      const ready =
        u.serve === false ? {} : await this.startServe(state, net.pool, u.serveTimeoutS ?? 60, settings)
      if (u.ra !== false) await this.startRaSender(state)
      if (state.ui) await this.startUiBridge(state, state.ui)
      return { state, ready }
    } catch (e) {
      this.o.logger.warn(
        `lab up failed, removing what it made: ${e instanceof Error ? e.message : String(e)}`,
      )
      await this.down().catch(() => undefined)
      throw e
    }
  }

  private async startServe(
    state: LabState,
    pool: string,
    timeoutS: number,
    settings?: SettingsPatch,
  ): Promise<Record<string, unknown>> {
    const [cmd, ...pre] = this.o.selfCommand
    if (!cmd) throw new RackbootError('lab: no command to start serve with', 'lab-serve')
    const args = [...pre, 'serve', '--interface', state.serverInterface, '--dhcp-mode', 'server']
    args.push('--data-dir', this.o.dataDir, '--pool', pool)
    // --lab: this serve answers lab/status and lab/power for the UI (the state is in the same data dir).
    args.push('--lab')
    // The same port inside as the bridge holds on the host (ui-bridge.ts), and the socket between them.
    if (state.ui) args.push('--ui-port', String(state.ui.port), '--ui-socket', state.ui.socket)
    if (settings) {
      // serve stores a --config patch, so a later `restartServe` keeps it without passing it again.
      const file = join(labDir(this.o.dataDir), 'serve-settings.json')
      await writeFile(file, JSON.stringify(settings), { mode: 0o600 })
      args.push('--config', file)
    }
    // A restart appends to the same log: only a ready line after this offset is this serve's.
    const from = (await stat(state.serveLog).catch(() => null))?.size ?? 0
    const child = spawnInNamespace(state.serverNamespace, cmd, args, state.serveLog)
    const pid = child.pid
    const marker = `serve --interface ${state.serverInterface}`
    state.processes.push({ role: 'serve', pid, marker })
    await writeLabState(this.o.dataDir, state)
    // Bounded: timeoutS seconds in 200 ms steps.
    for (let i = 0; i < timeoutS * 5; i++) {
      const log = await readFrom(state.serveLog, from, 1024 * 1024)
      const m = /^rackboot ready (\{.*\})$/m.exec(log)
      if (m) return JSON.parse(m[1]!) as Record<string, unknown>
      // Our own child: its exit event and liveness, not its command line, which still shows ours until its
      // exec (a busy machine made that window long enough to call a starting serve dead).
      const ended = child.exit() ?? ((await processAlive(pid)) ? null : 'exited')
      if (ended !== null)
        throw new RackbootError(
          `lab: rackboot serve in ${state.serverNamespace} ended before ready (${ended}):\n${log.slice(-2000)}`,
          'lab-serve',
        )
      await this.sleep(200)
    }
    throw new RackbootError(
      `lab: rackboot serve did not become ready in ${timeoutS} s; see ${state.serveLog}`,
      'lab-serve',
    )
  }

  private async startRaSender(state: LabState): Promise<void> {
    const log = join(labDir(this.o.dataDir), 'ra.log')
    await writeFile(log, '', { mode: 0o600 })
    const [cmd, ...pre] = this.o.selfCommand
    const args = [...pre, 'lab', 'ra-sender', '--interface', state.serverInterface, '--id', String(state.id)]
    const child = spawnInNamespace(state.serverNamespace, cmd!, args, log)
    const pid = child.pid
    const marker = `lab ra-sender --interface ${state.serverInterface}`
    state.processes.push({ role: 'ra', pid, marker })
    await writeLabState(this.o.dataDir, state)
    for (let i = 0; i < 100; i++) {
      const text = await readTail(log, 64 * 1024)
      if (text.includes(RA_SENDER_READY)) return
      if (!(await processAlive(pid)))
        throw new RackbootError(
          `lab: the RA sender exited (${child.exit() ?? 'gone'}): ${text.slice(-2000)}`,
          'lab-ra',
        )
      await this.sleep(200)
    }
    throw new RackbootError(`lab: the RA sender did not start in 20 s; see ${log}`, 'lab-ra')
  }

  private async startUiBridge(state: LabState, ui: { port: number; socket: string }): Promise<void> {
    const log = join(labDir(this.o.dataDir), 'ui-bridge.log')
    await writeFile(log, '', { mode: 0o600 })
    const [cmd, ...pre] = this.o.selfCommand
    const args = [...pre, 'lab', 'ui-bridge', '--socket', ui.socket, '--port', String(ui.port)]
    // In this (the host's) namespace: that is the point of it.
    const child = spawnDetached(cmd!, args, log)
    state.processes.push({ role: 'ui-bridge', pid: child.pid, marker: `lab ui-bridge --socket ${ui.socket}` })
    await writeLabState(this.o.dataDir, state)
    for (let i = 0; i < 100; i++) {
      const text = await readTail(log, 64 * 1024)
      if (text.includes(UI_BRIDGE_READY)) return
      if (!(await processAlive(child.pid)))
        throw new RackbootError(
          `lab: the UI bridge exited (${child.exit() ?? 'gone'}): ${text.slice(-2000)}`,
          'lab-ui',
        )
      await this.sleep(200)
    }
    throw new RackbootError(`lab: the UI bridge did not start in 20 s; see ${log}`, 'lab-ui')
  }

  /**
   * Stops the lab's serve and starts it again on the same data dir and interface (the nodes keep running):
   * the fault "server restarted while nodes boot". Returns the new serve's ready line.
   */
  async restartServe(serveTimeoutS = 60): Promise<Record<string, unknown>> {
    const state = await this.requireState()
    for (const p of state.processes.filter((q) => q.role === 'serve')) await stopProcess(p.pid, p.marker)
    state.processes = state.processes.filter((p) => p.role !== 'serve')
    await writeLabState(this.o.dataDir, state)
    const net = parseLabSubnet(state.subnet)
    if (typeof net === 'string') throw new RackbootError(net, 'lab-state')
    return this.startServe(state, net.pool, serveTimeoutS)
  }

  /** Starts the QEMU nodes that are not running, in slot order, `intervalS` apart. Returns the slots started. */
  async powerOn(target: number | 'all', intervalS = 0): Promise<number[]> {
    const state = await this.requireState()
    const chosen = this.select(state, target)
    const started: number[] = []
    for (const node of chosen) {
      if (await this.runningPid(state, node.slot)) continue
      if (started.length > 0 && intervalS > 0) await this.sleep(intervalS * 1000)
      await writeFile(node.console, '', { mode: 0o600 })
      state.processes = state.processes.filter((p) => !(p.role === 'qemu' && p.slot === node.slot))
      const { pid } = spawnInNamespace(state.clientNamespace, QEMU, qemuArgs(node), `${node.console}.qemu`)
      state.processes.push({
        role: 'qemu',
        pid,
        marker: `ifname=${node.tap},`,
        slot: node.slot,
        startedAt: new Date().toISOString(),
      })
      await writeLabState(this.o.dataDir, state)
      started.push(node.slot)
    }
    return started
  }

  async powerOff(target: number | 'all'): Promise<number[]> {
    const state = await this.requireState()
    const slots = new Set(this.select(state, target).map((n) => n.slot))
    const stopped: number[] = []
    for (const p of state.processes.filter(
      (p) => p.role === 'qemu' && p.slot !== undefined && slots.has(p.slot),
    )) {
      if (await processMatches(p.pid, p.marker)) stopped.push(p.slot!)
      await stopProcess(p.pid, p.marker, 3_000)
    }
    state.processes = state.processes.filter(
      (p) => !(p.role === 'qemu' && p.slot !== undefined && slots.has(p.slot)),
    )
    await writeLabState(this.o.dataDir, state)
    return stopped
  }

  /** `stallS`: seconds without a boot event before a node that is not up shows as stalled. */
  async status(stallS = 180): Promise<{ state: LabState; serveRunning: boolean; nodes: LabNodeStatus[] }> {
    const state = await this.requireState()
    const serve = state.processes.find((p) => p.role === 'serve')
    const nodes: LabNodeStatus[] = []
    for (const n of state.nodes) {
      const pid = await this.runningPid(state, n.slot)
      const text = await readTail(n.console, 256 * 1024)
      const summary = consoleSummary(text)
      const changed = await stat(n.console).catch(() => null)
      const timeline = labTimeline({
        boot: await readLatestBoot(join(this.o.dataDir, 'timelines'), n.mac),
        console: text,
        poweredOnAt: state.processes.find((p) => p.role === 'qemu' && p.slot === n.slot)?.startedAt ?? null,
        running: pid !== null,
        now: Date.now(),
        stallMs: stallS * 1000,
        consoleChangedAt: changed ? changed.mtime.toISOString() : null,
      })
      nodes.push({
        slot: n.slot,
        name: n.name,
        mac: n.mac,
        firmware: n.firmware,
        pid,
        running: pid !== null,
        stage: summary.stage,
        lastLine: summary.lastLine,
        console: n.console,
        timeline,
      })
    }
    return { state, serveRunning: serve ? await processMatches(serve.pid, serve.marker) : false, nodes }
  }

  /**
   * Stops every recorded process (serve first, then QEMU, the UI bridge and the RA sender) and deletes the recorded
   * namespaces, which removes their links. Idempotent; the state file goes only when all of it is gone.
   */
  async down(): Promise<{ removed: boolean; problems: string[] }> {
    const state = await this.state()
    if (!state) return { removed: false, problems: [] }
    // The serve first: an interval power-on running inside it (lab/power from the UI) could otherwise start
    // a node after the nodes were stopped. Then the state again, with any node it started meanwhile.
    for (const p of state.processes.filter((q) => q.role === 'serve')) await stopProcess(p.pid, p.marker)
    const after = await this.state().catch(() => null)
    const processes = [
      ...state.processes,
      ...(after?.processes ?? []).filter((p) => !state.processes.some((q) => q.pid === p.pid)),
    ]
    const order: LabProcess['role'][] = ['qemu', 'ui-bridge', 'ra']
    for (const role of order)
      for (const p of processes.filter((q) => q.role === role)) await stopProcess(p.pid, p.marker)
    const problems = await removeNamespaces(this.o.ip, state.namespaces)
    // The serve removes its UI socket when it stops; a crashed one leaves it.
    if (state.ui) await rm(state.ui.socket, { force: true })
    for (const p of processes)
      if (await processMatches(p.pid, p.marker)) problems.push(`${p.role} PID ${p.pid} is still running`)
    if (problems.length === 0) await rm(labStateFile(this.o.dataDir), { force: true })
    return { removed: true, problems }
  }

  private select(state: LabState, target: number | 'all'): LabNode[] {
    if (target === 'all') return [...state.nodes].sort((a, b) => a.slot - b.slot)
    const node = state.nodes.find((n) => n.slot === target)
    if (!node)
      throw new RackbootError(`lab has no slot ${target} (slots 1..${state.nodes.length})`, 'bad-request')
    return [node]
  }

  private async runningPid(state: LabState, slot: number): Promise<number | null> {
    for (const p of state.processes)
      if (p.role === 'qemu' && p.slot === slot && (await processMatches(p.pid, p.marker))) return p.pid
    return null
  }
}

/** Up to `max` bytes of a file from offset `start`, as text; '' when it does not exist. */
async function readFrom(file: string, start: number, max: number): Promise<string> {
  let handle
  try {
    handle = await open(file, 'r')
  } catch {
    return ''
  }
  try {
    const buf = Buffer.alloc(max)
    const { bytesRead } = await handle.read(buf, 0, max, start)
    return buf.subarray(0, bytesRead).toString('latin1')
  } finally {
    await handle.close()
  }
}

/** The last `bytes` of a file as text, or '' when it does not exist. */
export async function readTail(file: string, bytes: number): Promise<string> {
  let handle
  try {
    handle = await open(file, 'r')
  } catch {
    return ''
  }
  try {
    const size = (await handle.stat()).size
    const start = Math.max(0, size - bytes)
    const buf = Buffer.alloc(size - start)
    await handle.read(buf, 0, buf.length, start)
    return buf.toString('latin1')
  } finally {
    await handle.close()
  }
}
