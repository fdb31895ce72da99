/** GET|HEAD /kernel|image|modules|system|runtime/:mac: the node's file, streamed with ranges and validators. */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { contentTypeFor, sendFile } from '../send-file'
import type { ArtifactKind } from '../types'
import { type RouteContext, lookupNode, progressEmitter, refuse } from './context'

export async function serveArtifact(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  mac: string,
  kind: ArtifactKind,
  query: URLSearchParams,
): Promise<void> {
  const found = lookupNode(ctx, mac, query)
  const who = { mac, node: found.kind === 'node' ? found.node.name : null, route: kind }
  if (found.kind === 'refused') return refuse(ctx, res, who, found.status, found.reason)
  if (found.kind === 'unknown' && found.policy === 'wait')
    return refuse(ctx, res, who, 404, `${mac} is not assigned to a node (unknown MACs wait for assignment)`)
  const node = found.kind === 'node' ? found.node : null
  const artifact = await ctx.resolver.artifact(node, kind)
  if (!artifact) {
    const whose = node ? `node ${node.name} (${mac})` : `the default image (for ${mac})`
    return refuse(ctx, res, who, 404, `${whose} has no ${kind}`)
  }
  await sendFile(req, res, artifact.path, {
    describe: `${kind} for ${mac}`,
    contentType: contentTypeFor(artifact.name),
    onProgress: progressEmitter(ctx, who),
    progressIntervalMs: ctx.progressIntervalMs,
    now: ctx.now,
    offload: ctx.offload,
  })
}
