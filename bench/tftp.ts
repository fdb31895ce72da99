/**
 * TFTP throughput: Rackboot against tftpd-hpa, dnsmasq and atftpd, side by side in one run, over a veth pair
 * between two namespaces. The load client is atftp 0.8 (C, RFC 7440 windowsize). Every transfer's sha256 is
 * checked. Prints MB/s per cell and server, Rackboot's ratio to the best peer, windowsize vs lock-step, and a
 * 1 Gbit/s shaped cell.
 *
 * Every server is up at once, each on its own address, and each cell runs for all of them back to back before
 * the next cell, so a shared machine's drifting load meets every server's same cell alike; `--sequential` runs
 * each server through all its cells in turn instead (how the results before session 7 were measured).
 *
 * `--control` also runs a second, identical atftpd ("atftpd-again") as if it were another server. It is not a
 * peer (never the "best peer"); the report gives atftpd ÷ atftpd-again per cell: what the same server scores
 * against itself is the bench's resolution on this machine, the yardstick for reading any ratio near 1.0×.
 *
 *   npm run bench:tftp [-- --quick] [-- --cpu-prof DIR] [-- --only rackboot,atftpd] [-- --control] [-- --sequential]
 *                      [-- --prefix rbbt --subnet 198.18.40]
 */
import { randomBytes } from 'node:crypto'
import { chmodSync, cpSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { sha256File } from './lib/checksum'
import { createBenchNet, inNs, type BenchNet } from './lib/netns'
import { Cleanup, listening, run, startDaemon, startOurServer, type Daemon } from './lib/procs'
import { fmt, markdownTable, mbps, median, ratio } from './lib/table'

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    only: { type: 'string' },
    /** Whole-run deadline; cells not started by then are listed as skipped. */
    'budget-s': { type: 'string', default: '600' },
    /** Each cell runs this many times (servers interleaved per round); the median is reported. */
    rounds: { type: 'string', default: '3' },
    /** Namespace prefix and the /24's first three octets, so two runs on one machine stay apart. */
    prefix: { type: 'string', default: 'rbbt' },
    subnet: { type: 'string', default: '198.18.40' },
    /** Rackboot's TFTP session worker threads (0 = in-process); unset: the server's default. */
    'rackboot-workers': { type: 'string' },
    /** Also run atftpd a second time as "atftpd-again": the same server against itself (see the top). */
    control: { type: 'boolean', default: false },
    /** Each server in turn through all its cells (the old way), instead of cell by cell (see runInterleaved). */
    sequential: { type: 'boolean', default: false },
  },
})

const PREFIX = args.prefix
const SUBNET = args.subnet
const ATFTPD = '/tmp/rbbt-atftpd/usr/sbin/atftpd'
const IPXE = '/usr/lib/ipxe/ipxe.efi'
const BIG = 32 * 1024 * 1024
const LINK_BYTES_PER_S = 125e6 // tbf rate 1gbit

interface Server {
  name: string
  /** Grants RFC 7440 windowsize; the others answer lock-step whatever the client asks. */
  windowed: boolean
  /** Starts it in the server namespace, on `addr` port 69. */
  start(net: BenchNet, root: string, cleanup: Cleanup, addr: string): Promise<Daemon>
}

const udp69 = (net: BenchNet, addr: string) => () => listening(net.srv, 'udp', 69, addr)

/** atftpd 0.8 (RFC 7440 windowsize), unpacked from Debian's package (see the tool check in prepare()). */
function startAtftpd(net: BenchNet, root: string, cleanup: Cleanup, addr: string): Promise<Daemon> {
  return startDaemon(
    'atftpd',
    inNs(net.srv, [
      ATFTPD,
      '--daemon',
      '--no-fork',
      '--port',
      '69',
      '--bind-address',
      addr,
      '--maxthread',
      '256',
      '--retry-timeout',
      '1',
      '--logfile',
      '/dev/null',
      '--user',
      'nobody.nogroup',
      root,
    ]),
    { ready: udp69(net, addr), readyTimeoutMs: 10_000, cleanup },
  )
}

/** The same atftpd again, for --control: not a peer, only the yardstick of what "1.0×" can resolve. */
const CONTROL: Server = { name: 'atftpd-again', windowed: true, start: startAtftpd }

