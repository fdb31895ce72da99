/**
 * Starts and stops the boot stack (TFTP, HTTP, DHCP) on ONE interface, or on loopback only when no
 * interface is chosen (the safe embedded default). Owns every socket it opens; stop() closes them all.
 * A failed start closes whatever had already started, so a half-up stack never lingers.
 */
import type { StackCounters, StackStatus } from '../../ipc/contract'
import type { DhcpMode } from '../inventory/schema'
import type { Logger } from '../util/logger'
import { RackbootError, errorMessage } from '../util/result'
import {
  chooseBootInterface,
  listInterfaces,
  systemInterfaceSource,
  type InterfaceSource,
} from '../net/interfaces'
import { describeOtherServers, probeInterface } from '../net/rogue-dhcp'
import { startTftpServer, type TftpServer } from './tftp/server'
import type { TftpEvent } from './tftp/session'
import type { HttpBootEvent } from './http/types'
import { diskProvider, compositeProvider } from './tftp/files'
import { ipxeBootFileUrl } from './http/ipxe'
import { startProvisioningServer, type ProvisioningResolver, type ProvisioningServer } from './http/server'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Socket } from 'node:dgram'
import type { InventoryRepo } from '../inventory/repo'
import { intToIp, ipToInt, parseCidr, cidrContains, type Cidr } from '../util/ipv4'
import { bindToInterface } from '../net/bind'
import type { BootEvent, OtherDhcpServer } from './events'
import { DhcpEngine } from './dhcp/engine'
import { LeaseBook, type Pool } from './dhcp/leases'
import { LeaseJournal, LEASE_FILE } from './dhcp/journal'
import { inventoryReservations } from './dhcp/reservations'
import { startDhcpServer, type DhcpServer } from './dhcp/server'

export interface StackConfig {
  interface: string | null
  force: boolean
  dhcpMode: DhcpMode
  httpPort: number
  /** null = 69, falling back to any free port on loopback when 69 is not ours to bind. */
  tftpPort: number | null
  filesRoot: string | null
  ipxeRoots: string[]
}

export interface SupervisorDeps {
  logger: Logger
  resolver: ProvisioningResolver
  onStatus(status: StackStatus): void
  interfaces?: InterfaceSource
  dhcp: {
    dataDir: string
    repo: InventoryRepo
    onPxeDiscover(mac: string, uuid: string | undefined): Promise<void>
    onBootEvent(e: BootEvent): void
    /** Opens a UDP socket bound to the interface (tests may inject); default net/bind.ts. */
    bindUdp?(iface: string, address: string, port: number): Promise<Socket>
    ports?: { server?: number; proxy?: number }
    /** How long the rogue-DHCP probe listens before DHCP starts; 0 skips it. Default 3000. */
    probeMs?: number
  }
  /** How often the boot interface's link and address are checked while serving on one; 0 = never. Default 1000. */
  interfaceWatchMs?: number
}

const TFTP_PORT = 69
/**
 * Concurrent TFTP transfers of the boot stack. The server's default (64) refused nodes in a 50-node storm on
 * a 1 Gbit/s link (`rackboot sim storm`): while HTTP fills the link, lock-step TFTP waits in the queue per
 * block and transfers overlap. 256 covers a 200-node storm (each transfer is one socket, one fd, one window).
 */
const TFTP_MAX_TRANSFERS = 256

export class Supervisor {
  private current: StackStatus = stoppedStatus(null, 'off')
  private tftp: TftpServer | null = null
  private http: ProvisioningServer | null = null
  private dhcp: DhcpServer | null = null
  private journal: LeaseJournal | null = null
  /** The interface watch (see watchInterface); cleared by stop(). */
  private watch: NodeJS.Timeout | null = null

  constructor(private readonly deps: SupervisorDeps) {}

  status(): StackStatus {
    return this.current
  }

  async start(config: StackConfig): Promise<StackStatus> {
    if (this.current.state === 'running' || this.current.state === 'starting')
      throw new RackbootError('the boot stack is already running; stop it first', 'conflict')
    this.stopWatch()
    this.set({ ...stoppedStatus(config.interface, config.dhcpMode), state: 'starting' })
    try {
      const status = await this.open(config, false)
      this.watchInterface(config)
      return status
    } catch (e) {
      await this.closeAll()
      this.set({
        ...stoppedStatus(config.interface, config.dhcpMode),
        state: 'failed',
        error: errorMessage(e),
      })
      throw e
    }
  }

