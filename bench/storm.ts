/**
 * Boot storm: N simulated PXE machines (electron/core/sim) powered on together over a 1 Gbit/s tbf-shaped veth,
 * against Rackboot (`rackboot serve`) and against dnsmasq (DHCP + TFTP) + nginx (HTTP, sendfile) serving the
 * same iPXE binaries, kernel and image, in the same run. Every byte is sha256-checked by the clients. Prints,
 * per N and server: nodes ok/failed, time until every node has all its bytes, the physical limit (bytes ÷ link
 * rate) and the ratio to it, and Rackboot's time ÷ the peer's.
 *
 *   npm run bench:storm [-- --nodes 50,200] [-- --link 1gbit] [-- --only rackboot] [-- --control]
 *
 * `--control` also runs the peer stack a second time ("dnsmasq+nginx-again") in every round, as if it were
 * another server: the peer's time ÷ its own second run is what this machine resolves, the yardstick for
 * reading Rackboot ÷ peer near 1.00.
 *
 * Root, Linux; namespaces rbst-*, addresses 198.19.64.0/22. Build the CLI first (npm run build:node).
 */
import { mkdtempSync, rmSync, copyFileSync, writeFileSync, existsSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { randomBytes } from 'node:crypto'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { StormRig, type Serve } from '../electron/core/sim/rig'
import { linkBytesPerSecond, withLimit, type StormReport } from '../electron/cli/sim'
import { stderrLogger } from '../electron/core/util/logger'
import { Rackboot } from '../electron/core/rackboot'
import { fmt, markdownTable } from './lib/table'
import { readRecords, startTraceSampler, traceSummary } from './lib/storm-trace'

const { values: args } = parseArgs({
  options: {
    nodes: { type: 'string', default: '50,200' },
    link: { type: 'string', default: '1gbit' },
    only: { type: 'string' },
    mix: { type: 'string', default: '1:1' },
    'kernel-mib': { type: 'string', default: '4' },
    'image-mib': { type: 'string', default: '8' },
    /**
     * Boot every node once before the measured storm, against the same server: the "power cut recovered"
     * case, where per-node first-boot work (host keys, rendered overlays) already exists.
     */
    warm: { type: 'boolean', default: false },
    /** Queue under the tbf: 'fifo' (tbf's own) or 'fq_codel' (Linux's default NIC qdisc). */
    qdisc: { type: 'string', default: 'fifo' },
    /** Namespace prefix and /16../22 subnet, so two runs on one machine stay apart. */
    prefix: { type: 'string', default: 'rbst' },
    subnet: { type: 'string', default: '198.19.64.0/22' },
    /** Run every server this many times per N, alternating which goes first (noise on a shared machine). */
    rounds: { type: 'string', default: '1' },
    /** Print where the time goes: link use, server and simulator CPU per 100 ms, stage starts (storm-trace.ts). */
    trace: { type: 'boolean', default: false },
    /** Also run the peer stack a second time per round (see the top). */
    control: { type: 'boolean', default: false },
  },
})

const PEER = 'dnsmasq+nginx'
const CONTROL = `${PEER}-again`

const ROOT = path.resolve(import.meta.dirname, '..')
const SELF = [process.execPath, path.join(ROOT, 'bin/rackboot.js')]
const logger = stderrLogger('bench:storm')

interface Row {
  n: number
  round: number
  server: string
  r: StormReport
  /** What the shaper (tbf) sent during the storm, null when the link is not shaped. */
  shaper: ShaperCount | null
}

interface ShaperCount {
  bytes: number
  drops: number
}

/**
 * The tbf's own counters on the server's veth: bytes it let through, as it charges them (every frame's
 * Ethernet, IP and TCP/UDP headers included, a GSO packet counted per segment; retransmissions too) and
 * packets it dropped. The payload limit (bytes ÷ rate) leaves the headers out: a full 1 Gbit/s link carries
 * 1448 bytes of HTTP per 1514-byte frame, so no server can reach it; bytes-through-the-shaper ÷ rate is the
 * floor both servers really share. The veth's own tx_bytes (the trace) counts a GSO packet's headers once.
 */
async function shaperCount(rig: StormRig): Promise<ShaperCount | null> {
  const out = await rig.exec('srv', ['tc', '-s', '-j', 'qdisc', 'show', 'dev', rig.srvIf]).catch(() => '')
  try {
    const q = (JSON.parse(out) as Array<{ kind?: string; bytes?: number; drops?: number }>).find(
      (x) => x.kind === 'tbf',
    )
    return q && typeof q.bytes === 'number' ? { bytes: q.bytes, drops: q.drops ?? 0 } : null
  } catch {
    return null
  }
}

/** dnsmasq (DHCP with the same reservations, TFTP) + nginx (script, kernel, image, a system overlay). */
async function startPeer(rig: StormRig, dir: string): Promise<Serve[]> {
  const www = path.join(dir, 'www')
  const tftp = path.join(dir, 'tftp')
  for (const d of [www, tftp]) rmSync(d, { recursive: true, force: true })
  const core = await Rackboot.open({ dataDir: rig.dataDir, logger })
  try {
    for (const [kind, file] of [
      ['kernel', 'vmlinuz'],
      ['image', 'image.cpio.gz'],
    ] as const) {
      const p = core.images.artifactPath('storm', kind)!
      await import('node:fs/promises').then((fs) => fs.mkdir(www, { recursive: true }))
      copyFileSync(p, path.join(www, file))
    }
  } finally {
    await core.close()
  }
  await import('node:fs/promises').then((fs) => fs.mkdir(tftp, { recursive: true }))
  for (const f of ['undionly.kpxe', 'ipxe.efi']) {
    const src = [path.join(ROOT, 'resources/ipxe', f), path.join('/usr/lib/ipxe', f)].find((p) =>
      existsSync(p),
    )!
    copyFileSync(src, path.join(tftp, f))
  }
  // A per-node overlay has no static equivalent: one gzip of the same order of size for every node.
  writeFileSync(path.join(www, 'system.cpio.gz'), gzipSync(randomBytes(6000)))
  const base = `http://${rig.serverIp}:9873`
  writeFileSync(
    path.join(www, 'boot.ipxe'),
    [
      '#!ipxe',
      `kernel --name kernel ${base}/vmlinuz initrd=image initrd=system`,
      `initrd --name image ${base}/image.cpio.gz`,
      `initrd --name system ${base}/system.cpio.gz`,
      'boot',
      '',
    ].join('\n'),
  )
  writeFileSync(path.join(dir, 'hosts'), rig.nodes.map((n) => `${n.mac},${n.ip}`).join('\n') + '\n')
  writeFileSync(
    path.join(dir, 'nginx.conf'),
    `user root;
worker_processes 2;
daemon off;
pid ${dir}/nginx.pid;
error_log stderr;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  keepalive_requests 10000;
  client_body_temp_path ${dir}/nginx-tmp;
  default_type application/octet-stream;
  server { listen ${rig.serverIp}:9873; root ${www}; }
}
`,
  )
  const [, last] = rig.pool.split('-')
  const [first] = rig.pool.split('-')
  const dnsmasq = rig.spawnIn('srv', [
    '/usr/sbin/dnsmasq',
    '-d',
    '--conf-file=/dev/null',
    '--port=0',
    `--interface=${rig.srvIf}`,
    '--bind-interfaces',
    `--dhcp-range=${first},${last},${prefixMask(rig.prefixLen)},1h`,
    `--dhcp-hostsfile=${path.join(dir, 'hosts')}`,
    `--dhcp-leasefile=${path.join(dir, 'dnsmasq.leases')}`,
    '--dhcp-authoritative',
    '--dhcp-userclass=set:ipxe,iPXE',
    '--dhcp-match=set:efi,option:client-arch,7',
    `--dhcp-boot=tag:ipxe,${base}/boot.ipxe`,
    `--dhcp-boot=tag:!ipxe,tag:efi,ipxe.efi,,${rig.serverIp}`,
    `--dhcp-boot=tag:!ipxe,tag:!efi,undionly.kpxe,,${rig.serverIp}`,
    '--dhcp-option=encap:175,176,1b',
    '--enable-tftp',
    `--tftp-root=${tftp}`,
    '--tftp-max=512',
    '--log-facility=-',
    '--quiet-dhcp',
  ])
  const nginx = rig.spawnIn('srv', ['/usr/sbin/nginx', '-c', path.join(dir, 'nginx.conf'), '-p', dir])
  const daemons = [dnsmasq, nginx].map((c) => {
    const exited = new Promise<number | null>((r) => c.once('exit', (code) => r(code)))
    let out = ''
    c.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-8000)))
    return {
      pid: c.pid ?? -1,
      ready: {},
      output: () => out,
      exited,
      stop: async () => {
        if (c.exitCode === null && c.pid !== undefined) process.kill(c.pid, 'SIGTERM')
        await exited
      },
    } satisfies Serve
  })
  for (let i = 0; i < 100; i++) {
    const udp = await rig.exec('srv', ['ss', '-Hlnu', 'sport = :67']).catch(() => '')
    const tcp = await rig.exec('srv', ['ss', '-Hlnt', 'sport = :9873']).catch(() => '')
    if (udp.trim() && tcp.trim()) return daemons
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`peer not listening: ${daemons.map((d) => d.output()).join('\n')}`)
}