const SERVERS: Server[] = [
  {
    name: 'rackboot',
    windowed: true,
    start: (net, root, cleanup, addr) =>
      startOurServer(
        net.srv,
        [
          '--host',
          addr,
          '--tftp-root',
          root,
          '--tftp-port',
          '69',
          '--max-blksize',
          '1468',
          '--max-windowsize',
          '64',
          ...(args['rackboot-workers'] ? ['--tftp-workers', args['rackboot-workers']] : []),
        ],
        { cpuProfDir: args['cpu-prof'], cleanup },
      ),
  },
  { name: 'atftpd', windowed: true, start: startAtftpd },
  {
    name: 'tftpd-hpa',
    windowed: false,
    start: (net, root, cleanup, addr) =>
      startDaemon(
        'tftpd-hpa',
        inNs(net.srv, ['/usr/sbin/in.tftpd', '-L', '-u', 'tftp', '-s', root, '-a', `${addr}:69`]),
        { ready: udp69(net, addr), readyTimeoutMs: 10_000, cleanup },
      ),
  },
  {
    name: 'dnsmasq',
    windowed: false,
    start: (net, root, cleanup, addr) =>
      startDaemon(
        'dnsmasq',
        inNs(net.srv, [
          '/usr/sbin/dnsmasq',
          '-d',
          '--conf-file=/dev/null',
          '--pid-file',
          '--port=0',
          '--enable-tftp',
          `--tftp-root=${root}`,
          '--tftp-max=256',
          `--listen-address=${addr}`,
          '--bind-interfaces',
          '--log-facility=-',
        ]),
        { ready: udp69(net, addr), readyTimeoutMs: 10_000, cleanup },
      ),
  },
]

interface Cell {
  file: 'ipxe.efi' | 'big-32m.bin'
  conc: number
  blksize: number
  ws: number
  /** Transfers each client does back to back, so short cells last long enough to measure. */
  reps: number
  shaped?: boolean
}

interface CellResult {
  mbps: number | null
  ok: number
  failed: number
  checksumErrors: number
  ms: number
  /** Windowsize ignored by this server: the value is its lock-step run of the same cell. */
  reused?: boolean
  /** Fastest ÷ slowest round (1 = one round); shows how noisy the machine was. */
  spread?: number
  note?: string
}

function matrix(quick: boolean): { cells: Cell[]; skipped: string[] } {
  const cells: Cell[] = []
  const skipped: string[] = []
  const blks = quick ? [1468] : [512, 1432, 1468]
  const wss = quick ? [1, 16] : [1, 4, 16, 64]
  for (const conc of quick ? [1, 16] : [1, 16, 64])
    for (const blksize of blks)
      for (const ws of wss)
        cells.push({ file: 'ipxe.efi', conc, blksize, ws, reps: conc === 1 ? 4 : conc === 16 ? 2 : 1 })
  // 32 MiB: blksize 512 lock-step would take ~minutes per cell; 64 clients × 32 MiB = 2 GiB per cell.
  for (const conc of [1, 16])
    for (const ws of wss) {
      if (conc === 16 && ws !== 1 && ws !== 16) continue
      cells.push({ file: 'big-32m.bin', conc, blksize: 1468, ws, reps: 1 })
    }
  skipped.push(
    '32 MiB at blksize 512/1432: keeps 3 rounds × 4 servers within a few minutes; ipxe.efi covers every blksize',
    '32 MiB at concurrency 64 (2 GiB per cell per server): too long for this 2-core shared machine',
    '32 MiB at concurrency 16 with windowsize 4 and 64: ws 1 and 16 bracket it',
  )
  if (quick) skipped.push('--quick: blksize 1468 only, windowsize 1 and 16, concurrency 1 and 16')
  cells.push({ file: 'big-32m.bin', conc: 1, blksize: 1468, ws: 16, reps: 1, shaped: true })
  return { cells, skipped }
}

const cellKey = (c: Cell) => `${c.file} c${c.conc} b${c.blksize} w${c.ws}${c.shaped ? ' shaped' : ''}`

