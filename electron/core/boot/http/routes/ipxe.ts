/** GET /ipxe/:mac: the node's boot script, or a script that waits for an assignment. */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { parsePlatform, renderNodeScript, waitScript } from '../ipxe'
import { replyBody } from '../reply'
import { ARTIFACT_KINDS, type ArtifactKind, type BootNodeView } from '../types'
import { type RouteContext, lookupNode, refuse } from './context'

/** Failed fetches of the next script in a row before a waiting node reboots. */
const WAIT_MAX_FAILURES = 30

export async function serveIpxe(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  mac: string,
  query: URLSearchParams,
): Promise<void> {
  const found = lookupNode(ctx, mac, query)
  const who = { mac, node: found.kind === 'node' ? found.node.name : null, route: 'ipxe' as const }
  if (found.kind === 'refused') return refuse(ctx, res, who, found.status, found.reason)
  const baseUrl = ctx.baseUrlFor(req)
  const wait = (message: string) =>
    waitScript({ mac, baseUrl, message, waitSeconds: ctx.waitSeconds, maxFailures: WAIT_MAX_FAILURES })

  if (found.kind === 'unknown' && found.policy === 'wait')
    return send(ctx, res, who, wait(`${mac} is waiting for assignment`))

  const node: BootNodeView | null = found.kind === 'node' ? found.node : null
  const present = await presentArtifacts(ctx, node)
  if (!present.includes('kernel') || !present.includes('image')) {
    const what = node ? `node ${node.name} (${mac})` : `the default image for ${mac}`
    const missing = (['kernel', 'image'] as const).filter((k) => !present.includes(k)).join(' and ')
    return send(ctx, res, who, wait(`${what} has no ${missing} yet, waiting`))
  }
  const template = node ? (ctx.resolver.templateFor?.(node) ?? undefined) : undefined
  const script = renderNodeScript(
    {
      mac,
      node,
      kernelArgs: node ? node.kernelArgs : (ctx.resolver.defaultKernelArgs?.() ?? ''),
      baseUrl,
      platform: parsePlatform(query.get('platform')),
      artifacts: present,
      retries: ctx.retries,
      retryDelaySeconds: ctx.retryDelaySeconds,
    },
    template ?? undefined,
  )
  send(ctx, res, who, script)
}

async function presentArtifacts(ctx: RouteContext, node: BootNodeView | null): Promise<ArtifactKind[]> {
  // A first boot's system overlay is built while iPXE fetches the kernel and image, not before the script:
  // under a 200-node storm those builds held each script (and so the node's first HTTP byte) for seconds.
  const found = await Promise.all(
    ARTIFACT_KINDS.map(
      async (k) => ctx.resolver.willHave?.(node, k) ?? (await ctx.resolver.artifact(node, k)) !== null,
    ),
  )
  return ARTIFACT_KINDS.filter((_, i) => found[i])
}

function send(
  ctx: RouteContext,
  res: ServerResponse,
  who: { mac: string; node: string | null; route: 'ipxe' },
  script: { ok: true; value: string } | { ok: false; error: string },
): void {
  if (!script.ok) {
    ctx.logger.error(`HTTP /ipxe/${who.mac}: ${script.error}`)
    return refuse(ctx, res, who, 500, script.error)
  }
  replyBody(res, 200, 'text/plain; charset=utf-8', script.value)
  const bytes = res.req.method === 'HEAD' ? 0 : Buffer.byteLength(script.value)
  ctx.emit({ ...who, status: 200, bytes, total: bytes, done: true, aborted: false })
}
