/** GET /status: the resolver's JSON (Warewulf answers node stages here). */
import type { ServerResponse } from 'node:http'
import { errorMessage } from '../../../util/result'
import { replyBody, replyText } from '../reply'
import type { RouteContext } from './context'

export function serveStatus(ctx: RouteContext, res: ServerResponse): void {
  let body: string
  try {
    body = `${JSON.stringify(ctx.resolver.status() ?? null)}\n`
  } catch (e) {
    ctx.logger.error(`HTTP /status: resolver.status() failed: ${errorMessage(e)}`)
    return replyText(res, 500, `status unavailable: ${errorMessage(e)}`)
  }
  replyBody(res, 200, 'application/json', body)
}