async function runCell(
  net: BenchNet,
  addr: string,
  c: Cell,
  outDir: string,
  expected: Map<string, { size: number; sha: string }>,
): Promise<CellResult> {
  const want = expected.get(c.file)!
  const perTransferMs = Math.max(20_000, (want.size / 1e6) * 2000 * c.conc)
  const opts = ['--option', `blksize ${c.blksize}`, ...(c.ws > 1 ? ['--option', `windowsize ${c.ws}`] : [])]
  const outputs: { file: string; failed: boolean }[] = []
  const client = async (slot: number) => {
    for (let r = 0; r < c.reps; r++) {
      const out = path.join(outDir, `s${slot}-r${r}`)
      const res = await run(
        inNs(net.cli, ['atftp', '--tftp-timeout', '1', ...opts, '-g', '-r', c.file, '-l', out, addr, '69']),
        { timeoutMs: perTransferMs },
      )
      outputs.push({ file: out, failed: res.code !== 0 || res.timedOut })
    }
  }
  const t0 = performance.now()
  await Promise.all(Array.from({ length: c.conc }, (_, i) => client(i)))
  const ms = performance.now() - t0
  // Verified after the clock stops, so hashing does not compete with the transfer for CPU.
  // A transfer the client reported as failed counts as failed; one it reported as done but whose bytes differ
  // is a checksum error (the dangerous kind: a client would boot a corrupt file).
  let ok = 0
  let failed = 0
  let checksumErrors = 0
  for (const out of outputs) {
    const good =
      existsSync(out.file) &&
      statSync(out.file).size === want.size &&
      (await sha256File(out.file)) === want.sha
    rmSync(out.file, { force: true })
    if (good) ok++
    else if (out.failed) failed++
    else checksumErrors++
  }
  return { mbps: ok === outputs.length ? mbps(ok * want.size, ms) : null, ok, failed, checksumErrors, ms }
}

const EMPTY: CellResult = { mbps: null, ok: 0, failed: 0, checksumErrors: 0, ms: 0 }

interface Fixture {
  net: BenchNet
  root: string
  outDir: string
  expected: Map<string, { size: number; sha: string }>
  cleanup: Cleanup
  deadline: number
}

async function prepare(cleanup: Cleanup): Promise<Omit<Fixture, 'cleanup' | 'deadline'>> {
  for (const [what, file] of [
    ['atftp (client)', '/usr/bin/atftp'],
    ['tftpd-hpa', '/usr/sbin/in.tftpd'],
    ['dnsmasq', '/usr/sbin/dnsmasq'],
    ['atftpd (apt-get download atftpd && dpkg -x atftpd_*.deb /tmp/rbbt-atftpd)', ATFTPD],
    ['ipxe.efi (Debian ipxe)', IPXE],
  ] as const) {
    if (!existsSync(file)) throw new Error(`missing ${what}: ${file}`)
  }
  const root = mkdtempSync(path.join(os.tmpdir(), 'rbbt-tftp-root-'))
  cleanup.add('remove data', () => rmSync(root, { recursive: true, force: true }))
  const outDir = mkdtempSync(path.join('/dev/shm', 'rbbt-tftp-out-'))
  cleanup.add('remove outputs', () => rmSync(outDir, { recursive: true, force: true }))
  cpSync(IPXE, path.join(root, 'ipxe.efi'), { dereference: true })
  writeFileSync(path.join(root, 'big-32m.bin'), randomBytes(BIG))
  // tftpd-hpa and atftpd drop to unprivileged users: the root and files must be world-readable.
  chmodSync(root, 0o755)
  const expected = new Map<string, { size: number; sha: string }>()
  for (const f of ['ipxe.efi', 'big-32m.bin']) {
    const p = path.join(root, f)
    chmodSync(p, 0o644)
    expected.set(f, { size: statSync(p).size, sha: await sha256File(p) })
  }
  const net = await createBenchNet({ prefix: PREFIX, subnet: SUBNET })
  cleanup.add('delete namespaces', () => net.down())
  return { net, root, outDir, expected }
}

const WARMUP: Cell[] = [
  { file: 'ipxe.efi', conc: 1, blksize: 512, ws: 1, reps: 3 },
  { file: 'ipxe.efi', conc: 4, blksize: 1468, ws: 16, reps: 2 },
]

const TBF = ['tbf', 'rate', '1gbit', 'burst', '256kb', 'latency', '50ms']

type PerRound = Map<string, Map<string, CellResult[]>>

const record = (results: Map<string, CellResult[]>, key: string, r: CellResult): void => {
  results.set(key, [...(results.get(key) ?? []), r])
}

const logCell = (server: Server, key: string, r: CellResult) =>
  process.stderr.write(
    `  ${server.name.padEnd(12)} ${key.padEnd(30)} ${fmt(r.mbps).padStart(7)} MB/s  ` +
      `ok ${r.ok} failed ${r.failed} sha-err ${r.checksumErrors}\n`,
  )

