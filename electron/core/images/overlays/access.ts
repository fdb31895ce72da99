/**
 * Who may fetch a node's overlays. Both carry secrets (the system overlay has the SSH host key, the runtime
 * overlay will carry users), so, as Warewulf does, they go only to the node's own reserved IPv4, with its
 * asset key when it has one, and the runtime overlay only from a privileged source port (< 1024), which on
 * the node only root can bind. docs/overlays.md says what this does not stop (a spoofed IP on the wire).
 */
import { assetKeyMatches } from '../../boot/http/request'

export interface OverlayPeer {
  /** req.socket.remoteAddress: '198.18.0.7' or '::ffff:198.18.0.7'. */
  address: string | undefined
  port: number | undefined
  /** ?assetkey= of the request, null when absent. */
  assetKey: string | null
}

export interface OverlayOwner {
  name: string
  ipv4: string | null
  assetKey: string | null
}

/** Strips the IPv4-mapped IPv6 prefix a dual-stack socket reports. */
export function peerIpv4(address: string | undefined): string | null {
  if (!address) return null
  const a = address.startsWith('::ffff:') ? address.slice(7) : address
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(a) ? a : null
}

/** Null when `peer` may have the overlay, else a one-line reason for the 403. */
export function overlayAccessDenied(
  node: OverlayOwner,
  kind: 'system' | 'runtime',
  peer: OverlayPeer,
): string | null {
  const from = peerIpv4(peer.address)
  if (node.ipv4 === null)
    return `node ${node.name} has no reserved IPv4; its ${kind} overlay holds secrets and is served only to that address: assign one`
  if (from !== node.ipv4)
    return `${kind} overlay of node ${node.name} is served only to ${node.ipv4}, not ${peer.address ?? 'an unknown address'}`
  if (node.assetKey !== null && !assetKeyMatches(node.assetKey, peer.assetKey))
    return `${kind} overlay of node ${node.name}: asset key missing or wrong`
  if (kind === 'runtime' && !(peer.port !== undefined && peer.port < 1024))
    return `runtime overlay of node ${node.name} is served only from a privileged source port (< 1024, root on the node), not ${peer.port ?? '?'}`
  return null
}
