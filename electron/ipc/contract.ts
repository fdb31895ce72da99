/**
 * The one contract between the UI and the core. Electron's preload exposes exactly this over IPC, and the
 * headless API serves exactly this over HTTP + WebSocket. Channels are `domain/verb`; each has a request
 * schema (validated at the trust boundary, in the core) and a response type. Events flow core -> UI.
 * Renaming a channel breaks the build of both sides, not the user.
 */
import { z } from 'zod'
import {
  bmcUserSchema,
  hostnameSchema,
  imageSchema,
  ipv4Schema,
  kernelArgsSchema,
  rackSchema,
  settingsPatchSchema,
  type Image,
  type Node,
  type Rack,
  type Settings,
  type DhcpMode,
} from '../core/inventory/schema'
import type { BootEvent, CaptureEvent, CaptureStatus, OtherDhcpServer } from '../core/boot/events'
import type { BootView } from '../core/boot/timeline/model'
import type { NodeImportOutcome } from '../core/interop/warewulf-apply'
import type { MacListOutcome } from '../core/interop/vendor-apply'
import { planRequestSchema, type PlanPreview } from '../core/inventory/plan'

export type { BootEvent, CaptureEvent, CaptureStatus, OtherDhcpServer, PlanPreview }
export type { BootView }

/**
 * One network card as `net/interfaces` lists it. Defined here, where the renderer can import it without
 * Node; core/net/interfaces.ts builds it.
 */
export interface InterfaceInfo {
  name: string
  mac: string | null
  ipv4: { address: string; prefix: number; network: string } | null
  /** null where the OS does not say (no sysfs). */
  up: boolean | null
  speedMbps: number | null
  /** The uplink, most likely: serving DHCP there would answer the office LAN. */
  holdsDefaultRoute: boolean
  loopback: boolean
}

/** What the boot stack is doing right now; shown in the status bar. */
export interface StackStatus {
  /** interface-down: the boot interface lost its link or address; sockets closed, resumes by itself when back. */
  state: 'stopped' | 'starting' | 'running' | 'stopping' | 'failed' | 'interface-down'
  interface: string | null
  dhcp: {
    mode: DhcpMode
    listening: string | null
    /** What the rogue-DHCP probe found on the interface before DHCP started (absent: not probed). */
    otherServers?: OtherDhcpServer[]
  }
  tftp: { listening: string | null }
  http: { listening: string | null }
  error: string | null
  /**
   * Set while the serving interface has vanished (cable pulled, USB NIC unplugged): the stack has stopped
   * its sockets and resumes when the interface returns. Absent or null: the interface is there.
   */
  interfaceLost?: { name: string; since: string } | null
}

/** What `export/images` wrote next to a Warewulf export (docker-archives), and what it skipped and why. */
export interface ImagesExported {
  written: { name: string; path: string; bytes: number; sha256: string }[]
  /** Images the nodes name that were not written, and why. */
  skipped: { name: string; reason: string }[]
}

/** Each service's counters, flattened (`transfers.failed`, `statuses.404`): received, malformed, dropped, … */
export interface StackCounters {
  dhcp: Record<string, number> | null
  tftp: Record<string, number> | null
  http: Record<string, number> | null
}

export interface AppStatus {
  version: string
  dataDir: string
  headless: boolean
  stack: StackStatus
}

const empty = z.object({}).strict()

const channel = <Req extends z.ZodType, Res>(request: Req) => ({
  request,
  response: undefined as unknown as Res,
})

const settingsUpdateRequest = settingsPatchSchema
const nodeAddRequest = z
  .object({
    name: hostnameSchema,
    /** Any common MAC spelling; the core normalises it and names the bad input when it cannot. */
    mac: z.string().optional(),
    ip: ipv4Schema.optional(),
    rack: hostnameSchema.optional(),
    slot: z.number().int().min(1).max(60).optional(),
    image: z.string().optional(),
  })
  .strict()
const nameRequest = z.object({ name: z.string().min(1) }).strict()
const swapRequest = z.object({ a: hostnameSchema, b: hostnameSchema }).strict()
const probeRequest = z.object({ interface: z.string().min(1).max(15) }).strict()
const captureResolveRequest = z
  .object({
    order: z.array(z.string().regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/, 'a MAC like 52:54:00:12:34:56')).max(8),
  })
  .strict()