/**
 * One cell for one server, recorded in its results: a server without windowsize repeats its lock-step
 * figure of this round; the shaped cell adds the tbf around the run.
 */
async function serverCell(
  f: Fixture,
  server: Server,
  addr: string,
  c: Cell,
  round: number,
  results: Map<string, CellResult[]>,
): Promise<void> {
  const key = cellKey(c)
  if (!server.windowed && c.ws > 1 && !c.shaped) {
    const lockstep = results.get(cellKey({ ...c, ws: 1 }))?.[round]
    if (lockstep) record(results, key, { ...lockstep, reused: true })
    return
  }
  if (Date.now() > f.deadline) {
    record(results, key, { ...EMPTY, note: 'budget' })
    return
  }
  const dev = ['dev', f.net.srvIf, 'root']
  if (c.shaped) await run(inNs(f.net.srv, ['tc', 'qdisc', 'add', ...dev, ...TBF]), { timeoutMs: 5000 })
  try {
    const asked = server.windowed || !c.shaped ? c : { ...c, ws: 1 }
    const r = await runCell(f.net, addr, asked, f.outDir, f.expected)
    record(results, key, r)
    logCell(server, key, r)
  } finally {
    if (c.shaped) await run(inNs(f.net.srv, ['tc', 'qdisc', 'del', ...dev]), { timeoutMs: 5000 })
  }
}

/** Untimed warm-up, the same for every server: a fresh Node process runs its first packets unoptimised. */
async function warmUp(f: Fixture, addr: string): Promise<void> {
  for (const w of WARMUP) await runCell(f.net, addr, w, f.outDir, f.expected)
}

/** --sequential: each server in turn, started fresh, through every cell (the order rotates per round). */
async function runSequential(
  f: Fixture,
  servers: Server[],
  cells: Cell[],
  round: number,
  perRound: PerRound,
): Promise<void> {
  for (let i = 0; i < servers.length; i++) {
    const server = servers[(i + round) % servers.length]!
    const results = perRound.get(server.name)!
    if (Date.now() > f.deadline) {
      for (const c of cells) record(results, cellKey(c), { ...EMPTY, note: 'budget' })
      continue
    }
    const daemon = await server.start(f.net, f.root, f.cleanup, f.net.srvAddr)
    process.stderr.write(`round ${round + 1}: ${server.name} up (pid ${daemon.pid})\n`)
    try {
      await warmUp(f, f.net.srvAddr)
      for (const c of cells) await serverCell(f, server, f.net.srvAddr, c, round, results)
    } finally {
      await daemon.stop()
    }
  }
}

/**
 * The default: every server up at once, each on its own address of the server veth, and each cell run for
 * every server back to back (the order rotating per cell and round) before the next cell. A server's cells
 * then share the machine's moment with the other servers' same cell, instead of each server's whole run
 * meeting its own stretch of a shared machine's load. Idle servers wait in poll/epoll.
 */
async function runInterleaved(
  f: Fixture,
  servers: Server[],
  cells: Cell[],
  round: number,
  perRound: PerRound,
): Promise<void> {
  const up: Array<{ server: Server; addr: string; daemon: Daemon }> = []
  try {
    for (const [i, server] of servers.entries()) {
      const addr = serverAddress(f.net, i)
      const daemon = await server.start(f.net, f.root, f.cleanup, addr)
      up.push({ server, addr, daemon })
      process.stderr.write(`round ${round + 1}: ${server.name} up on ${addr} (pid ${daemon.pid})\n`)
    }
    for (const u of up) await warmUp(f, u.addr)
    for (const [ci, c] of cells.entries())
      for (let i = 0; i < up.length; i++) {
        const u = up[(i + ci + round) % up.length]!
        await serverCell(f, u.server, u.addr, c, round, perRound.get(u.server.name)!)
      }
  } finally {
    for (const u of up) await u.daemon.stop()
  }
}

/** Server i's address in interleaved runs: <subnet>.(11 + i), added to the server veth by main(). */
const serverAddress = (net: BenchNet, i: number) => `${net.srvAddr.replace(/\.\d+$/, '')}.${11 + i}`