function prefixMask(len: number): string {
  const m = len === 0 ? 0 : (~0 << (32 - len)) >>> 0
  return [24, 16, 8, 0].map((s) => (m >>> s) & 0xff).join('.')
}

async function main(): Promise<void> {
  const counts = args.nodes.split(',').map(Number)
  const servers = [...(args.only ?? `rackboot,${PEER}`).split(','), ...(args.control ? [CONTROL] : [])]
  const started = new Date()
  const rows: Row[] = []
  const rounds = Math.max(1, Number(args.rounds) || 1)
  for (const n of counts) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rbst-bench-'))
    try {
      for (let round = 1; round <= rounds; round++)
        for (const server of round % 2 === 1 ? servers : [...servers].reverse()) {
          const rig = new StormRig({
            prefix: args.prefix,
            subnet: args.subnet,
            // A data dir per round: every round is a first boot (cold) unless --warm.
            dataDir: path.join(dir, `data-${round}`),
            selfCommand: SELF,
            logger,
          })
          const stop = () => void rig.down().finally(() => process.exit(130))
          process.once('SIGINT', stop)
          try {
            await rig.up()
            await rig.prepare({
              nodes: n,
              firmwareMix: args.mix,
              inventory: 'known',
              synthetic: {
                kernelBytes: Number(args['kernel-mib']) << 20,
                imageBytes: Number(args['image-mib']) << 20,
              },
            })
            await rig.shape(args.link, args.qdisc === 'fq_codel' ? 'fq_codel' : 'fifo')
            const daemons = server === 'rackboot' ? [await rig.startServe()] : await startPeer(rig, dir)
            try {
              if (args.warm) await (await rig.startClients({ deadlineMs: 300_000 })).done
              const shaperBefore = await shaperCount(rig)
              const recordsFile = path.join(dir, 'records.jsonl')
              const clients = await rig.startClients({
                deadlineMs: 300_000,
                ...(args.trace ? { recordsFile } : {}),
              })
              const sampler = args.trace
                ? startTraceSampler({
                    netPid: daemons[0]!.pid,
                    iface: rig.srvIf,
                    serverPids: daemons.map((d) => d.pid),
                    clientPid: clients.pid,
                    intervalMs: 20,
                  })
                : null
              const r = withLimit(await clients.done, args.link)
              const samples = await sampler?.stop()
              const shaperAfter = await shaperCount(rig)
              const shaper =
                shaperBefore && shaperAfter
                  ? {
                      bytes: shaperAfter.bytes - shaperBefore.bytes,
                      drops: shaperAfter.drops - shaperBefore.drops,
                    }
                  : null
              rows.push({ n, round, server, r, shaper })
              if (samples) {
                const file = path.join(os.tmpdir(), `storm-trace-${args.prefix}-${n}-${server}-${round}.json`)
                const records = readRecords(recordsFile)
                writeFileSync(file, JSON.stringify({ samples, records }))
                const rate = linkBytesPerSecond(args.link) ?? 1.25e8
                const load = os.loadavg().map((x) => x.toFixed(2))
                const head = `trace N=${n} ${server} round ${round}, load ${load.join(' ')}, data ${file}:`
                logger.info([head, ...traceSummary(samples, records, rate)].join('\n'))
              }
              logger.info(
                `stages p50/p95 ms: ${Object.entries(r.stagesMs)
                  .map(([k, v]) => `${k} ${v.p50}/${v.p95}`)
                  .join(', ')}`,
              )
              logger.info(
                `N=${n} ${server}: ${r.ok}/${r.nodes} ok in ${fmt(r.wallMs / 1000, 2)} s (${fmt(r.vsLimit, 2)}× limit)`,
              )
            } finally {
              for (const d of daemons) await d.stop()
            }
          } finally {
            process.off('SIGINT', stop)
            await rig.down()
          }
        }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
  report(rows, started)
}

function report(rows: Row[], started: Date): void {
  const out: string[] = []
  out.push(
    `Boot storm, ${started.toISOString()}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), kernel ${os.release()}, link tbf ${args.link} (${args.qdisc} queue), firmware mix bios:uefi ${args.mix}`,
  )
  out.push(
    `Per node: ROM DHCP, TFTP (undionly.kpxe 1432 lock-step, or ipxe.efi 1468 windowsize 4 after the EDK2 tsize probe; dnsmasq and tftpd-hpa answer it lock-step), iPXE DHCP, script, kernel ${args['kernel-mib']} MiB, image ${args['image-mib']} MiB, system overlay; power-on spread 1 s${args.warm ? '; warm: every node booted once before, against the same server' : '; cold: first boot of every node'}.\n`,
  )
  const rate = linkBytesPerSecond(args.link)
  const peerOf = (n: number, round: number) =>
    rows.find((x) => x.n === n && x.round === round && x.server === PEER)
  const control = rows.some((x) => x.server === CONTROL)
  /** This row's time ÷ the peer's in the same N and round: Rackboot's, or the peer's second run's inverse. */
  const vsPeer = (row: Row, of: string) => {
    const peer = peerOf(row.n, row.round)
    if (row.server !== of || !peer || peer.r.failed > 0 || row.r.failed > 0) return null
    return of === CONTROL ? peer.r.wallMs / row.r.wallMs : row.r.wallMs / peer.r.wallMs
  }
  out.push(
    markdownTable(
      [
        'N',
        'server',
        'ok',
        'failed',
        'reboots',
        'GB',
        'time s',
        'limit s',
        '× limit',
        'shaper GB',
        'drops',
        '× shaper limit',
        'TFTP p95 s',
        'total p95 s',
        'rackboot ÷ peer',
        ...(control ? [`peer ÷ ${CONTROL}`] : []),
      ],
      rows.map((row) => {
        const { n, server, r, shaper } = row
        return [
          String(n),
          server,
          String(r.ok),
          String(r.failed),
          String(r.reboots),
          fmt(r.totalBytes / 1e9, 2),
          fmt(r.wallMs / 1000, 2),
          fmt((r.physicalLimitMs ?? 0) / 1000, 2),
          fmt(r.vsLimit, 2),
          shaper ? fmt(shaper.bytes / 1e9, 2) : '',
          shaper ? String(shaper.drops) : '',
          shaper && rate ? fmt(r.wallMs / 1000 / (shaper.bytes / rate), 3) : '',
          fmt((r.stagesMs.tftp?.p95 ?? 0) / 1000, 2),
          fmt((r.stagesMs.total?.p95 ?? 0) / 1000, 2),
          fmt(vsPeer(row, 'rackboot'), 3).replace('–', ''),
          ...(control ? [fmt(vsPeer(row, CONTROL), 3).replace('–', '')] : []),
        ]
      }),
    ),
  )
  for (const n of new Set(rows.map((x) => x.n))) {
    const list = (of: string) =>
      rows
        .filter((x) => x.n === n)
        .map((x) => vsPeer(x, of))
        .filter((v): v is number => v !== null)
        .map((v) => fmt(v, 3))
        .join(', ')
    out.push(
      `\nN=${n}: rackboot ÷ peer per round ${list('rackboot') || '–'}` +
        (control ? `; peer ÷ its own second run (what this machine resolves) ${list(CONTROL) || '–'}` : ''),
    )
  }
  out.push(
    `\nshaper GB: bytes the ${args.link} tbf let through (every frame with its headers, retransmissions included); × shaper limit: time ÷ (those bytes ÷ rate), 1.000 = the link never idle.`,
  )
  for (const { n, server, r } of rows)
    if (r.failures.length > 0) out.push(`\nN=${n} ${server} failures: ${r.failures.slice(0, 5).join('; ')}`)
  process.stdout.write(out.join('\n') + '\n')
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:storm failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
  process.exitCode = 1
})
