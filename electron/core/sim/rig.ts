/**
 * The server side of a boot storm, for the CLI, the e2e tests and the bench: two namespaces joined by a veth
 * (`<prefix>-srv` holds `<prefix>-v0` with the server address, `<prefix>-cli` holds `<prefix>-v1` where every
 * simulated NIC lives), a data dir with the storm's nodes and image, `rackboot serve` in the server namespace,
 * optional tbf shaping, and the client process (`rackboot sim clients`) in the client namespace.
 * Linux and root only; addresses must lie in 198.18.0.0/15. Every start returns its stop; down() removes all.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, existsSync } from 'node:fs'
import { mkdir, stat, writeFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { dispatch } from '../api/dispatch'
import { DEFAULT_IMAGE_NAME, ensureDefaultImage } from '../images/default-image'
import { RA_SENDER_READY } from '../lab/lab'
import { parseIpAddrJson, waitForLinksReady, type Link, type LinkState } from '../net/link-ready'
import { Rackboot } from '../rackboot'
import { intToIp, ipToInt } from '../util/ipv4'
import { RackbootError } from '../util/result'
import type { Logger } from '../util/logger'
import { firmwareMix, type SimFirmware } from './firmware'
import type { StormClientsConfig } from './storm'
import type { QemuStormNode } from './qemu-nodes'
import type { StormSummary } from './summary'

const execFileP = promisify(execFile)

export interface StormRigOptions {
  /** Namespace/link name prefix, at most 9 characters (e.g. `rbst`). */
  prefix: string
  /** The boot subnet, `198.19.64.0/22`: server .1, nodes from network+256+10, pool in the last /24. */
  subnet: string
  dataDir: string
  /** How to run `rackboot` (e.g. [process.execPath, 'bin/rackboot.js']). */
  selfCommand: string[]
  logger: Logger
  /**
   * Taps for this many QEMU nodes (`sim storm --qemu K`): the client side becomes a bridge holding the veth
   * end, the taps and the simulated NICs' addresses. Default 0: no bridge, the veth end holds them.
   */
  qemuSlots?: number
}

export interface StormNode {
  name: string
  mac: string
  ip: string
  firmware: SimFirmware
}

export interface StormPlan {
  nodes: number
  /** `bios:uefi` weights, default `1:1`. */
  firmwareMix?: string
  /** An image already in the data dir; absent = a synthetic one made of random bytes of these sizes. */
  image?: string
  synthetic?: { kernelBytes: number; imageBytes: number }
  /**
   * 'known': nodes carry their MACs (a cluster whose nodes.conf is already written);
   * 'capture': planned slots without MACs, capture mode assigns them as the storm's DISCOVERs arrive.
   */
  inventory: 'known' | 'capture'
  /** Extra planned slots without MACs after the storm's nodes (what capture mode would fill). Default 0. */
  spareSlots?: number
  /** Planned QEMU nodes (on the rig's taps) booting the default image; default 0. */
  qemu?: number
  /** Capture guard window; default 0 (a storm powers on together: every DISCOVER takes the next slot). */
  captureGuardSeconds?: number
}

export interface Serve {
  pid: number
  ready: Record<string, unknown>
  output(): string
  exited: Promise<number | null>
  stop(signal?: NodeJS.Signals): Promise<void>
}

export interface ClientsRun {
  pid: number
  done: Promise<StormSummary>
  kill(): void
}

export function parseStormSubnet(subnet: string): { network: number; prefixLen: number } | string {
  const m = /^(198\.1[89]\.\d{1,3}\.\d{1,3})\/(\d{1,2})$/.exec(subnet)
  const net = m ? ipToInt(m[1]!) : null
  const len = m ? Number(m[2]) : 0
  if (!m || net === null || len < 16 || len > 23)
    return `storm subnet '${subnet}' must be a /16../23 inside 198.18.0.0/15, e.g. 198.19.64.0/22`
  return { network: net, prefixLen: len }
}

