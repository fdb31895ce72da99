/**
 * What the HTTP provisioning server asks of the inventory: a node by MAC, its artifacts and the status
 * JSON. Pure reads over the repo; image artifacts arrive with the image store.
 */
import type { StackStatus } from '../../ipc/contract'
import type { InventoryRepo } from '../inventory/repo'
import type { BootNodeView, ProvisioningResolver } from './http/server'

export function inventoryResolver(repo: InventoryRepo, stack: () => StackStatus): ProvisioningResolver {
  const view = (mac: string): BootNodeView | null => {
    const n = repo.nodeByMac(mac)
    if (!n) return null
    return {
      name: n.name,
      macs: n.macs,
      ipv4: n.ipv4,
      image: n.image,
      kernelArgs: n.kernelArgs,
      assetKey: n.assetKey,
    }
  }
  return {
    nodeByMac: view,
    // The image store (kernel, image, modules, overlays per node) is its own piece of work; until it lands
    // every artifact is honestly absent and the HTTP server answers 404 with the reason.
    artifact: async () => null,
    unknownNodePolicy: () => repo.settings().unknownNodes,
    status: () => ({
      stack: stack().state,
      nodes: repo.listNodes().map((n) => ({ name: n.name, macs: n.macs, ipv4: n.ipv4, state: n.state })),
    }),
  }
}