  /** Binds every service on the configured interface; `resume` skips the rogue-DHCP probe (done at start). */
  private async open(config: StackConfig, resume: boolean): Promise<StackStatus> {
    {
      let host = '127.0.0.1'
      let nicAddress: { address: string; network: string } | null = null
      if (config.interface !== null) {
        const nic = await chooseBootInterface(config.interface, {
          force: config.force,
          source: this.deps.interfaces,
        })
        host = nic.ipv4.address
        nicAddress = nic.ipv4
      }
      if (config.dhcpMode !== 'off' && config.interface === null)
        throw new RackbootError(
          `--dhcp-mode ${config.dhcpMode} needs --interface: DHCP is never served on loopback`,
          'bad-request',
        )
      const roots = [...config.ipxeRoots, ...(config.filesRoot ? [config.filesRoot] : [])]
      const provider = compositeProvider(roots.map((r) => diskProvider(r)))
      this.tftp = await this.bindTftp(host, config, provider)
      this.http = await startProvisioningServer({
        host,
        port: config.httpPort,
        resolver: this.deps.resolver,
        filesRoot: config.filesRoot,
        bootRoot: config.ipxeRoots[0] ?? null,
        logger: this.deps.logger,
        onEvent: (e) => this.httpEvent(e),
      }).catch((e: unknown) => {
        throw bindError('TCP', host, config.httpPort, config.interface, e)
      })
      const listening = {
        tftp: { listening: `${this.tftp.address.host}:${this.tftp.address.port}` },
        http: { listening: `${this.http.address.host}:${this.http.address.port}` },
      }
      // Said before the probe's seconds: TFTP and HTTP do listen, and the HTTP address is what the known
      // nodes' overlays are built with, so the overlay prebuild uses those seconds instead of a storm's first.
      if (!resume) this.set({ ...this.current, ...listening })
      // DHCP last: nobody is told where to boot from before TFTP and HTTP listen.
      let otherServers: OtherDhcpServer[] | undefined
      if (config.dhcpMode !== 'off' && config.interface !== null && nicAddress !== null) {
        otherServers = resume
          ? this.current.dhcp.otherServers
          : await this.probe(config.dhcpMode, config.interface)
        this.dhcp = await this.startDhcp(config.dhcpMode, config.interface, nicAddress, roots)
      }
      this.set({
        state: 'running',
        interface: config.interface,
        dhcp: {
          mode: config.dhcpMode,
          listening: this.dhcp
            ? `0.0.0.0:${this.dhcp.ports.server}${this.dhcp.ports.proxy ? `+${this.dhcp.ports.proxy}` : ''} on ${config.interface}`
            : null,
          ...(otherServers ? { otherServers } : {}),
        },
        ...listening,
        error: null,
      })
      return this.current
    }
  }

  async stop(): Promise<void> {
    this.stopWatch()
    if (this.current.state === 'stopped') return
    this.set({ ...this.current, state: 'stopping' })
    await this.closeAll()
    this.set(stoppedStatus(this.current.interface, this.current.dhcp.mode))
  }

  /** Every service's counters, flattened to numbers for the UI and `rackboot status`. */
  counters(): StackCounters {
    return {
      dhcp: this.dhcp ? flattenCounters(this.dhcp.stats()) : null,
      tftp: this.tftp ? flattenCounters(this.tftp.stats()) : null,
      http: this.http ? flattenCounters(this.http.stats()) : null,
    }
  }

  /** The HTTP server's base URL, for scripts and the ready line. */
  httpUrl(): string | null {
    return this.http?.url ?? null
  }

