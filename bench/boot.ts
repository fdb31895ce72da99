/**
 * Whole boots, power-on to up: N QEMU nodes (TCG, BIOS virtio, the NIC's iPXE ROM) boot rackboot-rescue from
 * Rackboot (`rackboot lab`) and, in the same run, from dnsmasq (DHCP) + nginx (HTTP) serving the very same
 * files: the iPXE script, kernel, image, modules and system overlay Rackboot rendered for each MAC, fetched
 * from Rackboot's own HTTP server after its first round, on the same address and port so no byte differs.
 *
 * The end point is the same for both stacks: the first time the node's console shows the image's marker line
 * (printed by its init once eth0 has its address, right after Rackboot's agent starts). Rackboot's own
 * timeline also has the agent's `up` report: printed alongside. Root, Linux, qemu, dnsmasq, nginx, tcpdump.
 *
 *   npm run bench:boot [-- --nodes 1,8] [-- --rounds 4] [-- --keep]
 *
 * Rounds alternate the order (round 1 Rackboot first, round 2 the peer first, …: ABBA), since whichever stack
 * boots first has been slower on this machine. Every round starts each stack from scratch (new data dir: a
 * node's first boot, SSH host key and overlay rendered on its script request). Where the time goes is measured
 * the same way for both: one tcpdump on the server's interface (DHCP ACK, script answered), the server's own
 * record of each file sent (Rackboot's timeline, nginx's access log with $msec), the console's marker, and
 * the serving processes' CPU seconds over the boot (/proc/PID/stat of the process tree). Rackboot's nodes power
 * on once serve is ready and has prebuilt their overlays (as it has long before a real rack powers on).
 *
 * Names: lab prefix `rblb4`, lab id 34, 198.19.34.0/24 (the lab's own namespaces; nothing on real NICs).
 */
import { spawnSync } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { dispatch } from '../electron/core/api/dispatch'
import { readLatestBoot } from '../electron/core/boot/timeline/recorder'
import { DEFAULT_IMAGE_NAME, ensureDefaultImage } from '../electron/core/images/default-image'
import { labMac } from '../electron/core/lab/qemu'
import { Rackboot } from '../electron/core/rackboot'
import { CAPTURE_FILTER, readBootPcap, wireMilestones } from './lib/boot-pcap'
import { nginxConf } from './lib/nginx'
import { Cleanup, listening, run, startDaemon, type Daemon } from './lib/procs'
import { fmt, markdownTable, median, ratio } from './lib/table'
import { treeCpuSeconds } from './lib/proc-cpu'

const { values: args } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1,8' },
    /**
     * Rounds per N; default 6 for N ≤ 2, 4 above: N = 1 and 8 together about 12 minutes on a quiet machine
     * (a round of N = 1 about 40 s, of N = 8 about 2 minutes; 3× that at a load of 15).
     */
    rounds: { type: 'string' },
    /** Which stack boots first in round 1; later rounds alternate. */
    first: { type: 'string', default: 'rackboot' },
    /** Keep the work dir (captures, logs, timelines) and print its path. */
    keep: { type: 'boolean', default: false },
  },
})
const PREFIX = 'rblb4'
const LAB_ID = 34
const BASE = '198.19.34'
const SERVER = `${BASE}.1`
const PORT = 9873
const MARKER = 'RACKBOOT-DEFAULT-IMAGE-UP'
const BOOT_TIMEOUT_MS = 600_000
const TARGET = 1.05
const SETTLE_MS = 2000
const ROOT = path.join(import.meta.dirname, '..')
const BIN = path.join(ROOT, 'bin', 'rackboot.js')
const ARTIFACTS = ['kernel', 'image', 'modules', 'system'] as const
/** Per-node milestones both stacks report, seconds from power-on, in boot order. */
const STAGES = ['discover', 'ack', 'script', 'kernel', 'last file', 'os ack', 'marker'] as const
type Stage = (typeof STAGES)[number]
type Stack = 'rackboot' | 'peer'

