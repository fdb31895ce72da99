/**
 * HTTP static throughput: Rackboot's provisioning server (GET /files/*) against nginx (sendfile on) and
 * busybox httpd, side by side in one run, over a veth pair between two namespaces. Clients are curl processes
 * (one per concurrent download, body to /dev/null) in the client namespace. One full download per server per
 * round is written out and sha256-checked. Rackboot's RSS is sampled from /proc during the runs.
 *
 *   npm run bench:http [-- --size-mib 1024] [-- --rounds 1] [-- --only rackboot,nginx] [-- --cpu-prof DIR]
 *                      [-- --sendfile-threads N] [-- --shaped-clients 1,8] [-- --shaped-mib 256]
 *
 * Shaped cells: the same downloads (a smaller file) through `tc tbf rate 1gbit` on the server's veth, reported as
 * a share of the 125 MB/s link rate (issue #5's target: >= 0.95x link rate).
 */
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
  chmodSync,
} from 'node:fs'
import { randomBytes } from 'node:crypto'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { sha256File } from './lib/checksum'
import { nginxConf } from './lib/nginx'
import { createBenchNet, inNs, type BenchNet } from './lib/netns'
import { Cleanup, listening, rssBytes, run, startDaemon, startOurServer, type Daemon } from './lib/procs'
import { fmt, markdownTable, median, ratio } from './lib/table'

const { values: args } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    clients: { type: 'string', default: '1,8,32' },
    rounds: { type: 'string', default: '3' },
    only: { type: 'string' },
    'cpu-prof': { type: 'string' },
    /** sendfile(2) threads of Rackboot's HTTP server (0 = stream through the main thread); unset: its default. */
    'sendfile-threads': { type: 'string' },
    /** Concurrent clients of the 1 Gbit/s shaped cells ('' = none). */
    'shaped-clients': { type: 'string', default: '1,8' },
    /** Size of the file the shaped cells download, MiB (the link is ~125 MB/s: keep it short). */
    'shaped-mib': { type: 'string', default: '256' },
    /** Whole-run deadline; cells not started by then are listed as skipped. */
    'budget-s': { type: 'string', default: '900' },
  },
})

const PREFIX = 'rbbt'
const SUBNET = '198.18.40'
const PORT = 8080
const FILE = 'big.bin'
const SHAPED_FILE = 'shaped.bin'
const LINK_BYTES_PER_S = 125e6 // tbf rate 1gbit
const TBF = ['tbf', 'rate', '1gbit', 'burst', '256kb', 'latency', '50ms']
const RSS_TARGET = 300 * 1024 * 1024

interface Server {
  name: string
  start(net: BenchNet, webroot: string, work: string, cleanup: Cleanup): Promise<Daemon>
}

const tcpUp = (net: BenchNet) => () => listening(net.srv, 'tcp', PORT)

const SERVERS: Server[] = [
  {
    name: 'rackboot',
    start: (net, webroot, _work, cleanup) =>
      startOurServer(
        net.srv,
        [
          '--host',
          net.srvAddr,
          '--http-root',
          path.join(webroot, 'files'),
          '--http-port',
          String(PORT),
          ...(args['sendfile-threads'] ? ['--sendfile-threads', args['sendfile-threads']] : []),
        ],
        { cpuProfDir: args['cpu-prof'], cleanup },
      ),
  },
  {
    name: 'nginx',
    start: (net, webroot, work, cleanup) => {
      const dir = path.join(work, 'nginx')
      mkdirSync(dir, { recursive: true })
      writeFileSync(
        path.join(dir, 'nginx.conf'),
        nginxConf({ work: dir, listen: `${net.srvAddr}:${PORT}`, root: webroot }),
      )
      return startDaemon(
        'nginx',
        inNs(net.srv, [
          '/usr/sbin/nginx',
          '-p',
          dir,
          '-c',
          path.join(dir, 'nginx.conf'),
          '-g',
          'daemon off;',
        ]),
        { ready: tcpUp(net), readyTimeoutMs: 10_000, cleanup },
      )
    },
  },
  {
    name: 'busybox',
    start: (net, webroot, _work, cleanup) =>
      startDaemon(
        'busybox httpd',
        inNs(net.srv, ['/usr/bin/busybox', 'httpd', '-f', '-p', `${net.srvAddr}:${PORT}`, '-h', webroot]),
        { ready: tcpUp(net), readyTimeoutMs: 10_000, cleanup },
      ),
  },
]

