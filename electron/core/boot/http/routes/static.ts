/** GET|HEAD /boot/* (iPXE binaries) and /files/* (the operator's --files directory), confined to their root. */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { sendFile } from '../send-file'
import { resolveInsideRoot } from '../static-root'
import { type RouteContext, progressEmitter, refuse } from './context'

export async function serveStatic(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  route: 'boot' | 'files',
  root: string | null | undefined,
  segments: string[],
): Promise<void> {
  const who = { mac: null, node: null, route }
  if (!root) return refuse(ctx, res, who, 404, `/${route}/ is not served (no directory configured)`)
  const inside = await resolveInsideRoot(root, segments)
  if (!inside.ok) return refuse(ctx, res, who, inside.error.status, `/${route}/: ${inside.error.reason}`)
  await sendFile(req, res, inside.value, {
    describe: `/${route}/${segments.join('/')}`,
    onProgress: progressEmitter(ctx, who),
    progressIntervalMs: ctx.progressIntervalMs,
    now: ctx.now,
    offload: ctx.offload,
  })
}
