/**
 * What the HTTP provisioning server asks of the inventory: a node by MAC, its artifacts and the status
 * JSON. Reads the repo for nodes and the image store for kernel, image and modules files; the system and
 * runtime overlays are rendered per node by the overlay cache (when one is given), and served only to the
 * node itself (images/overlays/access.ts). Agent reports move the node's state and are kept in memory
 * (the schema has no place for last-seen or inventory yet).
 */
import type { StackStatus } from '../../ipc/contract'
import type { InventoryRepo } from '../inventory/repo'
import type { NodeState } from '../inventory/schema'
import type { ImageStore } from '../images/store'
import type { AgentReport, AgentStage } from '../images/bootstrap/report'
import { overlayAccessDenied } from '../images/overlays/access'
import type { OverlayCache, OverlayKind } from '../images/overlays/cache'
import type { OverlayInputs } from '../images/overlays/templates'
import { DEFAULT_IMAGE_NAME } from '../images/default-image'
import type { BootNodeView, ProvisioningResolver } from './http/server'

export interface ResolverOptions {
  /** Renders system and runtime overlays; absent = the node has none (404, left out of iPXE scripts). */
  overlays?: OverlayCache
  /** The URL the node agent reports to (e.g. http://198.18.0.1:9873); absent or null = agent stays silent. */
  serverUrl?: () => string | null
  /** Keys for root's authorized_keys in the system overlay. Default: settings `sshAuthorizedKeys`. */
  authorizedKeys?: () => string[]
  /** Told of every accepted agent report, after the node's state was recorded. */
  onAgentReport?: (mac: string, report: AgentReport, node: string) => void
  /** Clock for last-seen (tests). Default Date.now. */
  now?: () => number
}

export interface AgentRecord {
  node: string
  report: AgentReport
  /** Epoch milliseconds of the last accepted report. */
  lastSeen: number
}

export interface InventoryResolver extends ProvisioningResolver {
  /** The latest report of each MAC that sent one since start (memory only). */
  agentReports(): ReadonlyMap<string, AgentRecord>
  /** The overlay inputs of every node that can boot (has a MAC), exactly as its requests will ask for them. */
  overlayInputsOfAll(): OverlayInputs[]
}

const ARTIFACT_NAMES = { kernel: 'vmlinuz', image: 'image.cpio.gz', modules: 'modules.cpio.gz' } as const

const STATE_OF_STAGE: Record<AgentStage, NodeState> = {
  init: 'booting',
  'init-failed': 'failed',
  up: 'up',
  heartbeat: 'up',
  runtime: 'up',
}

