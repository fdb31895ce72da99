/**
 * The route table. Paths (MACs in any common spelling, `%3A` included):
 *   GET|HEAD /ipxe/:mac[?platform=efi|pcbios&assetkey=]   the node's iPXE script
 *   GET|HEAD /kernel|image|modules|system|runtime/:mac    the node's artifact
 *   GET|HEAD /provision/:mac?stage=ipxe|kernel|image|modules|kmods|system|runtime   Warewulf's older style
 *   GET|HEAD /status                                      resolver.status() as JSON
 *   GET|HEAD /boot/<file>, /files/<path>                  static, confined to bootRoot / filesRoot
 *   POST /agent/:mac                                      node reports (routes/agent.ts, also the overlay checks)
 * Anything else is 404; a method other than GET/HEAD is 405; a bad MAC or target is 400. One-line reasons.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { macFromSegment, parseTarget } from './request'
import { replyText } from './reply'
import { serveArtifact } from './routes/artifact'
import { refuseOverlay, servePost, serveRuntime } from './routes/agent'
import type { RouteContext } from './routes/context'
import { serveIpxe } from './routes/ipxe'
import { serveStatic } from './routes/static'
import { serveStatus } from './routes/status'
import { ARTIFACT_KINDS, type ArtifactKind } from './types'

export interface Roots {
  bootRoot: string | null | undefined
  filesRoot: string | null | undefined
}

const STAGES: Record<string, 'ipxe' | ArtifactKind> = {
  ipxe: 'ipxe',
  kernel: 'kernel',
  image: 'image',
  container: 'image',
  modules: 'modules',
  kmods: 'modules',
  system: 'system',
  runtime: 'runtime',
}

const isKind = (s: string): s is ArtifactKind => (ARTIFACT_KINDS as readonly string[]).includes(s)

export async function dispatch(ctx: RouteContext, roots: Roots, req: IncomingMessage, res: ServerResponse) {
  if (req.method === 'POST') return servePost(ctx, req, res)
  if (req.method !== 'GET' && req.method !== 'HEAD')
    return replyText(res, 405, `method ${req.method ?? '?'} not allowed; use GET or HEAD`, {
      Allow: 'GET, HEAD',
    })
  const target = parseTarget(req.url)
  if (!target.ok) return replyText(res, 400, target.error)
  const [first = '', ...rest] = target.value.segments
  const { query } = target.value

  if (first === 'boot' || first === 'files')
    return serveStatic(ctx, req, res, first, first === 'boot' ? roots.bootRoot : roots.filesRoot, rest)
  if (first === 'status' && rest.length === 0) return serveStatus(ctx, res)

  let stage: 'ipxe' | ArtifactKind | undefined
  if (first === 'ipxe' || isKind(first)) stage = first
  else if (first === 'provision') {
    const asked = query.get('stage')
    stage = STAGES[asked ?? '']
    if (!stage)
      return replyText(
        res,
        400,
        `stage '${asked ?? ''}' unknown; use ?stage=${Object.keys(STAGES).join('|')}`,
      )
  } else return replyText(res, 404, `no route for /${first}`)
  if (rest.length > 1) return replyText(res, 404, `no route for /${target.value.segments.join('/')}`)

  const mac = macFromSegment(rest[0])
  if (!mac.ok) return replyText(res, 400, mac.error)
  if (stage === 'ipxe') return serveIpxe(ctx, req, res, mac.value, query)
  if (stage === 'runtime' && (await serveRuntime(ctx, req, res, mac.value, query))) return
  if (stage === 'system' && refuseOverlay(ctx, req, res, mac.value, 'system', query)) return
  return serveArtifact(ctx, req, res, mac.value, stage, query)
}