interface CellResult {
  /** Aggregate MB/s: bytes of complete downloads ÷ wall time of the cell. */
  mbps: number | null
  /** Slowest client's own average (curl's speed_download), MB/s: fairness between clients. */
  slowest: number | null
  complete: number
  failed: number
  /** Peak VmRSS of the server's main process during the cell, bytes. */
  rssPeak: number | null
  note?: string
}

async function writeRandomFile(file: string, bytes: number): Promise<void> {
  const out = createWriteStream(file)
  const chunk = 8 << 20
  for (let left = bytes; left > 0; left -= chunk) {
    if (!out.write(randomBytes(Math.min(chunk, left))))
      await new Promise<void>((r) => out.once('drain', () => r()))
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())))
}

async function runCell(
  net: BenchNet,
  clients: number,
  size: number,
  daemon: Daemon,
  sampleRss: boolean,
  file = FILE,
): Promise<CellResult> {
  const url = `http://${net.srvAddr}:${PORT}/files/${file}`
  // Budget: each client may take as long as the whole cell would at 20 MB/s aggregate.
  const maxS = Math.ceil(Math.max(60, (size * clients) / 20e6))
  let rssPeak: number | null = null
  let sampling = sampleRss
  const sampler = (async () => {
    while (sampling) {
      const rss = await rssBytes(daemon.pid)
      if (rss !== null) rssPeak = Math.max(rssPeak ?? 0, rss)
      await new Promise((r) => setTimeout(r, 100))
    }
  })()
  const t0 = performance.now()
  const results = await Promise.all(
    Array.from({ length: clients }, () =>
      run(
        inNs(net.cli, [
          'curl',
          '-sS',
          '--max-time',
          String(maxS),
          '-o',
          '/dev/null',
          '-w',
          '%{http_code} %{size_download} %{speed_download}',
          url,
        ]),
        { timeoutMs: (maxS + 10) * 1000 },
      ),
    ),
  )
  const ms = performance.now() - t0
  sampling = false
  await sampler
  let complete = 0
  const speeds: number[] = []
  for (const r of results) {
    const [code, got, speed] = r.stdout.trim().split(' ')
    if (r.code === 0 && code === '200' && Number(got) === size) {
      complete++
      speeds.push(Number(speed) / 1e6)
    }
  }
  return {
    mbps: complete === clients ? (complete * size) / 1e6 / (ms / 1000) : null,
    slowest: speeds.length === clients ? Math.min(...speeds) : null,
    complete,
    failed: clients - complete,
    rssPeak,
  }
}

/** One full download written to disk and hashed: proves the bytes, outside the timed cells. */
async function verify(net: BenchNet, out: string, size: number, want: string): Promise<boolean> {
  const url = `http://${net.srvAddr}:${PORT}/files/${FILE}`
  const r = await run(inNs(net.cli, ['curl', '-sS', '--max-time', '300', '-o', out, url]), {
    timeoutMs: 310_000,
  })
  const ok = r.code === 0 && existsSync(out) && (await sha256File(out)) === want
  rmSync(out, { force: true })
  if (!ok && r.stderr) process.stderr.write(`verify: ${r.stderr.trim()}\n`)
  return ok && size > 0
}

