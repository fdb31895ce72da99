/**
 * The contract between the HTTP provisioning server and whoever knows the nodes (the lead's resolver over the
 * inventory and the image store). The server owns sockets and files; the resolver owns every decision.
 */
import type { Logger } from '../../util/logger'
import type { OverlayPeer } from '../../images/overlays/access'
import type { AgentReport } from '../../images/bootstrap/report'

/** What the server needs to know about one node; built by the resolver from the inventory. */
export interface BootNodeView {
  name: string
  /** Lowercase colon form, as parseMac returns it. */
  macs: string[]
  ipv4: string | null
  image: string | null
  kernelArgs: string
  /** When set, every request for this node must carry `?assetkey=<key>` (iPXE sends its SMBIOS `${asset}`). */
  assetKey: string | null
}

/** A file on disk the server streams; `name` is what iPXE calls it (`initrd --name`) and the download name. */
export interface Artifact {
  path: string
  name: string
}

export type ArtifactKind = 'kernel' | 'image' | 'modules' | 'system' | 'runtime'
export const ARTIFACT_KINDS: readonly ArtifactKind[] = ['kernel', 'image', 'modules', 'system', 'runtime']

export interface ProvisioningResolver {
  nodeByMac(mac: string): BootNodeView | null
  /**
   * The file for one stage, or null when the node has none (then the route answers 404 and the iPXE script
   * leaves that initrd out). `node` is null for an unknown MAC under the 'default-image' policy.
   * Called once per kind when a script is rendered and again when the file is fetched: keep it cheap (cache).
   */
  artifact(node: BootNodeView | null, kind: ArtifactKind): Promise<Artifact | null>
  /**
   * For the script only, without waiting: true when artifact(node, kind) will have the file (any work it
   * needs, e.g. building an overlay, starts now in the background), false when it will not, null or absent =
   * ask artifact(). Lets a script go out while a per-node file is still being made for the later fetch.
   */
  willHave?(node: BootNodeView | null, kind: ArtifactKind): boolean | null
  unknownNodePolicy(): 'wait' | 'default-image'
  /** JSON for GET /status. */
  status(): unknown
  /** A per-node iPXE template (see ipxe.ts for its variables); null or absent = the default template. */
  templateFor?(node: BootNodeView): string | null
  /** Kernel arguments for the default image booted by unknown MACs; absent = none. */
  defaultKernelArgs?(): string
  /**
   * Overlays hold secrets: null when `peer` may fetch this node's `kind` overlay, else the reason for a 403.
   * Absent = no check. (images/overlays/access.ts has the policy.)
   */
  overlayAccess?(node: BootNodeView, kind: 'system' | 'runtime', peer: OverlayPeer): string | null
  /** The runtime overlay for GET /runtime/:mac (the agent's poll). Absent = artifact(node, 'runtime'). */
  runtimeOverlay?(node: BootNodeView): Promise<Artifact | null>
  /** A validated POST /agent/:mac from the node's own address. Absent = the route answers 404. */
  onAgentReport?(mac: string, report: AgentReport): void
}

export type HttpRoute = 'ipxe' | ArtifactKind | 'boot' | 'files'

/** Progress of one response, for the dashboard. `done` comes exactly once per response, last. */
export interface HttpBootEvent {
  /** The MAC from the path (lowercase colon form), null for /boot and /files. (/status sends no events.) */
  mac: string | null
  /** The node's name when the MAC is known. */
  node: string | null
  route: HttpRoute
  /** HTTP status sent (200, 206, 304, 403, 404, 416, ...). */
  status: number
  /** Body bytes handed to the socket so far. */
  bytes: number
  /** Body bytes this response will carry (the range length for 206), null before it is known. */
  total: number | null
  done: boolean
  /** True when the client went away (or the socket failed) before the body was complete. */
  aborted: boolean
}

export interface ProvisioningServerOptions {
  host: string
  /** 0 picks a free port (tests). */
  port: number
  resolver: ProvisioningResolver
  /** --files DIR, served under /files/. */
  filesRoot?: string | null
  /** iPXE binaries, served under /boot/. */
  bootRoot?: string | null
  logger?: Logger
  onEvent?: (e: HttpBootEvent) => void
  /**
   * The URL nodes use to reach this server, written into iPXE scripts (e.g. http://198.18.0.1:9873).
   * Absent: taken from the request's Host header (what iPXE itself used), else from the bound address.
   */
  baseUrl?: string
  /** Seconds between two tries of an unknown MAC waiting for assignment. Default 10. */
  waitSeconds?: number
  /** Fetch retries a node script allows over the whole boot, and seconds between them. Defaults 5 and 3. */
  retries?: number
  retryDelaySeconds?: number
  /** Milliseconds between two progress events of one transfer (the done event always comes). Default 250. */
  progressIntervalMs?: number
  /** Milliseconds a socket may sit idle (client not reading) before it is closed. Default 120000. */
  idleTimeoutMs?: number
  /** Milliseconds a client has to send a whole request (headers and body). Default 30000. */
  requestTimeoutMs?: number
  /** Injected clock for throttling progress (tests). Default Date.now. */
  now?: () => number
  /**
   * Large bodies through sendfile(2) worker threads (Linux, koffi): how many threads, 0 to stream every
   * body through the main thread instead. Default 2 (1 on a one-core machine).
   */
  sendfileThreads?: number
}

export interface ProvisioningStats {
  requests: number
  /** Responses by status code. */
  statuses: Record<number, number>
  /** Body bytes sent over all responses. */
  bytesSent: number
  /** Requests whose response has not finished yet (bodies still streaming included). */
  activeTransfers: number
  /** TCP connections open now. */
  openConnections: number
  /** TCP connections accepted since start (fewer than requests when clients keep connections alive). */
  connectionsAccepted: number
  /** Bodies sent by the sendfile threads rather than streamed through the main thread. */
  sendfileBodies: number
}

export interface ProvisioningServer {
  address: { host: string; port: number }
  /** http://host:port of the bound socket. */
  url: string
  stats(): ProvisioningStats
  /** Stops listening, ends every connection (in-flight transfers included) and resolves when all are gone. */
  close(): Promise<void>
}