export function inventoryResolver(
  repo: InventoryRepo,
  images: ImageStore,
  stack: () => StackStatus,
  options: ResolverOptions = {},
): InventoryResolver {
  const reports = new Map<string, AgentRecord>()
  const now = options.now ?? Date.now
  const imageArgs = (name: string | null) =>
    name === null ? '' : (repo.db.images.find((i) => i.name === name)?.kernelArgs ?? '')
  const view = (mac: string): BootNodeView | null => {
    const n = repo.nodeByMac(mac)
    if (!n) return null
    return {
      name: n.name,
      macs: n.macs,
      ipv4: n.ipv4,
      image: n.image,
      // The image's arguments first (e.g. its console), then the node's, which may override them.
      kernelArgs: [imageArgs(n.image), n.kernelArgs].filter((a) => a !== '').join(' '),
      assetKey: n.assetKey,
    }
  }
  // What every node's overlay shares, read once when all nodes are prebuilt.
  const sharedInputs = () => {
    const s = repo.settings()
    return {
      nodes: repo.listNodes().map((n) => ({ name: n.name, ipv4: n.ipv4 })),
      settings: { subnet: s.subnet, gateway: s.gateway, dns: s.dns, domain: s.domain },
      authorizedKeys: options.authorizedKeys?.() ?? s.sshAuthorizedKeys,
      runtimeFiles: s.runtimeFiles,
      serverUrl: options.serverUrl?.() ?? null,
    }
  }
  // Key order is part of the cache's input hash: keep it, or every cached overlay is rebuilt once.
  const overlayInputs = (node: BootNodeView, shared = sharedInputs()): OverlayInputs => ({
    runtimeOverlays: repo.nodeByMac(node.macs[0] ?? '')?.overlays.runtime ?? [],
    node: { name: node.name, macs: node.macs, ipv4: node.ipv4, assetKey: node.assetKey },
    nodes: shared.nodes,
    settings: shared.settings,
    authorizedKeys: shared.authorizedKeys,
    runtimeFiles: shared.runtimeFiles,
    serverUrl: shared.serverUrl,
  })
  const overlay = async (node: BootNodeView, kind: OverlayKind) => {
    if (!options.overlays || node.macs.length === 0) return null
    const path = await options.overlays.path(kind, overlayInputs(node))
    return { path, name: `${kind}.cpio.gz` }
  }
  return {
    nodeByMac: view,
    artifact: async (node, kind) => {
      // An unknown MAC under the 'default-image' policy: the default image's kernel, image and modules (no
      // overlays: the node has no name or settings yet, so the image's own /init runs).
      if (!node) {
        if (kind !== 'kernel' && kind !== 'image' && kind !== 'modules') return null
        const path = images.artifactPath(DEFAULT_IMAGE_NAME, kind)
        return path ? { path, name: ARTIFACT_NAMES[kind] } : null
      }
      // The runtime overlay is only for the agent's privileged-port poll (runtimeOverlay below): iPXE
      // fetches from an ordinary port and would be refused, so the boot script leaves it out.
      if (kind === 'system') return overlay(node, 'system')
      if (!node.image || (kind !== 'kernel' && kind !== 'image' && kind !== 'modules')) return null
      const path = images.artifactPath(node.image, kind)
      return path ? { path, name: ARTIFACT_NAMES[kind] } : null
    },
    willHave: (node, kind) => {
      if (kind !== 'system' || !node) return null
      if (!options.overlays || node.macs.length === 0) return false
      // Started now, shared with the fetch that follows (one build chain per node file); a failure is
      // reported by that fetch, which builds again.
      overlay(node, 'system').catch(() => undefined)
      return true
    },
    runtimeOverlay: (node) => overlay(node, 'runtime'),
    overlayAccess: (node, kind, peer) => overlayAccessDenied(node, kind, peer),
    onAgentReport: (mac, report) => {
      const node = repo.nodeByMac(mac)
      if (!node) return
      repo.recordAgentState(mac, STATE_OF_STAGE[report.stage])
      // A heartbeat carries the inventory too; keep the latest whole report.
      reports.set(mac, { node: node.name, report, lastSeen: now() })
      options.onAgentReport?.(mac, report, node.name)
    },
    agentReports: () => reports,
    overlayInputsOfAll: () => {
      const shared = sharedInputs()
      return repo.listNodes().flatMap((n) => {
        const v = n.macs[0] === undefined ? null : view(n.macs[0])
        return v ? [overlayInputs(v, shared)] : []
      })
    },
    unknownNodePolicy: () => repo.settings().unknownNodes,
    defaultKernelArgs: () => imageArgs(DEFAULT_IMAGE_NAME),
    status: () => ({
      stack: stack().state,
      nodes: repo.listNodes().map((n) => ({
        name: n.name,
        macs: n.macs,
        ipv4: n.ipv4,
        state: n.state,
        lastSeen: latestSeen(reports, n.macs),
        // The newest agent report (stage, message and the inventory it carries), so a headless user and the
        // e2e tests see what the node said without a UI.
        agent: latestReport(reports, n.macs),
      })),
    }),
  }
}

/** The newest report from any of the MACs, or null. */
function latestReport(reports: ReadonlyMap<string, AgentRecord>, macs: string[]): AgentReport | null {
  let best: AgentRecord | null = null
  for (const m of macs) {
    const r = reports.get(m)
    if (r && (best === null || r.lastSeen > best.lastSeen)) best = r
  }
  return best?.report ?? null
}

/** ISO time of the newest report from any of the MACs, or null. */
function latestSeen(reports: ReadonlyMap<string, AgentRecord>, macs: string[]): string | null {
  let best = -1
  for (const m of macs) best = Math.max(best, reports.get(m)?.lastSeen ?? -1)
  return best < 0 ? null : new Date(best).toISOString()
}