  private async bindTftp(
    host: string,
    config: StackConfig,
    provider: ReturnType<typeof compositeProvider>,
  ): Promise<TftpServer> {
    const port = config.tftpPort ?? TFTP_PORT
    try {
      return await startTftpServer({
        host,
        port,
        provider,
        logger: this.deps.logger,
        onEvent: this.tftpEvent,
        maxTransfers: TFTP_MAX_TRANSFERS,
      })
    } catch (e) {
      const denied = (e as NodeJS.ErrnoException).code === 'EACCES'
      if (denied && config.tftpPort === null && config.interface === null) {
        this.deps.logger.warn(
          `TFTP: port ${TFTP_PORT} needs root or CAP_NET_BIND_SERVICE; serving loopback TFTP on a free port instead (PXE firmware needs 69: see README, Privileges)`,
        )
        return startTftpServer({
          host,
          port: 0,
          provider,
          logger: this.deps.logger,
          onEvent: this.tftpEvent,
          maxTransfers: TFTP_MAX_TRANSFERS,
        })
      }
      throw bindError('UDP', host, port, config.interface, e)
    }
  }

  /**
   * The rogue-DHCP probe (net/rogue-dhcp.ts) before our DHCP listens. A finding is a warning, not a refusal:
   * in proxy mode another server is expected; in server mode the engineer is told to switch to proxy.
   */
  private async probe(mode: 'server' | 'proxy', iface: string): Promise<OtherDhcpServer[] | undefined> {
    const ms = this.deps.dhcp.probeMs ?? 3000
    if (ms <= 0) return undefined
    try {
      const found = await probeInterface(iface, {
        listInterfaces: () => listInterfaces(this.deps.interfaces),
        bindUdp:
          this.deps.dhcp.bindUdp ?? ((i, address, port) => bindToInterface({ interface: i, address, port })),
        timeoutMs: ms,
      })
      if (found.length > 0)
        this.deps.logger.warn(
          `${describeOtherServers(iface, found)}${mode === 'server' ? ' — nodes may take its answers: use --dhcp-mode proxy, or disconnect it' : ' (expected in proxy mode)'}`,
        )
      return found
    } catch (e) {
      this.deps.logger.warn(`rogue-DHCP probe on ${iface} failed: ${errorMessage(e)}`)
      return undefined
    }
  }

  private async startDhcp(
    mode: 'server' | 'proxy',
    iface: string,
    nic: { address: string; network: string },
    tftpRoots: string[],
  ): Promise<DhcpServer> {
    const { repo } = this.deps.dhcp
    const settings = repo.settings()
    const subnet = unwrapCidr(
      settings.subnet ?? nic.network,
      settings.subnet ? 'settings.subnet' : `${iface}'s network`,
    )
    const serverInt = ipToInt(nic.address)!
    if (!cidrContains(subnet, serverInt))
      throw new RackbootError(
        `${iface}'s address ${nic.address} is not in the subnet ${subnet.text} (settings.subnet)`,
        'bad-request',
      )
    const pool = mode === 'server' ? makePool(subnet, serverInt, settings.gateway, settings.pool) : null
    if (pool && !settings.pool)
      this.deps.logger.info(
        `DHCP: no pool set; using ${intToIp(pool.start)}-${intToIp(pool.end)} for unknown clients (set one with --pool)`,
      )
    const opened = await LeaseJournal.open(
      join(this.deps.dhcp.dataDir, LEASE_FILE),
      this.deps.logger,
      Date.now(),
    )
    this.journal = opened.journal
    const book = new LeaseBook(
      pool,
      inventoryReservations(() => repo.db),
      opened.entries,
    )
    opened.setLive(() => book.entries())
    const engine = new DhcpEngine({
      config: {
        mode,
        serverIp: nic.address,
        subnet,
        gateway: settings.gateway,
        dns: settings.dns,
        domain: settings.domain,
        leaseSeconds: settings.leaseSeconds,
        offerHoldMs: 30_000,
        declineQuarantineMs: 600_000,
        boot: {
          httpPort: this.http!.address.port,
          efiBootFile: settings.efiBootFile,
          ipxeRomChain: settings.ipxeRomChain,
          tftpFileExists: (name) => tftpRoots.some((r) => existsSync(join(r, name))),
          // iPXE expands ${mac}, ${platform} and ${asset} in the DHCP file name itself, so the script URL
          // tells the HTTP server the firmware (EFI kernels need initrd= names) and the asset key.
          ipxeScriptUrl: () => ipxeBootFileUrl(`http://${nic.address}:${this.http!.address.port}`),
        },
      },
      book,
      journal: opened.journal,
      nodeName: (mac) => repo.nodeByMac(mac)?.name ?? null,
      onPxeDiscover: (mac, _kind, uuid) => this.deps.dhcp.onPxeDiscover(mac, uuid),
      now: () => Date.now(),
      emit: (e) => this.deps.dhcp.onBootEvent(e),
    })
    const bindUdp =
      this.deps.dhcp.bindUdp ?? ((i, address, port) => bindToInterface({ interface: i, address, port }))
    return startDhcpServer({
      engine,
      mode,
      ports: this.deps.dhcp.ports,
      logger: this.deps.logger,
      bindSocket: (port) => bindUdp(iface, nic.address, port),
    })
  }

