/**
 * One running Rackboot: the store, the inventory, the event bus, the contract handlers and the boot stack.
 * Electron main and `rackboot serve` both build exactly this; close() releases everything it holds.
 */
import type { Events, Handlers, StackStatus } from '../ipc/contract'
import type { DhcpMode } from './inventory/schema'
import { Store } from './inventory/store'
import { InventoryRepo } from './inventory/repo'
import { EventBus } from './util/bus'
import { silentLogger, type Logger } from './util/logger'
import { createHandlers } from './handlers'
import { Supervisor, type StackConfig } from './boot/supervisor'
import { inventoryResolver } from './boot/resolver'
import { productVersion } from './version'
import { CaptureController } from './boot/capture-controller'
import { ImageStore } from './images/store'
import { OverlayCache } from './images/overlays/cache'
import { OverlayPrebuilder } from './images/overlays/prebuild'
import { TimelineRecorder } from './boot/timeline/recorder'
import { join } from 'node:path'
import { type LabHandlers, type LabControl, createLabHandlers } from './lab/contract-handlers'

export interface RackbootOptions {
  dataDir: string
  logger?: Logger
  resetStore?: boolean
  headless?: boolean
  /** This core serves a virtual rack (`rackboot lab up` starts its serve so): lab/status and lab/power answer. */
  lab?: LabControl
}

export interface StackOptions {
  interface?: string | null
  force?: boolean
  dhcpMode?: DhcpMode
  httpPort?: number
  tftpPort?: number | null
  filesRoot?: string | null
  ipxeRoots?: string[]
}

export class Rackboot {
  readonly bus = new EventBus<Events>()
  readonly handlers: Handlers
  readonly supervisor: Supervisor
  readonly capture: CaptureController
  readonly images: ImageStore
  /** Every machine's boots, one JSON file per boot under <dataDir>/timelines (nodes/timeline). */
  readonly timelines: TimelineRecorder
  /** Builds each node's overlays when its inputs change, so a first boot finds them ready. */
  readonly overlayPrebuild: OverlayPrebuilder
  private readonly disposers: Array<() => void> = []
  private readonly lab: LabHandlers
  private closed = false
  /** When the last DHCP or TFTP event was seen (ms): machines powering on, whom background work lets go first. */
  private lastFirmwareTraffic = 0

  private constructor(
    readonly store: Store,
    readonly repo: InventoryRepo,
    readonly logger: Logger,
    headless: boolean,
    lab?: LabControl,
  ) {
    this.lab = createLabHandlers(lab ? { lab, logger } : null)
    this.images = new ImageStore({ root: join(store.dataDir, 'images'), logger })
    this.timelines = new TimelineRecorder({ dir: join(store.dataDir, 'timelines'), logger })
    this.disposers.push(this.bus.on('boot/event', (e) => this.timelines.record(e)))
    this.disposers.push(
      this.bus.on('boot/event', (e) => {
        if (e.stage === 'dhcp' || e.stage === 'tftp') this.lastFirmwareTraffic = Date.now()
      }),
    )
    this.capture = new CaptureController({
      repo,
      now: () => Date.now(),
      logger,
      onEvent: (e) => this.bus.emit('capture/event', e),
      onChange: (s) => this.bus.emit('capture/changed', s),
    })
    const overlays = new OverlayCache({ root: join(store.dataDir, 'overlays'), logger })
    const resolver = inventoryResolver(repo, this.images, () => this.supervisor.status(), {
      overlays,
      // HTTP listens on the boot interface's own address, so this is the URL nodes can reach.
      serverUrl: () => {
        const l = this.supervisor.status().http.listening
        return l ? `http://${l}` : null
      },
      onAgentReport: (mac, report, node) =>
        this.bus.emit('boot/event', {
          time: new Date().toISOString(),
          mac,
          node,
          stage: report.stage.startsWith('init') ? 'init' : 'agent',
          step: report.stage,
        }),
    })
    this.overlayPrebuild = new OverlayPrebuilder({
      cache: overlays,
      // Only while HTTP listens: its address is in every system overlay (the agent's server URL), so an
      // overlay built before would be built again at start; one-shot commands build nothing.
      inputs: () => (this.supervisor.status().http.listening ? resolver.overlayInputsOfAll() : []),
      // Machines powering on go first (see prebuild.ts), for the first seconds of a storm.
      busy: () => Date.now() - this.lastFirmwareTraffic < 1000,
      logger,
    })
    this.supervisor = new Supervisor({
      logger,
      resolver,
      onStatus: (status) => {
        this.bus.emit('stack/changed', status)
        // The HTTP address is an overlay input (the agent's server URL).
        this.overlayPrebuild.schedule()
      },
      dhcp: {
        dataDir: store.dataDir,
        repo,
        onPxeDiscover: (mac, uuid) => this.capture.onPxeDiscover(mac, uuid),
        onBootEvent: (e) => this.bus.emit('boot/event', e),
      },
    })
    this.handlers = createHandlers({
      repo,
      version: productVersion(),
      dataDir: store.dataDir,
      headless,
      stackStatus: () => this.supervisor.status(),
      stackCounters: () => this.supervisor.counters(),
      capture: this.capture,
      images: {
        images: this.images,
        inventory: store,
        onProgress: (p) => this.bus.emit('images/progress', p),
      },
      timelines: this.timelines,
      lab: this.lab.handlers,
    })
    this.disposers.push(
      store.onChange((db) => {
        this.bus.emit('nodes/changed', { nodes: repo.listNodes() })
        this.bus.emit('settings/changed', db.settings)
        this.overlayPrebuild.schedule()
      }),
    )
  }

  static async open(options: RackbootOptions): Promise<Rackboot> {
    const logger = options.logger ?? silentLogger
    const store = await Store.open({ dataDir: options.dataDir, resetStore: options.resetStore, logger })
    const core = new Rackboot(store, new InventoryRepo(store), logger, options.headless ?? true, options.lab)
    // Leftovers of an import killed mid-way (temp dirs) go; a finished image is never touched.
    const swept = await core.images.sweep().catch(() => 0)
    if (swept > 0) logger.warn(`removed ${swept} unfinished image import(s) left by a crash`)
    return core
  }

  /** Starts the boot stack; settings fill what the options leave out. */
  async startStack(options: StackOptions = {}): Promise<StackStatus> {
    const s = this.repo.settings()
    const config: StackConfig = {
      interface: options.interface !== undefined ? options.interface : s.interface,
      force: options.force ?? false,
      dhcpMode:
        options.dhcpMode ?? (options.interface === undefined && s.interface === null ? 'off' : s.dhcpMode),
      httpPort: options.httpPort ?? s.httpPort,
      tftpPort: options.tftpPort ?? null,
      filesRoot: options.filesRoot ?? null,
      ipxeRoots: options.ipxeRoots ?? [],
    }
    return this.supervisor.start(config)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.lab.stop()
    await this.supervisor.stop()
    for (const d of this.disposers.splice(0)) d()
    await this.overlayPrebuild.stop()
    await this.timelines.flush()
    await this.store.close()
  }
}