// Interop: the contract carries file text; reading and writing files stays with the caller (CLI, UI dialog).
const MAX_IMPORT_CHARS = 1_000_000
const importText = z.string().max(MAX_IMPORT_CHARS, `at most ${MAX_IMPORT_CHARS} characters; split the file`)
const exportRenderRequest = z
  .object({
    format: z.enum(['warewulf', 'csv', 'hosts', 'dnsmasq', 'dhcpd', 'ansible', 'json']),
    /** Warewulf only: the nodes.conf dialect (default 4.6). */
    version: z.enum(['4.5', '4.6']).optional(),
    /** Warewulf only: a whole nodes.conf (default), or the bare node map `wwctl node import` reads. */
    form: z.enum(['nodes.conf', 'node-import']).optional(),
  })
  .strict()
const importWarewulfRequest = z
  .object({ text: importText, dryRun: z.boolean().default(false), replace: z.boolean().default(false) })
  .strict()
const importMacsRequest = z
  .object({ text: importText, dryRun: z.boolean().default(false), force: z.boolean().default(false) })
  .strict()

// Images: paths on the machine running the core, absolute (the CLI resolves them; a UI dialog gives them so).
const absolutePath = z
  .string()
  .min(1)
  .max(4096)
  .regex(/^(\/|[A-Za-z]:[\\/])/, 'an absolute path (the caller resolves relative ones)')
/** export/images: the directory the archives go into, on the machine running the core. */
const exportImagesRequest = z.object({ dir: absolutePath }).strict()
const IMAGE_SOURCES = {
  'kernel-initrd': { required: ['kernel', 'initrd'], allowed: ['kernel', 'initrd'] },
  oci: { required: ['oci'], allowed: ['oci', 'kernel', 'initrd'] },
  rootfs: { required: ['rootfs'], allowed: ['rootfs', 'kernel'] },
} as const
const imagesImportRequest = z
  .object({
    name: imageSchema.shape.name,
    kind: z.enum(['kernel-initrd', 'oci', 'rootfs']),
    /** kernel-initrd: the kernel; oci/rootfs: a kernel to use instead of the image's own. */
    kernel: absolutePath.optional(),
    /** kernel-initrd: the initrd; oci: a gzip cpio of modules to load after the image. */
    initrd: absolutePath.optional(),
    /** OCI layout directory, or a `docker save` / OCI archive. */
    oci: absolutePath.optional(),
    /** A root file system directory or tar (optionally compressed). */
    rootfs: absolutePath.optional(),
    args: z.string().max(4096).optional(),
    /** Replace an image of the same name (the old one stays until the new one is complete). */
    replace: z.boolean().default(false),
  })
  .strict()
  .superRefine((req, ctx) => {
    const rule = IMAGE_SOURCES[req.kind]
    for (const field of ['kernel', 'initrd', 'oci', 'rootfs'] as const) {
      const given = req[field] !== undefined
      if (!given && (rule.required as readonly string[]).includes(field))
        ctx.addIssue({ code: 'custom', path: [field], message: `a ${req.kind} import needs ${field}` })
      if (given && !(rule.allowed as readonly string[]).includes(field))
        ctx.addIssue({
          code: 'custom',
          path: [field],
          message: `${field} does not apply to a ${req.kind} import`,
        })
    }
  })

/**
 * nodes/set-boot: which image and kernel arguments a set of nodes boots (every node, one rack's, or named
 * ones). An override is written onto each node it targets; the image's own arguments still come first at boot.
 */
export const nodesSetBootRequest = z
  .object({
    target: z.union([
      z.object({ all: z.literal(true) }).strict(),
      z.object({ rack: hostnameSchema }).strict(),
      z.object({ nodes: z.array(hostnameSchema).min(1).max(4096) }).strict(),
    ]),
    /** An image name, or null to boot none (the node waits); absent = leave each node's image. */
    image: imageSchema.shape.name.nullable().optional(),
    /** The node's own kernel arguments (after the image's); absent = leave them. */
    kernelArgs: kernelArgsSchema.optional(),
  })
  .strict()
  .refine((r) => r.image !== undefined || r.kernelArgs !== undefined, {
    message: 'give an image, kernel arguments or both',
    path: ['image'],
  })
export type NodesSetBoot = z.output<typeof nodesSetBootRequest>

/** nodes/set-bmc: one node's BMC address and/or user; null clears the field, absent leaves it. */
export const nodesSetBmcRequest = z
  .object({
    name: hostnameSchema,
    bmc: z
      .object({ ipv4: ipv4Schema.nullable().optional(), user: bmcUserSchema.nullable().optional() })
      .strict()
      .refine((b) => b.ipv4 !== undefined || b.user !== undefined, 'give ipv4, user or both (null clears)'),
  })
  .strict()

/** One step of a running image import, for progress bars (`bytes` of `total`; total null when unknown). */
export interface ImageProgressEvent {
  name: string
  phase: 'reading' | 'layers' | 'packing' | 'hashing' | 'done'
  bytes: number
  total: number | null
  entry?: string
}