  /** TFTP knows the client's address only: the node that owns that IPv4 names the MAC. */
  private readonly tftpEvent = (e: TftpEvent): void => {
    const ip = e.client.slice(0, e.client.lastIndexOf(':'))
    const node = this.deps.dhcp.repo.nodeByIpv4(ip)
    this.deps.dhcp.onBootEvent({
      time: new Date().toISOString(),
      mac: node?.macs[0] ?? '',
      node: node?.name ?? null,
      stage: 'tftp',
      step: e.kind,
      ip,
      detail: e.error ? `${e.file}: ${e.error}` : e.file,
      bytes: e.bytes,
      total: e.total,
    })
  }

  private httpEvent(e: HttpBootEvent): void {
    if (e.mac === null || e.route === 'boot' || e.route === 'files') return
    const stage = e.route === 'system' || e.route === 'runtime' ? 'overlay' : e.route
    this.deps.dhcp.onBootEvent({
      time: new Date().toISOString(),
      mac: e.mac,
      node: e.node,
      stage,
      // A transfer cut half-way (the machine went off) says so: a 200 that stopped is not 'done'.
      step: e.done ? (e.aborted ? 'aborted' : e.status < 400 ? 'done' : 'failed') : 'progress',
      detail: `${e.route} HTTP ${e.status}`,
      bytes: e.bytes,
      total: e.total,
    })
  }

  /**
   * Polls the boot interface (netlink is not reachable from Node): operstate in sysfs and its IPv4 address.
   * Link down, address gone or changed, or the interface vanished: every socket closes and the status says
   * `interface-down` with the reason; once it is back (up with an IPv4), the services bind again, on the
   * address it has then, without a restart. One poll at a time; the timer is owned and cleared by stop().
   */
  private watchInterface(config: StackConfig): void {
    const every = this.deps.interfaceWatchMs ?? 1000
    const name = config.interface
    if (name === null || every <= 0) return
    const source = this.deps.interfaces ?? systemInterfaceSource
    const tick = async () => {
      const nic = (await listInterfaces(source).catch(() => [])).find((i) => i.name === name)
      const operstate = await source.sysfs(name, 'operstate')
      // Node's interface list (libuv) leaves out interfaces that are not up and running: sysfs tells why.
      const problem =
        operstate === null && !nic
          ? `interface ${name} vanished`
          : operstate !== null && operstate !== 'up' && operstate !== 'unknown'
            ? `interface ${name} is ${operstate}`
            : !nic?.ipv4
              ? `interface ${name} has no IPv4 address`
              : null
      if (this.current.state === 'running') {
        const bound = this.http?.address.host
        const moved = problem === null && nic?.ipv4 && bound && nic.ipv4.address !== bound
        if (problem === null && !moved) return
        const why = problem ?? `interface ${name} changed address from ${bound} to ${nic?.ipv4?.address}`
        this.deps.logger.warn(`${why}: the boot stack stops answering until it is back`)
        await this.closeAll()
        this.set({
          ...stoppedStatus(name, config.dhcpMode),
          state: 'interface-down',
          error: `${why}; waiting for it to come back`,
          // The UI's one sentence ("eth1 is gone: cable or USB NIC?") and since when.
          interfaceLost: { name, since: new Date().toISOString() },
        })
      } else if (this.current.state === 'interface-down' && problem === null) {
        try {
          await this.open(config, true)
          // stop() ran while we were binding: it closed what existed then, not what this just opened.
          if (this.watch === null) return void (await this.closeAll())
          this.deps.logger.info(`interface ${name} is back: the boot stack answers again`)
        } catch (e) {
          await this.closeAll()
          this.set({
            ...this.current,
            state: 'interface-down',
            error: `${name} is back but the stack could not bind: ${errorMessage(e)}`,
          })
        }
      }
    }
    const schedule = () => {
      this.watch = setTimeout(() => {
        void tick()
          .catch((e: unknown) => this.deps.logger.warn(`interface watch on ${name}: ${errorMessage(e)}`))
          .finally(() => this.watch !== null && schedule())
      }, every)
      this.watch.unref()
    }
    schedule()
  }