interface NodeResult {
  slot: number
  /** Power-on to each milestone, seconds; absent = not seen. `marker` = the console's marker line. */
  at: Partial<Record<Stage, number>>
  /** Rackboot only: power-on to the agent's `up` report in the server's timeline. */
  agentS: number | null
  /**
   * CPU seconds the node's QEMU used from power-on to its marker: the guest's work. Equal work with a longer
   * wall time means the guest waited for the CPU (the machine's load), not for the server.
   */
  guestCpuS: number | null
}

interface StackRound {
  nodes: NodeResult[]
  /** CPU seconds (user + system) of the serving processes from power-on to the last marker. */
  cpuS: number | null
}

const macOf = (slot: number) => labMac(LAB_ID, slot)
const dashed = (mac: string) => mac.replace(/:/g, '-')
const slotName = (slot: number) => `b${String(slot).padStart(2, '0')}`
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function rackboot(dataDir: string, ...a: string[]): string {
  const r = spawnSync(process.execPath, [BIN, ...a, '--data-dir', dataDir], {
    encoding: 'utf8',
    timeout: 120_000,
  })
  if (r.status !== 0) throw new Error(`rackboot ${a.join(' ')} exited ${r.status}: ${r.stderr}`)
  return r.stdout
}

/**
 * `lab up` with the bench's names and n nodes; returns its stop (`lab down`). Until then a cleanup step
 * takes the lab down if the run dies; the stop drops that step once `lab down` succeeded.
 */
function labUp(dataDir: string, n: number, cleanup: Cleanup, ...extra: string[]): () => void {
  const down = cleanup.add(`lab down ${dataDir}`, () => void rackboot(dataDir, 'lab', 'down'))
  rackboot(
    dataDir,
    'lab',
    'up',
    '--nodes',
    String(n),
    '--id',
    String(LAB_ID),
    '--prefix',
    PREFIX,
    '--subnet',
    `${BASE}.0/24`,
    ...extra,
  )
  return () => {
    rackboot(dataDir, 'lab', 'down')
    down()
  }
}

interface LabStateFile {
  processes: Array<{ role: string; pid: number; slot?: number; startedAt?: string }>
}
const labState = (dataDir: string) =>
  JSON.parse(readFileSync(path.join(dataDir, 'lab', 'state.json'), 'utf8')) as LabStateFile

/** tcpdump on the server's lab interface: DHCP and HTTP headers only (bench/lib/boot-pcap.ts). */
function capture(file: string, cleanup: Cleanup): Promise<Daemon> {
  return startDaemon(
    'tcpdump',
    [
      'ip',
      'netns',
      'exec',
      `${PREFIX}-srv`,
      'tcpdump',
      '-i',
      `${PREFIX}-s`,
      '-n',
      '-s',
      '600',
      '-U',
      '--immediate-mode',
      '-w',
      file,
      CAPTURE_FILTER(PORT),
    ],
    { readyLine: /listening on/, readyTimeoutMs: 10_000, cleanup },
  )
}

/**
 * Powers on every slot at once and waits for each console's marker (bounded by BOOT_TIMEOUT_MS); CPU of
 * `servingPids`' trees is sampled at power-on and once every marker is in. Returns markers (epoch ms) and
 * power-on times per slot.
 */
