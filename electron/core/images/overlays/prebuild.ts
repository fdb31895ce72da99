/**
 * Builds nodes' overlays ahead of their first boot, off the request path. A cold storm of 200 nodes would
 * otherwise generate 200 host keys and pack 200 gzip cpios while the same event loop answers DHCP, TFTP and
 * HTTP (bench/RESULTS.md, "Boot storm"). Told of every inventory, settings or stack change (schedule()), it
 * rebuilds only the nodes whose overlay inputs changed, a few at a time, through the same OverlayCache the
 * request path uses: a request for a node being built waits for that build instead of starting another, and
 * a request for a node not built yet still builds it on demand.
 *
 * It also steps aside while machines are powering on (`busy`): a cold storm's first second is CPU-bound on a
 * 2-core laptop (DHCP, lock-step TFTP and the simulator or the real NICs' interrupts), and 50 nodes' builds
 * there took ~0.5 s of CPU (200 nodes: ~2 s) exactly while the link waited for the first kernels
 * (bench:storm --trace). So builds wait while DHCP and TFTP run, but only for the storm's first seconds
 * (`maxYieldMs`): after that the link is full and the CPU has room, and the overlays must be ready before the
 * storm's last nodes ask for them (an on-demand build there adds to the storm's tail). Nodes asking meanwhile
 * get theirs built on demand.
 */
import { silentLogger, type Logger } from '../../util/logger'
import { errorMessage } from '../../util/result'
import type { OverlayCache } from './cache'
import type { OverlayInputs } from './templates'

export interface OverlayPrebuilderOptions {
  cache: Pick<OverlayCache, 'path'>
  /** The inputs the request path would use, for every node that can boot (has a MAC). */
  inputs: () => OverlayInputs[]
  /** Builds at once; default 2 (they share the cores with the boot stack). */
  concurrency?: number
  /**
   * Waits for this long without a change before a pass, so a burst (an import of 200 nodes, a capture run:
   * each new node changes every node's /etc/hosts) is one pass, not one per node; default 500 ms. A steady
   * stream of changes still gets a pass every 10 × this.
   */
  debounceMs?: number
  /** Clock (ms) for the caps on waiting; default Date.now. */
  now?: () => number
  /** True while latency-sensitive boot traffic runs (DHCP, TFTP): builds wait. Default: never busy. */
  busy?: () => boolean
  /** How long builds wait for `busy` to end before they run anyway (a storm's ramp; a flood never ends); 3 s. */
  maxYieldMs?: number
  /** How often a waiting builder looks at `busy` again; default 250 ms. */
  yieldCheckMs?: number
  logger?: Logger
}

export class OverlayPrebuilder {
  /** Node name -> the inputs to build, in arrival order. */
  private readonly queue = new Map<string, OverlayInputs>()
  /** Node name -> signature of the inputs last queued, so an unrelated change (a lease, a state) costs nothing. */
  private readonly queued = new Map<string, string>()
  private readonly running = new Set<Promise<void>>()
  private readonly waiters: Array<() => void> = []
  private readonly logger: Logger
  private timer: NodeJS.Timeout | null = null
  /** When the pending pass was first asked for (ms), for the cap on waiting. */
  private pendingSince = 0
  /** Since when builds have been waiting for `busy` to end (ms), null when not waiting. */
  private yieldingSince: number | null = null
  private recheck: NodeJS.Timeout | null = null
  private stopped = false

  constructor(private readonly opts: OverlayPrebuilderOptions) {
    this.logger = opts.logger ?? silentLogger
  }

  /** Something overlays depend on may have changed: look again shortly. Cheap; call it on every change. */
  schedule(): void {
    if (this.stopped) return
    const quiet = this.opts.debounceMs ?? 500
    const now = (this.opts.now ?? Date.now)()
    if (this.timer) {
      if (now - this.pendingSince >= 10 * quiet) return
      clearTimeout(this.timer)
    } else {
      this.pendingSince = now
    }
    this.timer = setTimeout(() => {
      this.timer = null
      this.scan()
      this.notify()
    }, quiet)
  }

  /** Resolves when nothing is scheduled, queued or building (tests, benches). */
  async idle(): Promise<void> {
    while (this.timer || this.queue.size > 0 || this.running.size > 0) {
      await new Promise<void>((resolve) => this.waiters.push(resolve))
    }
  }

  /** Drops what is queued and waits for the builds under way (each a few milliseconds). */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    if (this.recheck) clearTimeout(this.recheck)
    this.recheck = null
    this.queue.clear()
    await Promise.allSettled([...this.running])
    this.notify()
  }

  private scan(): void {
    let all: OverlayInputs[]
    try {
      all = this.opts.inputs()
    } catch (e) {
      this.logger.warn(`overlay: reading the inventory to build overlays ahead failed: ${errorMessage(e)}`)
      return
    }
    const memo = new Map<unknown, string>()
    const present = new Set<string>()
    for (const inputs of all) {
      const name = inputs.node.name
      present.add(name)
      const sig = signature(inputs, memo)
      if (this.queued.get(name) === sig) continue
      this.queued.set(name, sig)
      this.queue.delete(name)
      this.queue.set(name, inputs)
    }
    for (const name of [...this.queued.keys()]) if (!present.has(name)) this.queued.delete(name)
    this.pump()
  }

  private pump(): void {
    if (this.stopped || this.queue.size === 0 || this.yielding()) return
    const limit = Math.max(1, this.opts.concurrency ?? 2)
    for (const [name, inputs] of this.queue) {
      if (this.stopped || this.running.size >= limit) break
      this.queue.delete(name)
      const build: Promise<void> = this.build(name, inputs).finally(() => {
        this.running.delete(build)
        this.pump()
        this.notify()
      })
      this.running.add(build)
    }
  }

  /** Whether builds wait for the boot traffic now; if so, looks again in yieldCheckMs. */
  private yielding(): boolean {
    if (!this.opts.busy?.()) {
      this.yieldingSince = null
      return false
    }
    const now = (this.opts.now ?? Date.now)()
    this.yieldingSince ??= now
    if (now - this.yieldingSince >= (this.opts.maxYieldMs ?? 3_000)) return false
    this.recheck ??= setTimeout(() => {
      this.recheck = null
      this.pump()
    }, this.opts.yieldCheckMs ?? 250)
    return true
  }

  private async build(name: string, inputs: OverlayInputs): Promise<void> {
    try {
      await this.opts.cache.path('system', inputs)
      if (this.stopped) return
      await this.opts.cache.path('runtime', inputs)
    } catch (e) {
      // Forget it, so the next change tries again; until then the node's first request builds it.
      if (!this.queue.has(name)) this.queued.delete(name)
      this.logger.warn(
        `overlay: building ${name}'s overlays ahead failed: ${errorMessage(e)}; its first boot request will build them`,
      )
    }
  }

  private notify(): void {
    if (this.timer || this.queue.size > 0 || this.running.size > 0) return
    for (const w of this.waiters.splice(0)) w()
  }
}

/** The inputs as text; parts shared by every node (the node list, settings) are serialised once per scan. */
function signature(inputs: OverlayInputs, memo: Map<unknown, string>): string {
  return Object.entries(inputs)
    .map(([key, value]: [string, unknown]) => {
      let text = memo.get(value)
      if (text === undefined) {
        text = JSON.stringify(value) ?? 'undefined'
        if (typeof value === 'object' && value !== null) memo.set(value, text)
      }
      return `${key}=${text}`
    })
    .join('\n')
}