  private stopWatch(): void {
    if (this.watch) clearTimeout(this.watch)
    this.watch = null
  }

  private async closeAll(): Promise<void> {
    const closing: Promise<void>[] = []
    if (this.dhcp) closing.push(this.dhcp.close())
    this.dhcp = null
    if (this.http) closing.push(this.http.close())
    if (this.tftp) closing.push(this.tftp.close())
    this.http = null
    this.tftp = null
    await Promise.allSettled(closing)
    // The journal closes after the DHCP sockets, so every lease written before an ACK is flushed.
    await this.journal?.close()
    this.journal = null
  }

  private set(status: StackStatus): void {
    this.current = status
    this.deps.onStatus(status)
  }
}

/** `{ a: 1, t: { done: 2 } }` -> `{ a: 1, 't.done': 2 }`; non-numbers are left out. */
export function flattenCounters(o: object, prefix = ''): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'number') out[prefix + k] = v
    else if (v && typeof v === 'object') Object.assign(out, flattenCounters(v as object, `${prefix}${k}.`))
  }
  return out
}

function unwrapCidr(text: string, where: string): Cidr {
  const c = parseCidr(text)
  if (!c.ok) throw new RackbootError(`${where}: ${c.error}`, 'bad-request')
  return c.value
}

/** The dynamic pool: as set (checked inside the subnet), else the upper half of the subnet. */
function makePool(
  subnet: Cidr,
  serverIp: number,
  gateway: string | null,
  set: { start: string; end: string } | null,
): Pool {
  const broadcast = (subnet.network | (~subnet.mask >>> 0)) >>> 0
  const exclude = new Set([subnet.network, broadcast, serverIp])
  const gw = gateway ? ipToInt(gateway) : null
  if (gw !== null) exclude.add(gw)
  if (set) {
    const start = ipToInt(set.start)!
    const end = ipToInt(set.end)!
    if (!cidrContains(subnet, start) || !cidrContains(subnet, end) || start > end)
      throw new RackbootError(
        `pool ${set.start}-${set.end} is not inside the subnet ${subnet.text}`,
        'bad-request',
      )
    return { start, end, exclude }
  }
  const size = broadcast - subnet.network - 1
  return { start: subnet.network + 1 + Math.floor(size / 2), end: broadcast - 1, exclude }
}

function stoppedStatus(iface: string | null, mode: DhcpMode): StackStatus {
  return {
    state: 'stopped',
    interface: iface,
    dhcp: { mode, listening: null },
    tftp: { listening: null },
    http: { listening: null },
    error: null,
  }
}

/** `cannot bind UDP 0.0.0.0:67 on eth1: permission denied — run as root or grant CAP_NET_BIND_SERVICE (see README)` */
export function bindError(
  proto: 'UDP' | 'TCP',
  host: string,
  port: number,
  iface: string | null,
  e: unknown,
): RackbootError {
  const code = (e as NodeJS.ErrnoException).code
  const where = `${proto} ${host}:${port}${iface ? ` on ${iface}` : ''}`
  if (code === 'EACCES')
    return new RackbootError(
      `cannot bind ${where}: permission denied — run as root or grant CAP_NET_BIND_SERVICE (see README, Privileges)`,
      'permission',
    )
  if (code === 'EADDRINUSE')
    return new RackbootError(
      `cannot bind ${where}: address in use — another server (dnsmasq, tftpd, a second rackboot?) holds it`,
      'conflict',
    )
  if (code === 'EADDRNOTAVAIL')
    return new RackbootError(
      `cannot bind ${where}: that address is not on this machine (interface down or renumbered?)`,
      'bad-request',
    )
  return new RackbootError(`cannot bind ${where}: ${errorMessage(e)}`)
}