async function main(): Promise<void> {
  const cleanup = new Cleanup()
  const removeSignals = cleanup.onSignals()
  process.stdout.on('error', () => {}) // `| head` must not cut the cleanup short
  const size = Number(args['size-mib']) * 1024 * 1024
  const clientCounts = args.clients.split(',').map(Number)
  const shapedCounts = args['shaped-clients'] ? args['shaped-clients'].split(',').map(Number) : []
  const shapedSize = Number(args['shaped-mib']) * 1024 * 1024
  const rounds = Math.max(1, Number(args.rounds))
  const deadline = Date.now() + Number(args['budget-s']) * 1000
  const servers = SERVERS.filter((s) => !args.only || args.only.split(',').includes(s.name))
  const started = new Date()
  const cells = new Map<string, CellResult[]>() // `${server} ${clients}` -> rounds
  const verified = new Map<string, { ok: number; bad: number }>()
  const skipped: string[] = []
  const idleRss: number[] = []
  try {
    for (const tool of ['/usr/bin/curl', '/usr/sbin/nginx', '/usr/bin/busybox'])
      if (!existsSync(tool)) throw new Error(`missing ${tool} (Debian curl, nginx-light, busybox-static)`)
    const work = mkdtempSync(path.join(os.tmpdir(), 'rbbt-http-'))
    cleanup.add('remove data', () => rmSync(work, { recursive: true, force: true }))
    const webroot = path.join(work, 'www')
    mkdirSync(path.join(webroot, 'files'), { recursive: true })
    const file = path.join(webroot, 'files', FILE)
    // Random bytes: nothing on the path may compress them, and no server gets a head start from zeros.
    await writeRandomFile(file, size)
    const shapedFile = path.join(webroot, 'files', SHAPED_FILE)
    if (shapedCounts.length > 0) await writeRandomFile(shapedFile, shapedSize)
    for (const d of [work, webroot, path.join(webroot, 'files')]) chmodSync(d, 0o755)
    chmodSync(file, 0o644)
    if (shapedCounts.length > 0) chmodSync(shapedFile, 0o644)
    const want = await sha256File(file) // also pulls the file into the page cache before any server runs
    const net = await createBenchNet({ prefix: PREFIX, subnet: SUBNET })
    cleanup.add('delete namespaces', () => net.down())

    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < servers.length; i++) {
        const server = servers[(i + round) % servers.length]!
        const record = (n: number, r: CellResult) =>
          cells.set(`${server.name} ${n}`, [...(cells.get(`${server.name} ${n}`) ?? []), r])
        if (Date.now() > deadline) {
          skipped.push(`round ${round + 1} ${server.name}: over the ${args['budget-s']} s budget`)
          continue
        }
        const daemon = await server.start(net, webroot, work, cleanup)
        process.stderr.write(`round ${round + 1}: ${server.name} up (pid ${daemon.pid})\n`)
        if (server.name === 'rackboot') idleRss.push((await rssBytes(daemon.pid)) ?? 0)
        try {
          const v = verified.get(server.name) ?? { ok: 0, bad: 0 }
          if (await verify(net, path.join('/dev/shm', `rbbt-http-verify-${server.name}`), size, want)) v.ok++
          else v.bad++
          verified.set(server.name, v)
          for (const n of clientCounts) {
            if (Date.now() > deadline) {
              skipped.push(`round ${round + 1} ${server.name} ×${n}: over the ${args['budget-s']} s budget`)
              continue
            }
            const r = await runCell(net, n, size, daemon, server.name === 'rackboot')
            record(n, r)
            process.stderr.write(
              `  ${server.name.padEnd(8)} ×${String(n).padEnd(3)} ${fmt(r.mbps).padStart(8)} MB/s  slowest client ` +
                `${fmt(r.slowest)} MB/s  complete ${r.complete}/${n}` +
                (r.rssPeak ? `  rss ${fmt(r.rssPeak / 2 ** 20, 0)} MiB` : '') +
                '\n',
            )
          }
          for (const n of shapedCounts) {
            if (Date.now() > deadline) {
              skipped.push(
                `round ${round + 1} ${server.name} shaped ×${n}: over the ${args['budget-s']} s budget`,
              )
              continue
            }
            const dev = ['dev', net.srvIf, 'root']
            await run(inNs(net.srv, ['tc', 'qdisc', 'add', ...dev, ...TBF]), { timeoutMs: 5000 })
            try {
              const r = await runCell(net, n, shapedSize, daemon, false, SHAPED_FILE)
              record(-n, r)
              process.stderr.write(
                `  ${server.name.padEnd(8)} shaped ×${String(n).padEnd(3)} ${fmt(r.mbps).padStart(8)} MB/s  ` +
                  `complete ${r.complete}/${n}\n`,
              )
            } finally {
              await run(inNs(net.srv, ['tc', 'qdisc', 'del', ...dev]), { timeoutMs: 5000 })
            }
          }
        } finally {
          await daemon.stop()
        }
      }
    }
    report({
      servers,
      clientCounts,
      shapedCounts,
      shapedSize,
      cells,
      verified,
      skipped,
      started,
      size,
      rounds,
      idleRss,
    })
  } finally {
    await cleanup.run()
    removeSignals()
  }
}

