/**
 * The contract's handlers over the core. Both transports (Electron IPC and the headless API) call these
 * through dispatch(), which has already validated each request against its channel's schema.
 */
import type { Handlers, AppStatus, StackCounters, StackStatus } from '../ipc/contract'
import type { InventoryRepo } from './inventory/repo'
import type { CaptureController } from './boot/capture-controller'
import { createInteropHandlers } from './interop/contract-handlers'
import { exportNodeImages } from './interop/oci-export'
import { listInterfaces, type InterfaceInfo } from './net/interfaces'
import { probeInterface } from './net/rogue-dhcp'
import { bindToInterface } from './net/bind'
import type { OtherDhcpServer } from './boot/events'
import type { BootView } from './boot/timeline/model'
import { createImagesHandlers, type ImagesHandlerDeps } from './images/contract-handlers'
import { RackbootError } from './util/result'
import { createLabHandlers } from './lab/contract-handlers'

export interface HandlerDeps {
  repo: InventoryRepo
  version: string
  dataDir: string
  headless: boolean
  stackStatus(): StackStatus
  stackCounters(): StackCounters
  capture: CaptureController
  /** The machine's NICs; defaults to the live system list (tests inject their own). */
  interfaces?: () => Promise<InterfaceInfo[]>
  /** The rogue-DHCP probe; defaults to a real probe on the interface (tests inject their own). */
  probeDhcp?: (iface: string) => Promise<OtherDhcpServer[]>
  /** The image store and where imports report progress; absent = images/import and images/remove refuse. */
  images?: ImagesHandlerDeps
  /** Boot timelines kept on disk; absent = nodes/timeline answers no boots. */
  timelines?: { list(mac: string, limit: number): Promise<BootView[]> }
  /** The virtual rack's lab/* handlers when this core is a lab's serve; absent = 'not a virtual rack'. */
  lab?: Pick<Handlers, 'lab/status' | 'lab/power'>
}

export function createHandlers(deps: HandlerDeps): Handlers {
  const { repo } = deps
  return {
    'app/status': async (): Promise<AppStatus> => ({
      version: deps.version,
      dataDir: deps.dataDir,
      headless: deps.headless,
      stack: deps.stackStatus(),
    }),
    // The desktop app's main process answers this itself (electron/main/lifecycle.ts); a core cannot elevate.
    'app/elevate': async () => ({
      outcome: 'unavailable',
      message:
        'Only the desktop app can ask for administrator rights; start `rackboot serve` with them instead (sudo).',
    }),
    'settings/get': async () => repo.settings(),
    'settings/update': async (patch) => repo.updateSettings(patch),
    'nodes/list': async () => repo.listNodes(),
    'nodes/add': async (req) => repo.addNode(req),
    'nodes/remove': async (req) => repo.removeNode(req.name),
    'nodes/swap': async (req) => repo.swapMacs(req.a, req.b),
    'racks/list': async () => repo.listRacks(),
    'racks/upsert': async (rack) => repo.upsertRack(rack),
    'racks/remove': async (req) => repo.removeRack(req.name),
    'images/list': async () => [...repo.db.images],
    'images/import': async () => {
      throw new RackbootError('this core has no image store', 'internal')
    },
    'images/remove': async () => {
      throw new RackbootError('this core has no image store', 'internal')
    },
    ...(deps.images ? createImagesHandlers(deps.images) : {}),
    'stack/status': async () => deps.stackStatus(),
    'stack/counters': async () => deps.stackCounters(),
    'capture/status': async () => deps.capture.status(),
    'capture/start': async () => deps.capture.start(),
    'capture/stop': async () => deps.capture.stop(),
    'capture/undo': async () => deps.capture.undo(),
    'capture/resolve': async (req) => deps.capture.resolve(req.order),
    'nodes/timeline': async (req) => {
      const macs = req.mac ? [req.mac] : repo.listNodes().find((n) => n.name === req.node)?.macs
      if (!macs) throw new RackbootError(`no node named '${req.node}'`, 'not-found')
      const boots = await Promise.all(macs.map((m) => deps.timelines?.list(m, req.limit) ?? []))
      return boots
        .flat()
        .sort((a, b) => b.startedAt.localeCompare(a.startedAt))
        .slice(0, req.limit)
    },
    ...createInteropHandlers(repo),
    'export/images': async (req) => {
      if (!deps.images) throw new RackbootError('this core has no image store', 'internal')
      return exportNodeImages(repo.db, deps.images.images, req.dir)
    },
    'net/interfaces': async () => (deps.interfaces ?? (() => listInterfaces()))(),
    'net/probe-dhcp': async (req) =>
      (
        deps.probeDhcp ??
        ((iface: string) =>
          probeInterface(iface, {
            listInterfaces: () => listInterfaces(),
            bindUdp: (i, address, port) => bindToInterface({ interface: i, address, port }),
          }))
      )(req.interface),
    'plan/preview': async (req) => repo.previewPlan(req),
    'plan/apply': async (req) => repo.applyPlan(req),
    'nodes/set-boot': async (req) => repo.setBoot(req),
    'nodes/set-bmc': async (req) => repo.setBmc(req.name, req.bmc),
    ...(deps.lab ?? createLabHandlers(null).handlers),
  }
}