/** Rounds -> one result per cell: median MB/s of the rounds that verified every transfer; counts summed. */
function aggregate(perRound: Map<string, Map<string, CellResult[]>>): Map<string, Map<string, CellResult>> {
  const out = new Map<string, Map<string, CellResult>>()
  for (const [server, cells] of perRound) {
    const m = new Map<string, CellResult>()
    for (const [key, rs] of cells) {
      const good = rs.filter((r) => r.mbps !== null).map((r) => r.mbps!)
      const runs = rs.filter((r) => !r.note)
      m.set(key, {
        mbps: median(good),
        ok: runs.reduce((a, r) => a + r.ok, 0),
        failed: runs.reduce((a, r) => a + r.failed, 0),
        checksumErrors: runs.reduce((a, r) => a + r.checksumErrors, 0),
        ms: runs.reduce((a, r) => a + r.ms, 0),
        spread: good.length > 1 ? Math.max(...good) / Math.min(...good) : 1,
        ...(rs.every((r) => r.reused) ? { reused: true } : {}),
        ...(runs.length === 0 ? { note: 'budget' } : {}),
      })
    }
    out.set(server, m)
  }
  return out
}

async function main(): Promise<void> {
  const cleanup = new Cleanup()
  const removeSignals = cleanup.onSignals()
  // A closed pipe (`| head`) must not kill the run before its cleanup has removed namespaces and files.
  process.stdout.on('error', () => {})
  const deadline = Date.now() + Number(args['budget-s']) * 1000
  const rounds = Math.max(1, Number(args.rounds))
  const servers = [
    ...SERVERS.filter((s) => !args.only || args.only.split(',').includes(s.name)),
    ...(args.control ? [CONTROL] : []),
  ]
  const { cells, skipped } = matrix(args.quick)
  const started = new Date()
  try {
    const f: Fixture = { ...(await prepare(cleanup)), cleanup, deadline }
    const perRound: PerRound = new Map(servers.map((s) => [s.name, new Map()]))
    if (!args.sequential)
      for (let i = 0; i < servers.length; i++)
        await run(
          inNs(f.net.srv, ['ip', 'addr', 'add', `${serverAddress(f.net, i)}/24`, 'dev', f.net.srvIf]),
          {
            timeoutMs: 5000,
          },
        )
    for (let round = 0; round < rounds; round++)
      if (args.sequential) await runSequential(f, servers, cells, round, perRound)
      else await runInterleaved(f, servers, cells, round, perRound)
    report(servers, cells, aggregate(perRound), skipped, started, rounds)
  } finally {
    await cleanup.run()
    removeSignals()
  }
}