const timelineRequest = z
  .object({
    /** A node's name (all its MACs) or one MAC, e.g. an unknown machine that never got a slot. */
    node: z.string().min(1).max(63).optional(),
    mac: z
      .string()
      .regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/, 'a MAC like 52:54:00:12:34:56')
      .optional(),
    limit: z.number().int().min(1).max(50).default(5),
  })
  .strict()
  .refine((r) => (r.node === undefined) !== (r.mac === undefined), 'give node or mac, not both')

/**
 * One slot of the virtual rack (a QEMU node of `rackboot lab`), as `lab/status` and `lab status --json` show it.
 * Defined here so the renderer can import it without Node; core/lab/contract-handlers.ts builds it.
 */
export interface LabNodeView {
  slot: number
  name: string
  mac: string
  firmware: 'bios' | 'uefi'
  running: boolean
  /** Coarse stage read from the serial console (firmware, pxe, ipxe, ipxe-script, kernel, …). */
  stage: string
  /** The boot timeline's stage (server events plus console markers) and its state; null stage = none yet. */
  bootStage: string | null
  bootState: string
  problem: string | null
  lastLine: string
}

/** The virtual rack this core serves (`lab/status`). */
export interface LabStatusView {
  prefix: string
  subnet: string
  /** The lab's server-side interface: the one this core boots nodes on. */
  interface: string
  serverAddress: string
  serveRunning: boolean
  nodes: LabNodeView[]
  /** Slots of an `all` power-on still waiting for their turn (interval), in rack order. */
  pending: number[]
}

const labPowerRequest = z
  .object({
    slot: z.union([z.number().int().min(1).max(255), z.literal('all')]),
    on: z.boolean(),
    /** Power-on of 'all': seconds between nodes, in rack order; the rest continues after the answer. */
    intervalS: z.number().int().min(0).max(3600).default(0),
  })
  .strict()

export const channels = {
  'app/status': channel<typeof empty, AppStatus>(empty),
  /** Desktop app: asks the OS once and hands the data dir to the elevated boot stack (headless: unavailable). */
  'app/elevate': channel<typeof empty, ElevationResult>(empty),
  'settings/get': channel<typeof empty, Settings>(empty),
  'settings/update': channel<typeof settingsUpdateRequest, Settings>(settingsUpdateRequest),
  'nodes/list': channel<typeof empty, Node[]>(empty),
  'nodes/add': channel<typeof nodeAddRequest, Node>(nodeAddRequest),
  'nodes/remove': channel<typeof nameRequest, { removed: string }>(nameRequest),
  /** Swaps two nodes' MACs in one update (either may have none): fixes a slot mix-up after capture. */
  'nodes/swap': channel<typeof swapRequest, { a: Node; b: Node }>(swapRequest),
  'racks/list': channel<typeof empty, Rack[]>(empty),
  'racks/upsert': channel<typeof rackSchema, Rack>(rackSchema),
  'racks/remove': channel<typeof nameRequest, { removed: string }>(nameRequest),
  'images/list': channel<typeof empty, Image[]>(empty),
  /** Imports an image into the store (progress as `images/progress` events); the inventory records it. */
  'images/import': channel<typeof imagesImportRequest, Image>(imagesImportRequest),
  /** Removes an image (refused while nodes use it, naming them); on an import still running, cancels it. */
  'images/remove': channel<typeof nameRequest, { removed: string; cancelled: boolean }>(nameRequest),
  'stack/status': channel<typeof empty, StackStatus>(empty),
  /** Packets and requests seen, answered, dropped and malformed per service since the stack started. */
  'stack/counters': channel<typeof empty, StackCounters>(empty),
  'capture/status': channel<typeof empty, CaptureStatus>(empty),
  'capture/start': channel<typeof empty, CaptureStatus>(empty),
  'capture/stop': channel<typeof empty, CaptureStatus>(empty),
  'capture/undo': channel<typeof empty, CaptureStatus>(empty),
  'capture/resolve': channel<typeof captureResolveRequest, CaptureStatus>(captureResolveRequest),
  /** The machine's NICs, for choosing the provisioning interface (the wizard's first step). */
  'net/interfaces': channel<typeof empty, InterfaceInfo[]>(empty),
  /** Broadcasts one DISCOVER on the interface and lists the DHCP servers that offer (about 3 s; needs root). */
  'net/probe-dhcp': channel<typeof probeRequest, OtherDhcpServer[]>(probeRequest),
  /** The nodes a rack plan would create, with every problem per field or node; changes nothing. */
  'plan/preview': channel<typeof planRequestSchema, PlanPreview>(planRequestSchema),
  /** Creates the rack and all its planned nodes in one update, or nothing, refusing with every problem. */
  'plan/apply': channel<typeof planRequestSchema, { rack: Rack; nodes: Node[] }>(planRequestSchema),
  /** The inventory as a Warewulf nodes.conf, CSV, /etc/hosts, dnsmasq, dhcpd, Ansible or JSON text. */
  'export/render': channel<typeof exportRenderRequest, { text: string }>(exportRenderRequest),
  /** Writes `<dir>/<name>.tar` (docker-archive) for every image a node uses; kernel+initrd ones are skipped. */
  'export/images': channel<typeof exportImagesRequest, ImagesExported>(exportImagesRequest),
  /** Adds the nodes of a Warewulf nodes.conf; refuses with every problem (line and node), saving nothing. */
  'import/warewulf': channel<typeof importWarewulfRequest, NodeImportOutcome>(importWarewulfRequest),
  /** A vendor MAC list onto the empty planned slots in rack order; refuses with every problem unless forced. */
  'import/macs': channel<typeof importMacsRequest, MacListOutcome>(importMacsRequest),
  /** Sets the image and/or kernel arguments of every node, one rack's nodes or named ones, in one update. */
  'nodes/set-boot': channel<typeof nodesSetBootRequest, { nodes: Node[] }>(nodesSetBootRequest),
  /** A node's (or MAC's) newest boots, newest first: milestones, current stage, state and the problem if any. */
  'nodes/timeline': channel<typeof timelineRequest, BootView[]>(timelineRequest),
  /** Sets or clears one node's BMC address and user; refuses an address another node or the gateway holds. */
  'nodes/set-bmc': channel<typeof nodesSetBmcRequest, Node>(nodesSetBmcRequest),
  /** The virtual rack this core serves (only a `rackboot lab` serve; elsewhere 'not a virtual rack'). */
  'lab/status': channel<typeof empty, LabStatusView>(empty),
  /** Powers a slot or all on/off; `slots`: changed now, `pending`: an interval power-on still to come. */
  'lab/power': channel<typeof labPowerRequest, { slots: number[]; pending: number[] }>(labPowerRequest),
} as const