async function bootAll(
  dataDir: string,
  n: number,
  servingPids: number[],
): Promise<{
  on: Map<number, number>
  marker: Map<number, number>
  guestCpu: Map<number, number>
  cpuS: number | null
}> {
  // Both stacks power on from the same state: the setup's writes (image import, rendered files) flushed and
  // a moment of quiet, so neither boots under the other's writeback (whichever went first used to be slower).
  spawnSync('sync')
  await sleep(SETTLE_MS)
  const cpu0 = servingPids.length ? await treeCpuSeconds(servingPids) : null
  rackboot(dataDir, 'lab', 'power-on', 'all')
  const state = labState(dataDir)
  const on = new Map<number, number>()
  const qemu = new Map<number, number>()
  for (const p of state.processes)
    if (p.role === 'qemu' && p.slot !== undefined && p.startedAt) {
      on.set(p.slot, Date.parse(p.startedAt))
      qemu.set(p.slot, p.pid)
    }
  const marker = new Map<number, number>()
  const guestCpu = new Map<number, number>()
  const deadline = Date.now() + BOOT_TIMEOUT_MS
  while (marker.size < n && Date.now() < deadline) {
    for (let slot = 1; slot <= n; slot++) {
      if (marker.has(slot)) continue
      const f = path.join(dataDir, 'lab', 'consoles', `slot${String(slot).padStart(2, '0')}.log`)
      if (existsSync(f) && readFileSync(f, 'latin1').includes(MARKER)) {
        marker.set(slot, Date.now())
        const pid = qemu.get(slot)
        if (pid !== undefined) guestCpu.set(slot, await treeCpuSeconds([pid]))
      }
    }
    await sleep(100)
  }
  const cpu1 = servingPids.length ? await treeCpuSeconds(servingPids) : null
  return { on, marker, guestCpu, cpuS: cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null }
}

/** Milestones read off the wire capture for each slot, seconds from its power-on. */
function wireStages(
  pcap: string,
  on: Map<number, number>,
  n: number,
): Map<number, Partial<Record<Stage, number>>> {
  const events = existsSync(pcap) ? readBootPcap(pcap) : []
  const out = new Map<number, Partial<Record<Stage, number>>>()
  for (let slot = 1; slot <= n; slot++) {
    const w = wireMilestones(events, macOf(slot))
    const t0 = on.get(slot)! / 1000
    const s: Partial<Record<Stage, number>> = {}
    if (w.discover !== undefined) s.discover = w.discover - t0
    if (w.ack !== undefined) s.ack = w.ack - t0
    if (w.osAck !== undefined) s['os ack'] = w.osAck - t0
    if (w.scriptResponse !== undefined) s.script = w.scriptResponse - t0
    out.set(slot, s)
  }
  return out
}

function dataDirFor(work: string, stack: Stack, n: number, round: number): string {
  return path.join(work, `r${round}-${stack}-${n}`)
}

/** A fresh Rackboot data dir with the default image and n nodes (untimed). */
async function prepareRackboot(dataDir: string, n: number): Promise<void> {
  const core = await Rackboot.open({ dataDir })
  try {
    const imported = await ensureDefaultImage(core, { resourcesDir: path.join(ROOT, 'resources') })
    if (imported.status === 'no-archive') throw new Error('no default image: npm run build:default-image')
    for (let slot = 1; slot <= n; slot++) {
      const r = await dispatch(core.handlers, 'nodes/add', {
        name: slotName(slot),
        mac: macOf(slot),
        ip: `${BASE}.${10 + slot}`,
        image: DEFAULT_IMAGE_NAME,
      })
      if (!r.ok) throw new Error(`nodes/add: ${r.error.message}`)
    }
  } finally {
    await core.close()
  }
}

/**
 * Waits (bounded) until serve's prebuild has every node's system overlay on disk (its sidecar is written last),
 * as it has long before a real rack powers on: the nodes then meet a ready server, as they meet nginx with
 * its files in place, and serve's start-up work stays out of the boot. Reports how long it took.
 */
async function overlaysPrebuilt(dataDir: string, n: number): Promise<void> {
  const started = Date.now()
  const done = () =>
    Array.from({ length: n }, (_, i) => slotName(i + 1)).every((name) =>
      existsSync(path.join(dataDir, 'overlays', name, 'system.json')),
    )
  while (!done() && Date.now() - started < 60_000) await sleep(100)
  process.stderr.write(
    done()
      ? `  Rackboot prebuilt ${n} overlay(s) ${((Date.now() - started) / 1000).toFixed(1)} s after serve was ready\n`
      : `  Rackboot's overlays were not prebuilt within 60 s; the nodes build them on their script request\n`,
  )
}