function report(
  servers: Server[],
  cells: Cell[],
  results: Map<string, Map<string, CellResult>>,
  skipped: string[],
  started: Date,
  rounds: number,
): void {
  const get = (s: string, c: Cell) => results.get(s)?.get(cellKey(c))
  const peers = servers.filter((s) => s.name !== 'rackboot' && s !== CONTROL).map((s) => s.name)
  const control = servers.includes(CONTROL) && servers.some((s) => s.name === 'atftpd')
  const show = (r: CellResult | undefined) =>
    !r
      ? 'n/a'
      : r.note
        ? `(${r.note})`
        : r.mbps === null
          ? `FAIL ${r.failed}/${r.checksumErrors}`
          : `${fmt(r.mbps)}${r.reused ? '*' : ''}`
  const main = cells.filter((c) => !c.shaped)
  /** a ÷ b per cell, as the table shows them; a cell where either side has no figure is left out. */
  const ratios = (a: (c: Cell) => number | null | undefined, b: (c: Cell) => number | null | undefined) =>
    main.flatMap((c) => {
      const x = a(c)
      const y = b(c)
      return x != null && y != null && y > 0 ? [x / y] : []
    })
  const bestPeer = (c: Cell) => Math.max(0, ...peers.map((p) => get(p, c)?.mbps ?? 0)) || null
  const rows = main.map((c) => [
    `${c.file} ×${c.conc}`,
    String(c.blksize),
    String(c.ws),
    ...servers.map((s) => show(get(s.name, c))),
    ratio(get('rackboot', c)?.mbps, bestPeer(c)),
    ...(control ? [ratio(get('atftpd', c)?.mbps, get(CONTROL.name, c)?.mbps)] : []),
  ])
  const out: string[] = []
  out.push(
    `TFTP bench, ${started.toISOString()}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), kernel ${os.release()}`,
  )
  out.push(
    `MB/s = bytes of verified transfers ÷ wall time of the cell (1 MB = 10^6 bytes), median of ${rounds} ` +
      'round(s); servers are restarted each round and the order rotates' +
      (args.sequential
        ? ' (--sequential: each server through all its cells in turn).'
        : '; all servers up at once, each on its own address, every cell run for each server back to back.'),
  )
  const spreads = [...results.values()].flatMap((m) => [...m.values()].filter((r) => !r.reused && r.spread))
  const sorted = spreads.map((r) => r.spread!).sort((a, b) => a - b)
  if (rounds > 1 && sorted.length > 0)
    out.push(
      `Noise: fastest ÷ slowest round per cell, median ${fmt(median(sorted), 2)}×, worst ${fmt(sorted.at(-1), 2)}×.`,
    )
  out.push('* = server ignores windowsize: its lock-step value of the same cell.\n')
  out.push(
    markdownTable(
      [
        'file × clients',
        'blksize',
        'ws',
        ...servers.map((s) => s.name),
        'rackboot / best peer',
        ...(control ? [`atftpd / ${CONTROL.name}`] : []),
      ],
      rows,
    ),
  )
  const summary = (label: string, rs: number[]) => {
    const s = [...rs].sort((a, b) => a - b)
    return s.length === 0
      ? `${label}: no cell`
      : `${label}: ≥ 1.0× in ${s.filter((r) => r >= 1).length} of ${s.length} cells, ` +
          `median ${fmt(median(s), 2)}×, range ${fmt(s[0], 2)}–${fmt(s.at(-1), 2)}×`
  }
  if (servers.some((s) => s.name === 'rackboot') && peers.length > 0)
    out.push(
      '\n' +
        summary(
          'rackboot ÷ best peer',
          ratios((c) => get('rackboot', c)?.mbps, bestPeer),
        ),
    )
  if (control)
    out.push(
      summary(
        `atftpd ÷ ${CONTROL.name} (the same server twice: what this machine can resolve)`,
        ratios(
          (c) => get('atftpd', c)?.mbps,
          (c) => get(CONTROL.name, c)?.mbps,
        ),
      ),
    )

  const windowed = servers.filter((s) => s.windowed).map((s) => s.name)
  const wrows: string[][] = []
  for (const c of main.filter((c) => c.ws === 16)) {
    const lock = { ...c, ws: 1 }
    wrows.push([
      `${c.file} ×${c.conc}`,
      String(c.blksize),
      ...windowed.map((s) => ratio(get(s, c)?.mbps, get(s, lock)?.mbps)),
    ])
  }
  out.push('\nWindowsize 16 ÷ lock-step (same server, same cell):\n')
  out.push(markdownTable(['file × clients', 'blksize', ...windowed], wrows))

  const shaped = cells.find((c) => c.shaped)
  if (shaped) {
    out.push(
      `\nShaped: tbf rate 1gbit burst 256kb latency 50ms on the server veth; ${shaped.file}, 1 client, blksize 1468, ws 16 (lock-step for servers without windowsize):\n`,
    )
    out.push(
      markdownTable(
        ['server', 'MB/s', '% of 125 MB/s'],
        servers.map((s) => {
          const r = get(s.name, shaped)
          return [
            s.name,
            show(r),
            r?.mbps == null ? '–' : `${((r.mbps * 1e6 * 100) / LINK_BYTES_PER_S).toFixed(0)}%`,
          ]
        }),
      ),
    )
  }
  const totals = servers.map((s) => {
    let ok = 0
    let failed = 0
    let sha = 0
    for (const [, r] of results.get(s.name) ?? []) {
      if (r.reused) continue
      ok += r.ok
      failed += r.failed
      sha += r.checksumErrors
    }
    return [s.name, String(ok), String(failed), String(sha)]
  })
  out.push('\nTransfers (every one sha256-checked):\n')
  out.push(markdownTable(['server', 'verified', 'failed / timed out', 'checksum errors'], totals))
  out.push('\nSkipped cells:')
  for (const s of skipped) out.push(`- ${s}`)
  const budget = servers.flatMap((s) =>
    [...(results.get(s.name) ?? [])].filter(([, r]) => r.note === 'budget').map(([k]) => `${s.name} ${k}`),
  )
  if (budget.length > 0) out.push(`- over the ${args['budget-s']} s budget, not run: ${budget.join('; ')}`)
  process.stdout.write(out.join('\n') + '\n')
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:tftp failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
  process.exitCode = 1
})