export class StormRig {
  readonly srv: string
  readonly cli: string
  readonly srvIf: string
  readonly cliIf: string
  /** Where the simulated NICs live on the client side: the bridge when QEMU taps are on it, else the veth. */
  readonly clientIface: string
  readonly serverIp: string
  readonly prefixLen: number
  readonly pool: string
  nodes: StormNode[] = []
  /** The QEMU nodes prepare() planned, and the sizes of the default image's files they must receive. */
  qemuNodes: QemuStormNode[] = []
  qemuArtifactSizes: Record<string, number> = {}
  expected: StormClientsConfig['expected'] = { tftp: {}, http: {} }
  expectedFiles: Record<string, string> = {}
  private readonly network: number
  private readonly children = new Set<ChildProcess>()

  constructor(private readonly o: StormRigOptions) {
    if (!/^[a-z][a-z0-9-]{0,8}$/.test(o.prefix))
      throw new RackbootError(`storm prefix '${o.prefix}' must be 1-9 of a-z, 0-9, '-'`, 'bad-request')
    const s = parseStormSubnet(o.subnet)
    if (typeof s === 'string') throw new RackbootError(s, 'bad-request')
    this.network = s.network
    this.prefixLen = s.prefixLen
    this.srv = `${o.prefix}-srv`
    this.cli = `${o.prefix}-cli`
    this.srvIf = `${o.prefix}-v0`
    this.cliIf = `${o.prefix}-v1`
    this.clientIface = (o.qemuSlots ?? 0) > 0 ? `${o.prefix}-br` : this.cliIf
    this.serverIp = intToIp(s.network + 1)
    const last = s.network + 2 ** (32 - s.prefixLen) - 1
    this.pool = `${intToIp(last - 250)}-${intToIp(last - 1)}`
  }

  get dataDir(): string {
    return this.o.dataDir
  }

  /** Runs a command in a namespace; rejects with its stderr. */
  async exec(side: 'srv' | 'cli', argv: string[]): Promise<string> {
    const ns = side === 'srv' ? this.srv : this.cli
    try {
      const r = await execFileP('ip', ['netns', 'exec', ns, ...argv], { timeout: 30_000 })
      return r.stdout
    } catch (e) {
      const err = e as { stderr?: string; message: string }
      throw new RackbootError(
        `${ns}: '${argv.join(' ')}' failed: ${err.stderr?.trim() || err.message}`,
        'storm-net',
      )
    }
  }