/** What Rackboot served each MAC, fetched from its own HTTP server inside the lab's server namespace. */
async function saveServedFiles(dataDir: string, n: number, files: string): Promise<void> {
  for (let slot = 1; slot <= n; slot++) {
    const mac = dashed(macOf(slot))
    for (const kind of ['ipxe', ...ARTIFACTS]) {
      const out = path.join(files, kind, mac)
      mkdirSync(path.dirname(out), { recursive: true })
      if (kind === 'system') {
        // Rackboot serves a node's overlay only to that node's address: take the file it serves from its cache.
        copyFileSync(path.join(dataDir, 'overlays', slotName(slot), 'system.cpio.gz'), out)
        continue
      }
      const r = await run(
        [
          'ip',
          'netns',
          'exec',
          `${PREFIX}-srv`,
          'curl',
          '-sf',
          '-o',
          out,
          `http://${SERVER}:${PORT}/${kind}/${mac}`,
        ],
        { timeoutMs: 60_000 },
      )
      if (r.code !== 0) throw new Error(`fetching /${kind}/${mac} from Rackboot failed: ${r.stderr}`)
    }
  }
}

/** Rackboot's round; when `files` has no copy yet, leaves each MAC's served files there for the peer. */
async function rackbootRound(
  work: string,
  n: number,
  round: number,
  files: string,
  cleanup: Cleanup,
): Promise<StackRound> {
  const dataDir = dataDirFor(work, 'rackboot', n, round)
  await prepareRackboot(dataDir, n)
  const labDown = labUp(dataDir, n, cleanup)
  try {
    await overlaysPrebuilt(dataDir, n)
    const pcap = path.join(dataDir, 'wire.pcap')
    const dump = await capture(pcap, cleanup)
    const serve = labState(dataDir).processes.find((p) => p.role === 'serve')
    const boot = await bootAll(dataDir, n, serve ? [serve.pid] : [])
    await sleep(500)
    await dump.stop()
    writeFileSync(path.join(dataDir, 'wire.log'), dump.output())
    const wire = wireStages(pcap, boot.on, n)
    const nodes: NodeResult[] = []
    for (let slot = 1; slot <= n; slot++) {
      const t0 = boot.on.get(slot)!
      const at = wire.get(slot)!
      const m = boot.marker.get(slot)
      if (m !== undefined) at.marker = (m - t0) / 1000
      // The agent reports a moment after the marker: give it up to 60 s more.
      let agentS: number | null = null
      for (let i = 0; i < 600 && agentS === null; i++) {
        const rec = await readLatestBoot(path.join(dataDir, 'timelines'), macOf(slot))
        const from = (name: string) => {
          const x = rec?.milestones.find((q) => q.milestone === name)
          return x ? (Date.parse(x.time) - t0) / 1000 : undefined
        }
        const up = from('agent-up')
        if (up === undefined) {
          await sleep(100)
          continue
        }
        agentS = up
        const kernel = from('kernel')
        if (kernel !== undefined) at.kernel = kernel
        const files = ['kernel', 'image', 'overlays'].map(from).filter((x) => x !== undefined)
        if (files.length) at['last file'] = Math.max(...files)
      }
      nodes.push({ slot, at, agentS, guestCpuS: boot.guestCpu.get(slot) ?? null })
    }
    if (!existsSync(path.join(files, 'ipxe'))) await saveServedFiles(dataDir, n, files)
    return { nodes, cpuS: boot.cpuS }
  } finally {
    labDown()
  }
}

