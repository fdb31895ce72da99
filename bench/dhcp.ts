/**
 * DHCP throughput, Rackboot against real peers in one run: kea-dhcp4 (memfile, persist on) and dnsmasq
 * (with its lease file), each alone in a namespace pair, loaded by perfdhcp (Kea's load generator) acting as
 * a relay agent (from port 67, giaddr = its address) with a 20,000-client population, at stepped rates.
 *
 *   sudo npx tsx bench/dhcp.ts [--rates 1000,2000,4000,8000,16000] [--seconds 10] [--repeat 2] [--warmup 2]
 *                              [--servers rackboot,kea,dnsmasq] [--server-cpu 0] [--load-cpu 1] [--cpu-prof DIR]
 *                              [--prefix rbds-b]
 *
 * Prints, per rate and server: completed 4-way exchanges per second (ACKs ÷ test period, computed here:
 * perfdhcp's own "Rate:" includes its final wait), drops, mean latency, Rackboot's ratio to the faster peer,
 * and the duplicate addresses found in each server's lease file (must be 0). Server and load generator are
 * pinned to different cores with taskset. Needs root, perfdhcp (kea-admin), kea-dhcp4, dnsmasq.
 * Not a test: numbers depend on the machine and on everything else running on it.
 */
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { createNetnsPair, type NetnsPair } from '../test/support/netns'

type ServerName = 'rackboot' | 'kea' | 'dnsmasq'

const { values } = parseArgs({
  options: {
    rates: { type: 'string', default: '1000,2000,4000,8000,16000' },
    seconds: { type: 'string', default: '10' },
    servers: { type: 'string', default: 'rackboot,kea,dnsmasq' },
    clients: { type: 'string', default: '20000' },
    'server-cpu': { type: 'string', default: '0' },
    'load-cpu': { type: 'string', default: '1' },
    /** Runs per step; the best is kept (a shared machine only ever makes a server slower). */
    repeat: { type: 'string', default: '1' },
    /** Seconds of unmeasured load at 500/s before each step. */
    warmup: { type: 'string', default: '2' },
    /** Writes a V8 CPU profile of each Rackboot server process into this directory. */
    'cpu-prof': { type: 'string' },
    /** Network namespace name prefix (two runs at once need different ones). */
    prefix: { type: 'string', default: 'rbds-b' },
  },
})
const REPEAT = Math.max(1, Number(values.repeat))
const WARMUP = Number(values.warmup)
const RATES = values.rates.split(',').map(Number)
const SECONDS = Number(values.seconds)
const CLIENTS = Number(values.clients)
const SERVERS = values.servers.split(',') as ServerName[]
// A /16 of the benchmark range in namespaces of our own: 20,000 clients need more than a /22.
const SERVER_IP = '198.19.0.1'
const RELAY_IP = '198.19.0.2'
const POOL = { start: '198.19.1.0', end: '198.19.254.254' }

interface Run {
  server: ServerName
  rate: number
  acks: number
  exchangesPerSecond: number
  dropsDO: number
  dropsRA: number
  latencyDO: number
  latencyRA: number
  leases: number
  duplicates: number
  /**
   * Server CPU (user + system, all threads) per completed exchange: what the server costs, independent of
   * how much of the core other processes took (the comparable figure on a shared machine).
   */
  cpuUsPerExchange: number
}