  async up(): Promise<void> {
    await this.down()
    const ip = (...a: string[]) =>
      execFileP('ip', a, { timeout: 15_000 }).catch((e: { stderr?: string; message: string }) => {
        throw new RackbootError(`ip ${a.join(' ')} failed: ${e.stderr?.trim() || e.message}`, 'storm-net')
      })
    try {
      await ip('netns', 'add', this.srv)
      await ip('netns', 'add', this.cli)
      await ip(
        'link',
        'add',
        this.srvIf,
        'netns',
        this.srv,
        'type',
        'veth',
        'peer',
        'name',
        this.cliIf,
        'netns',
        this.cli,
      )
      const helper = intToIp(this.network + 2)
      if (this.clientIface !== this.cliIf) {
        // As `rackboot lab` wires it (lab/netns.ts): STP off, no forwarding delay, one tap per QEMU node.
        const br = this.clientIface
        await ip('-n', this.cli, 'link', 'add', br, 'type', 'bridge')
        await ip('-n', this.cli, 'link', 'set', br, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0')
        await ip('-n', this.cli, 'link', 'set', this.cliIf, 'master', br, 'up')
        for (let k = 1; k <= (this.o.qemuSlots ?? 0); k++) {
          await ip('-n', this.cli, 'tuntap', 'add', 'dev', this.tap(k), 'mode', 'tap')
          await ip('-n', this.cli, 'link', 'set', this.tap(k), 'master', br, 'up')
        }
      }
      for (const [ns, dev, addr] of [
        [this.srv, this.srvIf, this.serverIp],
        [this.cli, this.clientIface, helper],
      ] as const) {
        await ip('-n', ns, 'link', 'set', 'lo', 'up')
        await ip('-n', ns, 'addr', 'add', `${addr}/${this.prefixLen}`, 'dev', dev)
        await ip('-n', ns, 'link', 'set', dev, 'up')
      }
      // Hundreds of secondary addresses on one link: keep them all when one goes, and let ARP answer for each.
      await this.exec('cli', ['sysctl', '-qw', `net.ipv4.conf.${this.clientIface}.promote_secondaries=1`])
      // Every address from the second /24 to the end of the subnet (the nodes' planned addresses and the pool)
      // is local on the client side ("AnyIP" local routes): a simulated NIC can use the address it was leased
      // at once, as firmware does, without an `ip addr add` process per lease on the simulator's event loop.
      // The first /24 (server, helper, QEMU nodes) stays out: those addresses belong to other hosts.
      for (const block of this.routedBlocks())
        await ip('-n', this.cli, 'route', 'add', 'local', block, 'dev', this.clientIface, 'table', 'local')
      // Up is not yet running (link-ready.ts): with the bridge, the client end is up before the server end,
      // whose carrier the kernel then marks running up to a second later, and a serve started before that
      // sees no such interface. Both ends, so the clients' first DISCOVER is not sent into a dead link either.
      await waitForLinksReady(
        [
          { namespace: this.srv, dev: this.srvIf, address: this.serverIp },
          { namespace: this.cli, dev: this.clientIface, address: helper },
        ],
        { probe: probeLink },
      )
    } catch (e) {
      await this.down()
      throw e
    }
  }

  /** The tap of QEMU node k (1-based), inside the client namespace. */
  tap(k: number): string {
    return `${this.o.prefix}-q${k}`
  }

  /** CIDR blocks covering network+256 .. the end of the subnet: /24, /23, /22 … up to half the subnet. */
  routedBlocks(): string[] {
    const out: string[] = []
    for (let k = 8; k < 32 - this.prefixLen; k++) out.push(`${intToIp(this.network + 2 ** k)}/${32 - k}`)
    return out
  }

  /** Kills what this rig started (by PID) and deletes both namespaces. Never throws. */
  async down(): Promise<void> {
    for (const c of this.children) if (c.pid !== undefined && c.exitCode === null) killGroup(c.pid)
    this.children.clear()
    for (const ns of [this.srv, this.cli]) await execFileP('ip', ['netns', 'del', ns]).catch(() => undefined)
  }

  /**
   * tbf on the server's veth (the direction the bytes flow); null removes it. tbf alone queues in one FIFO,
   * where bulk HTTP delays and drops the DHCP and lock-step TFTP packets behind it; `fq_codel` puts Linux's
   * default NIC qdisc under the tbf, as on a laptop's real 1 Gbit/s port (flows queue apart).
   */
  async shape(rate: string | null, child: 'fifo' | 'fq_codel' = 'fifo'): Promise<void> {
    await this.exec('srv', ['tc', 'qdisc', 'del', 'dev', this.srvIf, 'root']).catch(() => undefined)
    if (!rate) return
    const tbf = ['tbf', 'rate', rate, 'burst', '256kb', 'latency', '50ms']
    await this.exec('srv', ['tc', 'qdisc', 'add', 'dev', this.srvIf, 'root', 'handle', '1:', ...tbf])
    if (child === 'fq_codel')
      await this.exec('srv', ['tc', 'qdisc', 'add', 'dev', this.srvIf, 'parent', '1:1', 'fq_codel'])
  }

  /** Writes the storm's nodes, image and settings into the data dir (before serve holds the store). */
  async prepare(plan: StormPlan): Promise<void> {
    const mix = firmwareMix(plan.firmwareMix ?? '1:1', plan.nodes)
    if (!mix)
      throw new RackbootError(
        `--firmware-mix '${plan.firmwareMix}' is not BIOS:UEFI weights, e.g. 1:1`,
        'bad-request',
      )
    const max = 2 ** (32 - this.prefixLen) - 256 - 10 - 256
    if (!Number.isInteger(plan.nodes) || plan.nodes < 1 || plan.nodes > Math.min(max, 1000))
      throw new RackbootError(
        `--nodes ${plan.nodes} is not 1..${Math.min(max, 1000)} for ${this.o.subnet}`,
        'bad-request',
      )
    this.nodes = mix.map((firmware, i) => ({
      name: `storm${String(i + 1).padStart(3, '0')}`,
      mac: `02:52:53:${hex((i >> 16) & 0xff)}:${hex((i >> 8) & 0xff)}:${hex(i & 0xff)}`,
      ip: intToIp(this.network + 256 + 10 + i),
      firmware,
    }))
    await mkdir(this.o.dataDir, { recursive: true })
    const core = await Rackboot.open({ dataDir: this.o.dataDir, logger: this.o.logger })
    try {
      // serve imports the rescue image in the background on a fresh data dir: done here, so that import does
      // not compete with the storm for the CPU (and `--image rackboot-rescue` works on a fresh dir).
      await ensureDefaultImage(core)
      const call = async <C extends Parameters<typeof dispatch>[1]>(channel: C, req: unknown) => {
        const r = await dispatch(core.handlers, channel, req)
        if (!r.ok)
          throw new RackbootError(`storm setup: ${String(channel)}: ${r.error.message}`, 'storm-setup')
        return r.value
      }
      let image = plan.image
      if (!image) {
        image = 'storm'
        const sizes = plan.synthetic ?? { kernelBytes: 4 << 20, imageBytes: 8 << 20 }
        const src = join(this.o.dataDir, 'storm-src')
        await mkdir(src, { recursive: true })
        await writeRandom(join(src, 'vmlinuz'), sizes.kernelBytes)
        await writeRandom(join(src, 'initrd'), sizes.imageBytes)
        if (!(await core.images.get(image)))
          await call('images/import', {
            name: image,
            kind: 'kernel-initrd',
            kernel: join(src, 'vmlinuz'),
            initrd: join(src, 'initrd'),
            replace: true,
          })
      } else if (!(await core.images.get(image))) {
        throw new RackbootError(
          `--image ${image}: no such image in ${this.o.dataDir} (rackboot images list)`,
          'not-found',
        )
      }
      await call('settings/update', {
        captureGuardSeconds: plan.captureGuardSeconds ?? 0,
        subnet: `${intToIp(this.network)}/${this.prefixLen}`,
      })
      const spares = Array.from({ length: plan.spareSlots ?? 0 }, (_, k) => this.nodes.length + k)
      const racks = Math.ceil((this.nodes.length + spares.length) / 60)
      for (let r = 0; r < racks; r++) await call('racks/upsert', { name: `storm-r${r + 1}`, heightU: 60 })
      // Prepared once, served twice (the bench's second server): nodes already there stay as they are.
      const existing = new Set(core.repo.listNodes().map((n) => n.name))
      for (const [i, n] of this.nodes.entries())
        if (!existing.has(n.name))
          await call('nodes/add', {
            name: n.name,
            ip: n.ip,
            image,
            rack: `storm-r${Math.floor(i / 60) + 1}`,
            slot: (i % 60) + 1,
            ...(plan.inventory === 'known' ? { mac: n.mac } : {}),
          })
      this.qemuNodes = Array.from({ length: plan.qemu ?? 0 }, (_, k) => ({
        name: `qemu${String(k + 1).padStart(2, '0')}`,
        mac: `52:54:00:53:00:${hex(k + 1)}`,
        // The first /24, outside the client side's local routes: these addresses belong to the VMs.
        ip: intToIp(this.network + 20 + k),
        tap: this.tap(k + 1),
        console: join(this.o.dataDir, `qemu${String(k + 1).padStart(2, '0')}.console`),
      }))
      if (this.qemuNodes.length > (this.o.qemuSlots ?? 0) || this.qemuNodes.length > 200)
        throw new RackbootError(
          `${this.qemuNodes.length} QEMU nodes planned for ${this.o.qemuSlots ?? 0} taps`,
          'bad-request',
        )
      if (this.qemuNodes.length > 0) await call('racks/upsert', { name: 'storm-q', heightU: 60 })
      for (const [k, q] of this.qemuNodes.entries())
        if (!existing.has(q.name))
          await call('nodes/add', {
            name: q.name,
            mac: q.mac,
            ip: q.ip,
            image: DEFAULT_IMAGE_NAME,
            rack: 'storm-q',
            slot: k + 1,
          })
      if (this.qemuNodes.length > 0)
        for (const kind of ['kernel', 'image', 'modules'] as const) {
          const p = core.images.artifactPath(DEFAULT_IMAGE_NAME, kind)
          if (p) this.qemuArtifactSizes[kind] = (await stat(p)).size
        }
      for (const i of spares)
        if (!existing.has(`spare${String(i + 1).padStart(3, '0')}`))
          await call('nodes/add', {
            name: `spare${String(i + 1).padStart(3, '0')}`,
            ip: intToIp(this.network + 256 + 10 + i),
            image,
            rack: `storm-r${Math.floor(i / 60) + 1}`,
            slot: (i % 60) + 1,
          })
      for (const kind of ['kernel', 'image', 'modules'] as const) {
        const p = core.images.artifactPath(image, kind)
        if (!p) continue
        this.expected.http[kind] = await sha256File(p)
        this.expectedFiles[kind] = p
      }
    } finally {
      await core.close()
    }
    for (const dir of [join(appRootOf(this.o.selfCommand), 'resources', 'ipxe'), '/usr/lib/ipxe'])
      for (const f of ['undionly.kpxe', 'ipxe.efi', 'snponly.efi'])
        if (!this.expected.tftp[f] && existsSync(join(dir, f)))
          this.expected.tftp[f] = await sha256File(join(dir, f))
  }

  /** `rackboot serve` on the server side, DHCP server mode; resolves on its ready line. */
  startServe(extra: string[] = []): Promise<Serve> {
    return this.startDaemon(
      'srv',
      [
        ...this.o.selfCommand,
        'serve',
        '--interface',
        this.srvIf,
        '--dhcp-mode',
        'server',
        '--data-dir',
        this.o.dataDir,
        '--pool',
        this.pool,
        ...extra,
      ],
      /^rackboot ready (\{.*\})$/,
    )
  }

  /**
   * IPv6 router advertisements on the server side, as `rackboot lab` sends them (lab/ra.ts): without one, the
   * QEMU nodes' iPXE waits ~16 s for IPv6 before it goes on (PXE-NOTES). Simulated nodes ignore them.
   */
  startRaSender(maxSeconds: number): Promise<Serve> {
    return this.startDaemon(
      'srv',
      [
        ...this.o.selfCommand,
        'lab',
        'ra-sender',
        '--interface',
        this.srvIf,
        '--id',
        '83',
        '--max-seconds',
        String(Math.max(1, Math.ceil(maxSeconds))),
      ],
      new RegExp(`^${RA_SENDER_READY}`),
    )
  }

  /** Runs the simulated nodes (`rackboot sim clients`) in the client namespace. */
  async startClients(over: Partial<StormClientsConfig> = {}): Promise<ClientsRun> {
    const config: StormClientsConfig = {
      iface: this.clientIface,
      prefixLen: this.prefixLen,
      nodes: this.nodes.map((n) => ({ mac: n.mac, firmware: n.firmware })),
      expected: this.expected,
      expectedFiles: this.expectedFiles,
      addressesRouted: true,
      startSpreadMs: 1000,
      deadlineMs: 600_000,
      maxBoots: 5,
      ...over,
    }
    const file = join(this.o.dataDir, 'storm-clients.json')
    await writeFile(file, JSON.stringify(config))
    const child = this.spawnIn('cli', [...this.o.selfCommand, 'sim', 'clients', '--config', file])
    let out = ''
    let err = ''
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-20000)))
    const done = new Promise<StormSummary>((resolve, reject) =>
      child.once('exit', (code) => {
        const line = out.split('\n').find((l) => l.startsWith('{'))
        if (code === 0 && line) return resolve(JSON.parse(line) as StormSummary)
        reject(new RackbootError(`storm clients exited ${code}: ${err.slice(-4000)}`, 'storm-clients'))
      }),
    )
    // A test that fails before awaiting `done` kills the clients: that rejection is not an unhandled one.
    done.catch(() => undefined)
    return { pid: child.pid ?? -1, done, kill: () => child.pid !== undefined && killGroup(child.pid) }
  }

  spawnIn(side: 'srv' | 'cli', argv: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', side === 'srv' ? this.srv : this.cli, ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    this.children.add(child)
    child.once('exit', () => this.children.delete(child))
    return child
  }

  /** A long-running process in a namespace, ready when a line of its stdout matches (group 1 = JSON). */
  startDaemon(side: 'srv' | 'cli', argv: string[], readyLine: RegExp, timeoutMs = 60_000): Promise<Serve> {
    const child = this.spawnIn(side, argv)
    let output = ''
    child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-65536)))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)))
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (child.pid !== undefined) killGroup(child.pid)
        reject(
          new RackbootError(
            `${argv.join(' ')} not ready in ${timeoutMs} ms:\n${output.slice(-3000)}`,
            'storm-serve',
          ),
        )
      }, timeoutMs)
      void exited.then((c) => {
        clearTimeout(timer)
        reject(
          new RackbootError(
            `${argv.join(' ')} exited ${c} before ready:\n${output.slice(-3000)}`,
            'storm-serve',
          ),
        )
      })
      createInterface({ input: child.stdout! }).on('line', (line) => {
        output = (output + line + '\n').slice(-65536)
        const m = readyLine.exec(line)
        if (!m) return
        clearTimeout(timer)
        resolve({
          pid: child.pid ?? -1,
          ready: m[1] ? (JSON.parse(m[1]) as Record<string, unknown>) : {},
          output: () => output,
          exited,
          stop: async (signal = 'SIGTERM') => {
            if (child.exitCode === null && child.signalCode === null && child.pid !== undefined)
              process.kill(signal === 'SIGKILL' ? -child.pid : child.pid, signal)
            await exited
          },
        })
      })
    })
  }
}

/** `ip -j -n NS addr show dev X`; null when the link (or namespace) does not exist or the answer is unreadable. */
async function probeLink(link: Link): Promise<LinkState | null> {
  try {
    const r = await execFileP('ip', ['-j', '-n', link.namespace, 'addr', 'show', 'dev', link.dev], {
      timeout: 10_000,
    })
    const state = parseIpAddrJson(r.stdout)
    return state.ok ? state.value : null
  } catch {
    return null
  }
}

/** SIGKILL to a process group we started detached (the `ip netns exec` and what it execs). */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // already gone
  }
}

const hex = (b: number) => b.toString(16).padStart(2, '0')

async function writeRandom(path: string, bytes: number): Promise<void> {
  if (existsSync(path)) return
  await writeFile(path, randomBytes(bytes))
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer)
  return h.digest('hex')
}

/** The app root of `node …/bin/rackboot.js`: resources/ipxe lives there. */
function appRootOf(selfCommand: string[]): string {
  const script = selfCommand.find((a) => a.endsWith('rackboot.js'))
  return script ? join(script, '..', '..') : process.cwd()
}