function dnsmasqConf(work: string, n: number, tftpRoot: string): string {
  const hosts = Array.from({ length: n }, (_, i) => {
    const slot = i + 1
    const mac = macOf(slot)
    return [
      `dhcp-host=${mac},${BASE}.${10 + slot},set:n${slot}`,
      `dhcp-boot=tag:n${slot},tag:ipxe,http://${SERVER}:${PORT}/ipxe/${dashed(mac)}`,
    ].join('\n')
  }).join('\n')
  // The setup PXE-NOTES measured: each MAC's own script URL for iPXE (as Rackboot offers it), iPXE told not to
  // wait for ProxyDHCP (option 175.176), TFTP undionly.kpxe for firmware that is not iPXE yet (unused here).
  return `port=0
interface=${PREFIX}-s
bind-interfaces
no-resolv
no-hosts
user=root
log-facility=-
log-dhcp
dhcp-range=${BASE}.100,${BASE}.199,255.255.255.0,1h
dhcp-leasefile=${work}/dnsmasq.leases
dhcp-authoritative
dhcp-match=set:ipxe,175
dhcp-option=tag:ipxe,encap:175,176,1b
dhcp-boot=tag:!ipxe,undionly.kpxe,,${SERVER}
enable-tftp
tftp-root=${tftpRoot}
${hosts}
`
}

