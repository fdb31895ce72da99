/**
 * Whole boots, power-on to up: N QEMU nodes (TCG, BIOS virtio, the NIC's iPXE ROM) boot rackboot-rescue from
 * Rackboot (`rackboot lab`) and, in the same run, from dnsmasq (DHCP) + nginx (HTTP) serving the very same
 * files: the iPXE script, kernel, image, modules and system overlay Rackboot rendered for each MAC, fetched
 * from Rackboot's own HTTP server after its round, on the same address and port so no byte differs.
 *
 * The end point is the same for both stacks: the first time the node's console shows the image's marker line
 * (printed by its init once eth0 has its address, right after Rackboot's agent starts). Rackboot's own
 * timeline also has the agent's `up` report: printed alongside. Root, Linux, qemu, dnsmasq, nginx.
 *
 *   npm run bench:boot [-- --nodes 1,8] [-- --rounds 1]
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
import { nginxConf } from './lib/nginx'
import { Cleanup, listening, run, startDaemon } from './lib/procs'
import { fmt, markdownTable, median, ratio } from './lib/table'

const { values: args } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1,8' },
    rounds: { type: 'string', default: '1' },
    /** Which stack boots first in each round (the machine's load drifts during a run). */
    first: { type: 'string', default: 'rackboot' },
  },
})
const PREFIX = 'rblb4'
const LAB_ID = 34
const BASE = '198.19.34'
const SERVER = `${BASE}.1`
const PORT = 9873
const MARKER = 'RACKBOOT-DEFAULT-IMAGE-UP'
const BOOT_TIMEOUT_MS = 600_000
const ROOT = path.join(import.meta.dirname, '..')
const BIN = path.join(ROOT, 'bin', 'rackboot.js')
const ARTIFACTS = ['kernel', 'image', 'modules', 'system'] as const

interface NodeResult {
  slot: number
  /** Power-on to the marker on the console, seconds; null = not within the timeout. */
  markerS: number | null
  /** Rackboot only: power-on to the agent's `up` report in the server's timeline. */
  agentS: number | null
  /** Rackboot only: power-on to each server-side milestone, seconds (where the time goes). */
  stages: Record<string, number>
}

const macOf = (slot: number) => labMac(LAB_ID, slot)
const dashed = (mac: string) => mac.replace(/:/g, '-')

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

