/**
 * What the HTTP provisioning server asks of the inventory: a node by MAC, its artifacts and the status
 * JSON. Reads only: the repo for nodes, the image store for kernel, image and modules files. The overlays
 * (system, runtime) are rendered per node by the overlay work; until then they are honestly absent (404).
 */
import type { StackStatus } from '../../ipc/contract'
import type { InventoryRepo } from '../inventory/repo'
import type { ImageStore } from '../images/store'
import type { BootNodeView, ProvisioningResolver } from './http/server'

export function inventoryResolver(
  repo: InventoryRepo,
  images: ImageStore,
  stack: () => StackStatus,
): ProvisioningResolver {
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
    artifact: async (node, kind) => {
      if (!node?.image || (kind !== 'kernel' && kind !== 'image' && kind !== 'modules')) return null
      const path = images.artifactPath(node.image, kind)
      return path
        ? {
            path,
            name: kind === 'kernel' ? 'vmlinuz' : kind === 'image' ? 'image.cpio.gz' : 'modules.cpio.gz',
          }
        : null
    },
    unknownNodePolicy: () => repo.settings().unknownNodes,
    defaultKernelArgs: () => '',
    status: () => ({
      stack: stack().state,
      nodes: repo.listNodes().map((n) => ({ name: n.name, macs: n.macs, ipv4: n.ipv4, state: n.state })),
    }),
  }
}