/** nginx access log lines: `$msec "$request"`, end of each response in epoch seconds. */
function nginxDone(log: string): Array<{ time: number; path: string }> {
  if (!existsSync(log)) return []
  return readFileSync(log, 'utf8')
    .split('\n')
    .map((l) => /^(\d+\.\d+) "(?:GET|POST|HEAD) (\S+)/.exec(l))
    .filter((m) => m !== null)
    .map((m) => ({ time: Number(m[1]), path: m[2]! }))
}

async function peerRound(
  work: string,
  n: number,
  round: number,
  files: string,
  cleanup: Cleanup,
): Promise<StackRound> {
  const dataDir = dataDirFor(work, 'peer', n, round)
  const labDown = labUp(dataDir, n, cleanup, '--no-serve')
  try {
    const dir = path.join(dataDir, 'peer-conf')
    mkdirSync(dir, { recursive: true })
    const accessLog = path.join(dir, 'access.log')
    writeFileSync(path.join(dir, 'dnsmasq.conf'), dnsmasqConf(dir, n, path.join(ROOT, 'resources', 'ipxe')))
    writeFileSync(
      path.join(dir, 'nginx.conf'),
      nginxConf({
        work: dir,
        listen: `${SERVER}:${PORT}`,
        root: files,
        // The work dir is private (mkdtemp, 0700) and the overlay 0600, as Rackboot keeps them.
        userRoot: true,
        httpExtra: `  log_format bench '$msec "$request" $status $body_bytes_sent';\n`,
        // The bootstrap and the agent report here; the peer only says yes.
        serverExtra: `    access_log ${accessLog} bench;\n    location /agent/ { return 204; }\n`,
      }),
    )
    const ns = ['ip', 'netns', 'exec', `${PREFIX}-srv`]
    // The lab's RA sender runs in this namespace too (lab up starts it without serve), as it does for Rackboot.
    const dnsmasq = await startDaemon(
      'dnsmasq',
      [...ns, '/usr/sbin/dnsmasq', '-k', '-C', path.join(dir, 'dnsmasq.conf')],
      { ready: () => listening(`${PREFIX}-srv`, 'udp', 67), readyTimeoutMs: 10_000, cleanup },
    )
    const nginx = await startDaemon(
      'nginx',
      [...ns, '/usr/sbin/nginx', '-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'],
      { ready: () => listening(`${PREFIX}-srv`, 'tcp', PORT), readyTimeoutMs: 10_000, cleanup },
    )
    const pcap = path.join(dataDir, 'wire.pcap')
    try {
      const dump = await capture(pcap, cleanup)
      const boot = await bootAll(dataDir, n, [dnsmasq.pid, nginx.pid])
      // nginx writes its access log line as each response ends; the capture's last packets: a moment.
      await sleep(500)
      await dump.stop()
      writeFileSync(path.join(dataDir, 'wire.log'), dump.output())
      const wire = wireStages(pcap, boot.on, n)
      const done = nginxDone(accessLog)
      writeFileSync(path.join(dataDir, 'dnsmasq.log'), dnsmasq.output())
      const nodes: NodeResult[] = []
      for (let slot = 1; slot <= n; slot++) {
        const t0 = boot.on.get(slot)! / 1000
        const at = wire.get(slot)!
        const m = boot.marker.get(slot)
        if (m !== undefined) at.marker = m / 1000 - t0
        const mine = done.filter((d) => d.path.includes(dashed(macOf(slot))))
        const kernel = mine.find((d) => d.path.startsWith('/kernel/'))
        if (kernel) at.kernel = kernel.time - t0
        const served = mine.filter((d) => ARTIFACTS.some((a) => d.path.startsWith(`/${a}/`)))
        if (served.length) at['last file'] = Math.max(...served.map((d) => d.time)) - t0
        nodes.push({ slot, at, agentS: null, guestCpuS: boot.guestCpu.get(slot) ?? null })
      }
      return { nodes, cpuS: boot.cpuS }
    } finally {
      await nginx.stop()
      await dnsmasq.stop()
    }
  } finally {
    labDown()
  }
}

const present = (xs: Array<number | null | undefined>): number[] =>
  xs.filter((x): x is number => x !== null && x !== undefined)
const stageMedian = (nodes: NodeResult[], s: Stage) => median(present(nodes.map((x) => x.at[s])))

function defaultRounds(n: number): number {
  return n <= 2 ? 6 : 4
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:boot needs root (network namespaces, port 67)')
  const counts = args.nodes.split(',').map(Number)
  const build = spawnSync(process.execPath, [path.join(ROOT, 'build', 'build-node.mjs')], {
    stdio: 'inherit',
  })
  if (build.status !== 0) throw new Error('building the CLI failed')
  const cleanup = new Cleanup()
  cleanup.onSignals()
  const work = mkdtempSync(path.join(os.tmpdir(), 'rblb4-bench-'))
  if (!args.keep) cleanup.add('remove work dir', () => rmSync(work, { recursive: true, force: true }))
  const load = () => os.loadavg()[0]!.toFixed(1)
  const roundRows: string[][] = []
  const stageRows: string[][] = []
  const summary: string[][] = []
  const verdicts: string[] = []
  try {
    for (const n of counts) {
      const rounds = args.rounds ? Number(args.rounds) : defaultRounds(n)
      const files = path.join(work, `files-${n}`)
      const all: Record<Stack, NodeResult[]> = { rackboot: [], peer: [] }
      const ratios: number[] = []
      for (let round = 1; round <= rounds; round++) {
        const startFirst: Stack = args.first === 'peer' ? 'peer' : 'rackboot'
        const order: Stack[] =
          round % 2 === 1 ? [startFirst, other(startFirst)] : [other(startFirst), startFirst]
        if (order[0] === 'peer' && !existsSync(path.join(files, 'ipxe'))) {
          // The peer serves Rackboot's rendered files: render them with an untimed Rackboot boot first.
          process.stderr.write(`N=${n}: rendering the files for the peer (untimed Rackboot boot)…\n`)
          await rackbootRound(path.join(work, 'untimed'), n, round, files, cleanup)
        }
        const loadBefore = load()
        const res: Partial<Record<Stack, StackRound>> = {}
        for (const stack of order) {
          process.stderr.write(`N=${n} round ${round}/${rounds}: ${stack}… (load ${load()})\n`)
          res[stack] =
            stack === 'rackboot'
              ? await rackbootRound(work, n, round, files, cleanup)
              : await peerRound(work, n, round, files, cleanup)
        }
        const ours = res.rackboot!
        const peer = res.peer!
        all.rackboot.push(...ours.nodes)
        all.peer.push(...peer.nodes)
        const mo = stageMedian(ours.nodes, 'marker')
        const mp = stageMedian(peer.nodes, 'marker')
        if (mo !== null && mp !== null && mp > 0) ratios.push(mo / mp)
        const up = (xs: NodeResult[]) => `${present(xs.map((x) => x.at.marker)).length}/${n}`
        roundRows.push([
          String(n),
          String(round),
          order[0] === 'rackboot' ? 'R first' : 'P first',
          up(ours.nodes),
          fmt(mo),
          fmt(median(present(ours.nodes.map((x) => x.agentS)))),
          fmt(ours.cpuS, 2),
          fmt(median(present(ours.nodes.map((x) => x.guestCpuS)))),
          up(peer.nodes),
          fmt(mp),
          fmt(peer.cpuS, 2),
          fmt(median(present(peer.nodes.map((x) => x.guestCpuS)))),
          ratio(mo, mp),
          `${loadBefore}→${load()}`,
        ])
        process.stderr.write(`${roundRows.at(-1)!.join(' | ')}\n`)
        for (const stack of ['rackboot', 'peer'] as const)
          process.stderr.write(
            `  ${stack} medians: ${STAGES.map((s) => `${s} ${fmt(stageMedian(res[stack]!.nodes, s), 2)}`).join(', ')}\n`,
          )
      }
      for (const s of STAGES) {
        const r = stageMedian(all.rackboot, s)
        const p = stageMedian(all.peer, s)
        stageRows.push([String(n), s, fmt(r, 2), fmt(p, 2), fmt(r !== null && p !== null ? r - p : null, 2)])
      }
      const overall = median(ratios)
      const spread = ratios.length ? `${fmt(Math.min(...ratios), 2)}–${fmt(Math.max(...ratios), 2)}` : '–'
      const met = overall !== null && overall <= TARGET
      summary.push([
        String(n),
        String(rounds),
        fmt(stageMedian(all.rackboot, 'marker')),
        fmt(stageMedian(all.peer, 'marker')),
        overall === null ? '–' : `${overall.toFixed(2)}×`,
        spread,
        overall === null ? 'no result' : met ? 'met' : 'NOT met',
      ])
      verdicts.push(
        `N=${n}: ${overall === null ? 'no result' : `${overall.toFixed(2)}× (rounds ${spread}) → target ≤ ${TARGET}× ${met ? 'met' : 'NOT met'}`}`,
      )
    }
  } finally {
    await cleanup.run()
  }
  process.stdout.write(
    [
      '',
      'Per round (medians over the nodes, seconds from power-on to the marker line; CPU = serving processes over the',
      "boot; guest CPU = the node's QEMU from power-on to its marker):",
      markdownTable(
        [
          'N',
          'round',
          'order',
          'R up',
          'Rackboot',
          'R agent up',
          'R CPU s',
          'R guest CPU s',
          'P up',
          'dnsmasq+nginx',
          'P CPU s',
          'P guest CPU s',
          'ratio',
          'load 1 min',
        ],
        roundRows,
      ),
      '',
      'Per milestone, median over every node of every round (seconds from power-on; discover, ack, script and os ack from',
      "the wire). discover comes before any server work (firmware only): its R − P is this run's noise floor.",
      markdownTable(['N', 'milestone', 'Rackboot', 'dnsmasq+nginx', 'R − P'], stageRows),
      '',
      'Overall (ratio = median of the per-round ratios of the node medians; spread = lowest–highest round):',
      markdownTable(
        ['N', 'rounds', 'Rackboot median', 'peer median', 'ratio', 'spread', `≤ ${TARGET}×`],
        summary,
      ),
      '',
      ...verdicts,
      args.keep ? `work dir kept: ${work}` : '',
      '',
    ].join('\n'),
  )
}

const other = (s: Stack): Stack => (s === 'rackboot' ? 'peer' : 'rackboot')

main().catch((e: unknown) => {
  process.stderr.write(`bench:boot: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exit(1)
})