/** Powers on every slot at once and waits for each console's marker; bounded by BOOT_TIMEOUT_MS. */
async function bootAll(dataDir: string, n: number, withAgent: boolean): Promise<NodeResult[]> {
  rackboot(dataDir, 'lab', 'power-on', 'all')
  const state = JSON.parse(readFileSync(path.join(dataDir, 'lab', 'state.json'), 'utf8')) as {
    processes: Array<{ role: string; slot?: number; startedAt?: string }>
  }
  const on = (slot: number) =>
    Date.parse(state.processes.find((p) => p.role === 'qemu' && p.slot === slot)!.startedAt!)
  const seen = new Map<number, number>()
  const deadline = Date.now() + BOOT_TIMEOUT_MS
  while (seen.size < n && Date.now() < deadline) {
    for (let slot = 1; slot <= n; slot++) {
      if (seen.has(slot)) continue
      const f = path.join(dataDir, 'lab', 'consoles', `slot${String(slot).padStart(2, '0')}.log`)
      if (existsSync(f) && readFileSync(f, 'latin1').includes(MARKER)) seen.set(slot, Date.now())
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  const results: NodeResult[] = []
  const stages: Record<string, number> = {}
  for (let slot = 1; slot <= n; slot++) {
    let agentS: number | null = null
    if (withAgent) {
      // The agent reports a moment after the marker: give it up to 60 s more.
      for (let i = 0; i < 600 && agentS === null; i++) {
        const boot = await readLatestBoot(path.join(dataDir, 'timelines'), macOf(slot))
        const up = boot?.milestones.find((m) => m.milestone === 'agent-up')
        if (up) {
          agentS = (Date.parse(up.time) - on(slot)) / 1000
          for (const m of boot!.milestones)
            stages[`${slot}:${m.milestone}`] = (Date.parse(m.time) - on(slot)) / 1000
        } else await new Promise((r) => setTimeout(r, 100))
      }
    }
    const t = seen.get(slot)
    const own = Object.fromEntries(
      Object.entries(stages)
        .filter(([k]) => k.startsWith(`${slot}:`))
        .map(([k, v]) => [k.slice(k.indexOf(':') + 1), v]),
    )
    results.push({ slot, markerS: t === undefined ? null : (t - on(slot)) / 1000, agentS, stages: own })
  }
  return results
}

/** Rackboot's round; also leaves each MAC's rendered files under `files` for the peer's round. */
async function rackbootRound(
  work: string,
  n: number,
  files: string,
  cleanup: Cleanup,
): Promise<NodeResult[]> {
  const dataDir = path.join(work, `rackboot-${n}`)
  const core = await Rackboot.open({ dataDir })
  try {
    const imported = await ensureDefaultImage(core, { resourcesDir: path.join(ROOT, 'resources') })
    if (imported.status === 'no-archive') throw new Error('no default image: npm run build:default-image')
    for (let slot = 1; slot <= n; slot++) {
      const r = await dispatch(core.handlers, 'nodes/add', {
        name: `b${String(slot).padStart(2, '0')}`,
        mac: macOf(slot),
        ip: `${BASE}.${10 + slot}`,
        image: DEFAULT_IMAGE_NAME,
      })
      if (!r.ok) throw new Error(`nodes/add: ${r.error.message}`)
    }
  } finally {
    await core.close()
  }
  const labDown = labUp(dataDir, n, cleanup)
  try {
    const results = await bootAll(dataDir, n, true)
    // What Rackboot served each MAC, fetched from its own HTTP server inside the lab's server namespace.
    for (let slot = 1; slot <= n; slot++) {
      const mac = dashed(macOf(slot))
      for (const kind of ['ipxe', ...ARTIFACTS]) {
        const out = path.join(files, kind, mac)
        mkdirSync(path.dirname(out), { recursive: true })
        if (kind === 'system') {
          // Rackboot serves a node's overlay only to that node's address: take the file it serves from its cache.
          copyFileSync(
            path.join(dataDir, 'overlays', `b${String(slot).padStart(2, '0')}`, 'system.cpio.gz'),
            out,
          )
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
    return results
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

async function peerRound(work: string, n: number, files: string, cleanup: Cleanup): Promise<NodeResult[]> {
  const dataDir = path.join(work, `peer-${n}`)
  const labDown = labUp(dataDir, n, cleanup, '--no-serve')
  try {
    const dir = path.join(work, `peer-${n}-conf`)
    mkdirSync(dir, { recursive: true })
    writeFileSync(path.join(dir, 'dnsmasq.conf'), dnsmasqConf(dir, n, path.join(ROOT, 'resources', 'ipxe')))
    writeFileSync(
      path.join(dir, 'nginx.conf'),
      nginxConf({
        work: dir,
        listen: `${SERVER}:${PORT}`,
        root: files,
        // The work dir is private (mkdtemp, 0700) and the overlay 0600, as Rackboot keeps them.
        userRoot: true,
        // The bootstrap and the agent report here; the peer only says yes.
        serverExtra: '    location /agent/ { return 204; }\n',
      }),
    )
    const ns = ['ip', 'netns', 'exec', `${PREFIX}-srv`]
    // The lab's RA sender runs in this namespace too (lab up starts it without serve), as it does for Rackboot.
    const dnsmasq = await startDaemon(
      'dnsmasq',
      [...ns, '/usr/sbin/dnsmasq', '-k', '-C', path.join(dir, 'dnsmasq.conf')],
      {
        ready: () => listening(`${PREFIX}-srv`, 'udp', 67),
        readyTimeoutMs: 10_000,
        cleanup,
      },
    )
    const nginx = await startDaemon(
      'nginx',
      [...ns, '/usr/sbin/nginx', '-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'],
      {
        ready: () => listening(`${PREFIX}-srv`, 'tcp', PORT),
        readyTimeoutMs: 10_000,
        cleanup,
      },
    )
    try {
      return await bootAll(dataDir, n, false)
    } finally {
      await nginx.stop()
      await dnsmasq.stop()
    }
  } finally {
    labDown()
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:boot needs root (network namespaces, port 67)')
  const counts = args.nodes.split(',').map(Number)
  const rounds = Number(args.rounds)
  const build = spawnSync(process.execPath, [path.join(ROOT, 'build', 'build-node.mjs')], {
    stdio: 'inherit',
  })
  if (build.status !== 0) throw new Error('building the CLI failed')
  const cleanup = new Cleanup()
  cleanup.onSignals()
  const work = mkdtempSync(path.join(os.tmpdir(), 'rblb4-bench-'))
  mkdirSync(path.join(work, 'again'))
  cleanup.add('remove work dir', () => rmSync(work, { recursive: true, force: true }))
  const rows: string[][] = []
  const load = () => os.loadavg()[0]!.toFixed(1)
  try {
    for (const n of counts)
      for (let round = 0; round < rounds; round++) {
        const files = path.join(work, `files-${n}`)
        const loadBefore = load()
        process.stderr.write(`N=${n} round ${round + 1}: Rackboot…\n`)
        let ours: NodeResult[]
        let peer: NodeResult[]
        if (args.first === 'peer') {
          // The peer needs Rackboot's rendered files: render them with a one-node-per-MAC Rackboot round first,
          // untimed, then time the peer and Rackboot again.
          await rackbootRound(work, n, files, cleanup)
          process.stderr.write(`N=${n} round ${round + 1}: dnsmasq + nginx…\n`)
          peer = await peerRound(work, n, files, cleanup)
          process.stderr.write(`N=${n} round ${round + 1}: Rackboot (timed)…\n`)
          ours = await rackbootRound(path.join(work, 'again'), n, path.join(work, 'again-files'), cleanup)
        } else {
          ours = await rackbootRound(work, n, files, cleanup)
          process.stderr.write(`N=${n} round ${round + 1}: dnsmasq + nginx…\n`)
          peer = await peerRound(work, n, files, cleanup)
        }
        const milestones = ['dhcp-ack', 'ipxe-script', 'kernel', 'overlays', 'agent-up']
        process.stderr.write(
          `Rackboot medians from power-on: ${milestones.map((m) => `${m} ${fmt(median(ours.map((x) => x.stages[m]).filter((x): x is number => x !== undefined)))} s`).join(', ')}\n`,
        )
        const ok = (xs: NodeResult[]) => xs.map((x) => x.markerS).filter((x): x is number => x !== null)
        const agents = ours.map((x) => x.agentS).filter((x): x is number => x !== null)
        const mo = median(ok(ours))
        const mp = median(ok(peer))
        rows.push([
          String(n),
          String(round + 1),
          `${ok(ours).length}/${n}`,
          ok(ours)
            .map((x) => fmt(x))
            .join(' '),
          fmt(mo),
          fmt(median(agents)),
          `${ok(peer).length}/${n}`,
          ok(peer)
            .map((x) => fmt(x))
            .join(' '),
          fmt(mp),
          ratio(mo, mp),
          `${loadBefore}→${load()}`,
        ])
        process.stderr.write(`${rows.at(-1)!.join(' | ')}\n`)
      }
  } finally {
    await cleanup.run()
  }
  process.stdout.write(
    `\n${markdownTable(
      [
        'N',
        'round',
        'Rackboot up',
        'Rackboot per node (s)',
        'median',
        'agent up median',
        'peer up',
        'dnsmasq+nginx per node (s)',
        'median',
        'ratio',
        'load 1 min',
      ],
      rows,
    )}\n\nratio = Rackboot median ÷ dnsmasq+nginx median, power-on to the image's marker line; target ≤ 1.05×.\n`,
  )
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:boot: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exit(1)
})