function report(o: {
  servers: Server[]
  clientCounts: number[]
  /** Shaped cells are stored under the negated client count. */
  shapedCounts: number[]
  shapedSize: number
  cells: Map<string, CellResult[]>
  verified: Map<string, { ok: number; bad: number }>
  skipped: string[]
  started: Date
  size: number
  rounds: number
  /** Rackboot's RSS right after its ready line, per round. */
  idleRss: number[]
}): void {
  const agg = (server: string, n: number) => {
    const rs = o.cells.get(`${server} ${n}`) ?? []
    const good = rs.filter((r) => r.mbps !== null)
    return {
      mbps: median(good.map((r) => r.mbps!)),
      slowest: median(good.filter((r) => r.slowest !== null).map((r) => r.slowest!)),
      failed: rs.reduce((a, r) => a + r.failed, 0),
      rssPeak: rs.reduce<number | null>(
        (a, r) => (r.rssPeak === null ? a : Math.max(a ?? 0, r.rssPeak)),
        null,
      ),
      ran: rs.length,
    }
  }
  const out: string[] = []
  out.push(
    `HTTP bench, ${o.started.toISOString()}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), kernel ${os.release()}`,
  )
  out.push(
    `${o.size / 2 ** 20} MiB random file, GET /files/${FILE}, one curl per client (body to /dev/null); MB/s = ` +
      `complete downloads' bytes ÷ wall time of the cell (1 MB = 10^6 bytes), median of ${o.rounds} round(s).\n`,
  )
  const names = o.servers.map((s) => s.name)
  const rows = o.clientCounts.map((n) => {
    const cell = (s: string) => {
      const a = agg(s, n)
      if (a.ran === 0) return 'n/a'
      return a.mbps === null ? `FAIL (${a.failed})` : `${fmt(a.mbps, 0)} (${fmt(a.slowest, 0)})`
    }
    return [
      `×${n}`,
      ...names.map(cell),
      ...names.filter((s) => s !== 'nginx').map((s) => ratio(agg(s, n).mbps, agg('nginx', n).mbps)),
    ]
  })
  out.push(
    markdownTable(
      [
        'clients',
        ...names.map((s) => `${s} MB/s (slowest client)`),
        ...names.filter((s) => s !== 'nginx').map((s) => `${s} / nginx`),
      ],
      rows,
    ),
  )
  if (names.includes('rackboot')) {
    out.push(
      '\nRackboot server RSS (VmRSS of its process, sampled every 100 ms), target < 300 MB. Idle after start: ' +
        `${fmt((median(o.idleRss) ?? 0) / 2 ** 20, 0)} MiB (includes the tsx loader the bench runs it under).\n`,
    )
    out.push(
      markdownTable(
        ['clients', 'peak RSS MiB', 'under target'],
        o.clientCounts.map((n) => {
          const peak = agg('rackboot', n).rssPeak
          return [
            `×${n}`,
            fmt(peak === null ? null : peak / 2 ** 20, 0),
            peak === null ? '–' : peak < RSS_TARGET ? 'yes' : 'NO',
          ]
        }),
      ),
    )
  }
  if (o.shapedCounts.length > 0) {
    out.push(
      `\nShaped: tbf rate 1gbit burst 256kb latency 50ms on the server veth, ${o.shapedSize / 2 ** 20} MiB per ` +
        `client; MB/s (share of the 125 MB/s link rate, target >= 95 %), median of ${o.rounds} round(s). ` +
        'tbf counts whole frames: TCP payload can be at most 1448 of every 1514 bytes on the wire (MTU 1500, ' +
        'timestamps on), i.e. 119.5 MB/s = 95.6 % of the rate.\n',
    )
    out.push(
      markdownTable(
        ['clients', ...names.map((s) => `${s} MB/s (% of link)`)],
        o.shapedCounts.map((n) => [
          `×${n}`,
          ...names.map((s) => {
            const a = agg(s, -n)
            if (a.ran === 0) return 'n/a'
            if (a.mbps === null) return `FAIL (${a.failed})`
            return `${fmt(a.mbps)} (${fmt((a.mbps * 1e6 * 100) / LINK_BYTES_PER_S, 0)} %)`
          }),
        ]),
      ),
    )
  }
  out.push('\nFull downloads written to disk and sha256-checked (one per server per round):\n')
  out.push(
    markdownTable(
      ['server', 'verified', 'mismatched or failed', 'failed downloads in timed cells'],
      names.map((s) => {
        const v = o.verified.get(s) ?? { ok: 0, bad: 0 }
        const failed = o.clientCounts.reduce((a, n) => a + agg(s, n).failed, 0)
        return [s, String(v.ok), String(v.bad), String(failed)]
      }),
    ),
  )
  if (o.skipped.length > 0) {
    out.push('\nSkipped:')
    for (const s of o.skipped) out.push(`- ${s}`)
  }
  process.stdout.write(out.join('\n') + '\n')
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:http failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
  process.exitCode = 1
})