/** What `app/elevate` did, with one sentence for the user. */
export interface ElevationResult {
  outcome: 'elevated' | 'denied' | 'failed' | 'busy' | 'unavailable'
  message: string
}

export type Channel = keyof typeof channels
export type RequestOf<C extends Channel> = z.input<(typeof channels)[C]['request']>
export type ParsedRequestOf<C extends Channel> = z.output<(typeof channels)[C]['request']>
export type ResponseOf<C extends Channel> = (typeof channels)[C]['response']

/** Events pushed from the core to every connected UI. */
export interface Events {
  'stack/changed': StackStatus
  'nodes/changed': { nodes: Node[] }
  'settings/changed': Settings
  'boot/event': BootEvent
  'capture/event': CaptureEvent
  'capture/changed': CaptureStatus
  'images/progress': ImageProgressEvent
  'log/line': { level: 'info' | 'warn' | 'error'; message: string; time: string }
  /** One sentence for the user from the app shell (privilege prompt, elevated stack, data dir, second start). */
  'app/notice': AppNotice
  /** A vendor MAC list opened from the OS (file association, `open-file`): for review, never applied as is. */
  'import/macs-file': MacsFileOpened
}

export interface AppNotice {
  level: 'info' | 'warn' | 'error'
  message: string
  /** Set when the UI now talks to another core (elevated stack or back): every live value must reload. */
  coreSwitched?: boolean
}

export interface MacsFileOpened {
  /** The file's name only (no directory): shown in the review panel. */
  name: string
  text: string
}
export type EventName = keyof Events

/** A failed call, as the UI sees it: what went wrong, where (`field`), and the fix when there is one. */
export interface ContractError {
  code: 'bad-request' | 'not-found' | 'conflict' | 'internal' | 'unauthorized'
  message: string
  details?: string[]
}

export type CallResult<C extends Channel> =
  { ok: true; value: ResponseOf<C> } | { ok: false; error: ContractError }

export function isChannel(name: unknown): name is Channel {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(channels, name)
}

/** Handlers implement every channel; the type makes a missing or misnamed one a build error. */
export type Handlers = { [C in Channel]: (request: ParsedRequestOf<C>) => Promise<ResponseOf<C>> }

/** Electron preload exposes this object as `window.rackboot`; the WebSocket client offers the same. */
export interface ContractClient {
  call<C extends Channel>(channel: C, request: RequestOf<C>): Promise<ResponseOf<C>>
  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void
}

/** IPC channel names used by Electron (one invoke channel, one event channel). */
export const IPC_INVOKE = 'rackboot:call'
export const IPC_EVENT = 'rackboot:event'