function need(cmd: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' })
  } catch {
    throw new Error(
      `bench/dhcp.ts needs '${cmd}' (Debian: kea-admin for perfdhcp, kea-dhcp4-server, dnsmasq-base)`,
    )
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Waits until something listens on UDP 67 in the server namespace. */
async function listening(net: NetnsPair, child: ChildProcess, what: string): Promise<void> {
  for (let i = 0; i < 150; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode} before listening`)
    if (net.exec('srv', 'ss', ['-Huln', 'sport = :67']).trim() !== '') return
    await sleep(100)
  }
  throw new Error(`${what} did not listen on UDP 67 within 15 s`)
}

/** Rackboot binds port 67 before the rest of `serve` is up: wait for its ready line, not the port. */
function rackbootReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = ''
    const timer = setTimeout(() => reject(new Error('rackboot: no ready line within 30 s')), 30_000)
    child.stdout!.on('data', (d: Buffer) => {
      text += d.toString()
      if (/^rackboot ready /m.test(text)) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => reject(new Error(`rackboot exited with ${code} before ready`)))
  })
}

/**
 * A data dir in which `serve` has already imported its default image. A fresh data dir imports it in the
 * background (an OCI archive unpacked and gzipped, tens of seconds of CPU): every cell used to pay for that
 * during its measurement, on the server's core. Kea has nothing alike, so each Rackboot cell starts from a
 * copy of this dir instead (leases and timelines removed).
 */
async function rackbootTemplate(net: NetnsPair, root: string): Promise<string> {
  const dir = mkdtempSync(join(root, 'rackboot-template-'))
  const child = startServer(net, 'rackboot', dir)
  try {
    await new Promise<void>((resolve, reject) => {
      let text = ''
      const timer = setTimeout(
        () => reject(new Error('rackboot: default image not imported within 300 s')),
        300_000,
      )
      const look = (d: Buffer) => {
        text += d.toString()
        if (/default image '[^']+' (imported|not imported|not available)/.test(text)) {
          clearTimeout(timer)
          resolve()
        }
      }
      child.stdout!.on('data', look)
      child.stderr!.on('data', look)
      child.once('exit', (code) =>
        reject(new Error(`rackboot exited with ${code} while importing its default image`)),
      )
    })
  } finally {
    child.kill('SIGTERM')
    await new Promise<void>((resolve) =>
      child.exitCode !== null ? resolve() : child.once('exit', () => resolve()),
    )
  }
  rmSync(join(dir, 'leases.jsonl'), { force: true })
  rmSync(join(dir, 'timelines'), { recursive: true, force: true })
  return dir
}

/** CPU time of a process so far (utime + stime of /proc/PID/stat, all threads), in ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12]) // fields 14 and 15 of proc(5)
  return (ticks * 1000) / CLOCK_TICKS
}
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100

function startServer(net: NetnsPair, name: ServerName, dir: string): ChildProcess {
  const pin = ['taskset', '-c', values['server-cpu']]
  if (name === 'rackboot')
    return net.spawn('srv', pin[0]!, [
      ...pin.slice(1),
      process.execPath,
      ...(values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', resolve(values['cpu-prof'])] : []),
      'bin/rackboot.js',
      'serve',
      '--interface',
      net.serverIf,
      '--dhcp-mode',
      'server',
      '--data-dir',
      dir,
      '--pool',
      `${POOL.start}-${POOL.end}`,
    ])
  if (name === 'kea') {
    const config = {
      Dhcp4: {
        'interfaces-config': { interfaces: [net.serverIf], 'dhcp-socket-type': 'udp' },
        'lease-database': {
          type: 'memfile',
          persist: true,
          name: join(dir, 'leases.csv'),
          'lfc-interval': 0,
        },
        'valid-lifetime': 3600,
        subnet4: [{ id: 1, subnet: '198.19.0.0/16', pools: [{ pool: `${POOL.start} - ${POOL.end}` }] }],
        loggers: [
          { name: 'kea-dhcp4', output_options: [{ output: join(dir, 'kea.log') }], severity: 'WARN' },
        ],
      },
    }
    writeFileSync(join(dir, 'kea.json'), JSON.stringify(config))
    return net.spawn('srv', pin[0]!, [...pin.slice(1), 'kea-dhcp4', '-c', join(dir, 'kea.json')], {
      env: { ...process.env, KEA_PIDFILE_DIR: dir, KEA_LOCKFILE_DIR: dir },
    })
  }
  return net.spawn('srv', pin[0]!, [
    ...pin.slice(1),
    'dnsmasq',
    '--keep-in-foreground',
    '--conf-file=/dev/null', // the namespace shares /etc with the host: read none of its config
    '--port=0',
    `--interface=${net.serverIf}`,
    '--bind-interfaces',
    `--dhcp-range=${POOL.start},${POOL.end},255.255.0.0,1h`,
    `--dhcp-leasefile=${join(dir, 'dnsmasq.leases')}`,
    '--dhcp-lease-max=100000',
    '--dhcp-authoritative',
    '--no-ping',
    '--no-resolv',
    '--no-hosts',
    '--user=root',
    `--pid-file=${join(dir, 'dnsmasq.pid')}`,
    '--quiet-dhcp',
    `--log-facility=${join(dir, 'dnsmasq.log')}`,
  ])
}

/** Address → MACs holding it at once, from each server's own lease file. */
function duplicates(name: ServerName, dir: string): { leases: number; duplicates: number } {
  const holders = new Map<string, string>()
  let dup = 0
  const bind = (ip: string, mac: string) => {
    const prev = holders.get(ip)
    if (prev !== undefined && prev !== mac) dup++
    holders.set(ip, mac)
  }
  if (name === 'rackboot') {
    // Journal lines in write order; leases last an hour, longer than the run, so a bound line for an
    // address another MAC holds (and has not released) is a duplicate.
    const text = readFileSync(join(dir, 'leases.jsonl'), 'utf8')
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue
      const l = JSON.parse(line) as { m: string; i: number; s: string }
      if (l.s === 'released') {
        if (holders.get(String(l.i)) === l.m) holders.delete(String(l.i))
      } else if (l.s === 'bound') bind(String(l.i), l.m)
    }
  } else if (name === 'kea') {
    // CSV: address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,...
    for (const line of readFileSync(join(dir, 'leases.csv'), 'utf8').split('\n').slice(1)) {
      const [address, hwaddr, , valid, , , , , , state] = line.split(',')
      if (!address || !hwaddr || valid === '0' || state === '2') continue
      bind(address, hwaddr)
    }
  } else {
    // expiry mac ip hostname client-id; dnsmasq rewrites the whole file, one line per live lease.
    for (const line of readFileSync(join(dir, 'dnsmasq.leases'), 'utf8').split('\n')) {
      const [, mac, ip] = line.split(' ')
      if (mac && ip) bind(ip, mac)
    }
  }
  return { leases: holders.size, duplicates: dup }
}

/** Runs perfdhcp as a relay from RELAY_IP on the load core; exit 3 (packets dropped) is a result, not a failure. */
function perfdhcp(net: NetnsPair, args: string[]): { stdout: string } {
  const r = spawnSync(
    'ip',
    [
      'netns',
      'exec',
      net.client,
      'taskset',
      '-c',
      values['load-cpu'],
      'perfdhcp',
      '-4',
      '-l',
      RELAY_IP,
      ...args,
      SERVER_IP,
    ],
    { encoding: 'utf8', timeout: (SECONDS + WARMUP + 60) * 1000 },
  )
  if (r.status !== 0 && r.status !== 3)
    throw new Error(`perfdhcp exited ${r.status}: ${r.stderr || r.stdout}`)
  return { stdout: r.stdout }
}

function parsePerfdhcp(text: string): Pick<Run, 'acks' | 'dropsDO' | 'dropsRA' | 'latencyDO' | 'latencyRA'> {
  const section = (name: string) => text.split(`***Statistics for: ${name}***`)[1]?.split('***')[0] ?? ''
  const num = (s: string, label: string) => Number(new RegExp(`${label}: ([0-9.]+)`).exec(s)?.[1] ?? NaN)
  const DO = section('DISCOVER-OFFER')
  const RA = section('REQUEST-ACK')
  return {
    acks: num(RA, 'received packets') || 0,
    dropsDO: num(DO, 'drops') || 0,
    dropsRA: num(RA, 'drops') || 0,
    latencyDO: num(DO, 'avg delay'),
    latencyRA: num(RA, 'avg delay'),
  }
}

async function runOne(
  net: NetnsPair,
  name: ServerName,
  rate: number,
  root: string,
  template: string | null,
): Promise<Run> {
  const dir = mkdtempSync(join(root, `${name}-${rate}-`))
  if (name === 'rackboot' && template) cpSync(template, dir, { recursive: true })
  const server = startServer(net, name, dir)
  let serverErr = ''
  server.stderr?.on('data', (d: Buffer) => (serverErr += d.toString()))
  try {
    if (name === 'rackboot') await rackbootReady(server)
    else await listening(net, server, name)
    // Warm-up, the same for every server: 2 s at 500/s from other MACs (Node's JIT and Kea's caches get
    // warm; those leases stay, well inside the 65,000-address pool). Not measured.
    if (WARMUP > 0)
      perfdhcp(net, ['-r', '500', '-R', '1000', '-p', String(WARMUP), '-b', 'mac=02:ee:00:00:00:00'])
    const cpuBefore = cpuMs(server.pid!)
    const perf = perfdhcp(net, ['-r', String(rate), '-R', String(CLIENTS), '-p', String(SECONDS)])
    const stats = parsePerfdhcp(perf.stdout)
    const cpu = cpuMs(server.pid!) - cpuBefore
    server.kill('SIGTERM')
    await new Promise<void>((resolve) =>
      server.exitCode !== null ? resolve() : server.once('exit', () => resolve()),
    )
    return {
      server: name,
      rate,
      ...stats,
      exchangesPerSecond: stats.acks / SECONDS,
      cpuUsPerExchange: stats.acks > 0 ? (cpu * 1000) / stats.acks : NaN,
      ...duplicates(name, dir),
    }
  } catch (e) {
    throw new Error(
      `${name} at ${rate}/s: ${e instanceof Error ? e.message : String(e)}\n${serverErr.slice(-2000)}`,
      {
        cause: e,
      },
    )
  } finally {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL')
  }
}

function table(runs: Run[]): string {
  const rows = [
    '| offered/s | server | ACKs/s | drops DO / RA | latency DO / RA (ms) | CPU µs / exchange | leases | duplicates | Rackboot ÷ fastest peer (ACKs/s) |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ]
  for (const rate of RATES) {
    const at = runs.filter((r) => r.rate === rate)
    const ours = at.find((r) => r.server === 'rackboot')
    const peers = at.filter((r) => r.server !== 'rackboot')
    const best = peers.reduce<Run | null>(
      (b, r) => (b && b.exchangesPerSecond >= r.exchangesPerSecond ? b : r),
      null,
    )
    for (const r of at)
      rows.push(
        `| ${rate} | ${r.server} | ${r.exchangesPerSecond.toFixed(0)} | ${r.dropsDO} / ${r.dropsRA} | ${r.latencyDO.toFixed(2)} / ${r.latencyRA.toFixed(2)} | ${r.cpuUsPerExchange.toFixed(0)} | ${r.leases} | ${r.duplicates} | ${
          r === ours && best
            ? `${(ours.exchangesPerSecond / Math.max(best.exchangesPerSecond, 1e-9)).toFixed(2)} (vs ${best.server})`
            : ''
        } |`,
      )
  }
  return rows.join('\n')
}

const LOAD_BEFORE = loadavg()
  .map((l) => l.toFixed(1))
  .join(' ')

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/dhcp.ts needs root (namespaces, port 67)')
  for (const c of ['perfdhcp', 'taskset', 'ss', 'ip']) need(c)
  if (SERVERS.includes('kea')) need('kea-dhcp4')
  if (SERVERS.includes('dnsmasq')) need('dnsmasq')
  execFileSync(process.execPath, ['build/build-node.mjs'], { stdio: 'inherit' })
  const root = mkdtempSync(join(tmpdir(), 'rbds-bench-'))
  const net = createNetnsPair({
    prefix: values.prefix,
    serverAddress: `${SERVER_IP}/16`,
    clientAddresses: [`${RELAY_IP}/16`],
  })
  const stop = () => {
    net.destroy()
    rmSync(root, { recursive: true, force: true })
  }
  process.once('SIGINT', () => {
    stop()
    process.exit(130)
  })
  const runs: Run[] = []
  try {
    const template = SERVERS.includes('rackboot') ? await rackbootTemplate(net, root) : null
    for (const rate of RATES)
      for (const s of SERVERS) {
        let r = await runOne(net, s, rate, root, template)
        for (let i = 1; i < REPEAT; i++) {
          const again = await runOne(net, s, rate, root, template)
          if (again.exchangesPerSecond > r.exchangesPerSecond) r = again
        }
        runs.push(r)
        console.log(
          `${s.padEnd(8)} offered ${String(rate).padStart(6)}/s: ${r.exchangesPerSecond.toFixed(0).padStart(6)} ACK/s, drops ${r.dropsDO}/${r.dropsRA}, latency ${r.latencyDO.toFixed(2)}/${r.latencyRA.toFixed(2)} ms, ${r.cpuUsPerExchange.toFixed(0)} CPU µs/exchange, duplicates ${r.duplicates}`,
        )
      }
  } finally {
    stop()
  }
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  console.log(
    `\n${new Date().toISOString()} — ${cpu}, ${cpus().length} cores, ${CLIENTS} clients, ${SECONDS} s per step, best of ${REPEAT}, node ${process.version}, load average before: ${LOAD_BEFORE}`,
  )
  console.log(table(runs))
  if (runs.some((r) => r.duplicates > 0)) {
    console.error('DUPLICATE ADDRESSES FOUND')
    process.exitCode = 1
  }
  if (existsSync(root)) rmSync(root, { recursive: true, force: true })
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e)
  process.exit(1)
})
