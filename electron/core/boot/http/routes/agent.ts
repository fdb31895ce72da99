/**
 * The node side of provisioning after the kernel starts:
 *   POST /agent/:mac           stage and inventory from /init and the agent (JSON, at most 64 KiB)
 *   GET|HEAD /runtime/:mac     the runtime overlay, polled by the agent from a privileged port
 * and the secrets check in front of /system/:mac. Everything is refused with a one-line reason unless it
 * comes from the node's own reserved IPv4 (images/overlays/access.ts; docs/overlays.md has the threat model).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { AGENT_REPORT_MAX_BYTES, decodeAgentReport } from '../../../images/bootstrap/report'
import { type OverlayPeer, peerIpv4 } from '../../../images/overlays/access'
import { macFromSegment, parseTarget } from '../request'
import { replyText } from '../reply'
import { contentTypeFor, sendFile } from '../send-file'
import { type RouteContext, lookupNode, progressEmitter, refuse } from './context'

const peerOf = (req: IncomingMessage, query: URLSearchParams): OverlayPeer => ({
  address: req.socket.remoteAddress,
  port: req.socket.remotePort,
  assetKey: query.get('assetkey'),
})

/**
 * Refuses an overlay to anyone but its node when the resolver has an access policy. True when it answered
 * (403), false when the request may go on.
 */
export function refuseOverlay(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  mac: string,
  kind: 'system' | 'runtime',
  query: URLSearchParams,
): boolean {
  const node = ctx.resolver.nodeByMac(mac)
  if (!node || !ctx.resolver.overlayAccess) return false
  const why = ctx.resolver.overlayAccess(node, kind, peerOf(req, query))
  if (why === null) return false
  ctx.logger.warn(`refused: ${why}`)
  refuse(ctx, res, { mac, node: node.name, route: kind }, 403, why)
  return true
}

/** GET|HEAD /runtime/:mac through resolver.runtimeOverlay. False when the resolver has none (caller falls back). */
export async function serveRuntime(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  mac: string,
  query: URLSearchParams,
): Promise<boolean> {
  if (!ctx.resolver.runtimeOverlay) return false
  const found = lookupNode(ctx, mac, query)
  const who = { mac, node: found.kind === 'node' ? found.node.name : null, route: 'runtime' as const }
  if (found.kind === 'refused') return (refuse(ctx, res, who, found.status, found.reason), true)
  if (found.kind !== 'node') return (refuse(ctx, res, who, 404, `${mac} is not assigned to a node`), true)
  if (refuseOverlay(ctx, req, res, mac, 'runtime', query)) return true
  const artifact = await ctx.resolver.runtimeOverlay(found.node)
  if (!artifact)
    return (refuse(ctx, res, who, 404, `node ${found.node.name} (${mac}) has no runtime overlay`), true)
  await sendFile(req, res, artifact.path, {
    describe: `runtime for ${mac}`,
    contentType: contentTypeFor(artifact.name),
    onProgress: progressEmitter(ctx, who),
    progressIntervalMs: ctx.progressIntervalMs,
    now: ctx.now,
    offload: ctx.offload,
  })
  return true
}

/** POST /agent/:mac. Any other POST is 405 as before. */
export async function servePost(ctx: RouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const target = parseTarget(req.url)
  const segments = target.ok ? target.value.segments : []
  if (!target.ok || segments[0] !== 'agent' || segments.length !== 2) {
    req.resume()
    return replyText(res, 405, `method POST not allowed here; POST only to /agent/<mac>`, {
      Allow: 'GET, HEAD',
    })
  }
  const query = target.value.query
  const mac = macFromSegment(segments[1])
  const deny = (status: number, line: string) => {
    ctx.logger.warn(`agent report refused (${status}): ${line}`)
    // Stop reading a body we refuse; the connection closes after the reply.
    res.setHeader('Connection', 'close')
    replyText(res, status, line)
    req.resume()
  }
  if (!mac.ok) return deny(400, mac.error)
  if (!ctx.resolver.onAgentReport) return deny(404, 'this server takes no agent reports')
  const found = lookupNode(ctx, mac.value, query)
  if (found.kind === 'refused') return deny(403, found.reason)
  if (found.kind !== 'node') return deny(404, `${mac.value} is not assigned to a node`)
  const node = found.node
  const from = peerIpv4(req.socket.remoteAddress)
  if (node.ipv4 === null || from !== node.ipv4)
    return deny(
      403,
      `reports for node ${node.name} are taken only from its reserved IPv4 ${node.ipv4 ?? '(none assigned)'}, not ${req.socket.remoteAddress ?? '?'}`,
    )
  const declared = Number(req.headers['content-length'] ?? NaN)
  if (declared > AGENT_REPORT_MAX_BYTES)
    return deny(413, `report is ${declared} bytes; the limit is ${AGENT_REPORT_MAX_BYTES}`)
  const body = await readCapped(req, AGENT_REPORT_MAX_BYTES)
  if (body === null) return deny(413, `report is over ${AGENT_REPORT_MAX_BYTES} bytes`)
  const report = decodeAgentReport(body)
  if (!report.ok) return deny(400, `node ${node.name}: ${report.error}`)
  ctx.resolver.onAgentReport(mac.value, report.value)
  replyText(res, 200, 'ok')
}

/**
 * The request body, or null once it passes `max` bytes. Not `for await`: leaving that loop early destroys
 * the socket, and the 413 line would never reach the node.
 */
function readCapped(req: IncomingMessage, max: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (b: Buffer) => {
      size += b.length
      if (size <= max) return void chunks.push(b)
      req.off('data', onData)
      req.pause()
      resolve(null)
    }
    req.on('data', onData)
    req.once('end', () => resolve(Buffer.concat(chunks)))
    req.once('error', reject)
  })
}
