/** What every route gets from the server: the resolver, the logger, the event sink and the tuning. */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from '../../../util/logger'
import type { SendProgress } from '../send-file'
import type { SendfilePool } from '../sendfile-pool'
import { assetKeyMatches } from '../request'
import { replyText } from '../reply'
import type { BootNodeView, HttpBootEvent, HttpRoute, ProvisioningResolver } from '../types'

export interface RouteContext {
  resolver: ProvisioningResolver
  logger: Logger
  emit(e: HttpBootEvent): void
  /** The URL written into scripts for this request. */
  baseUrlFor(req: IncomingMessage): string
  waitSeconds: number
  retries: number
  retryDelaySeconds: number
  progressIntervalMs: number
  now: () => number
  /** sendfile threads for large bodies, null where unavailable (not Linux, no koffi) or turned off. */
  offload: SendfilePool | null
}

/** Turns sendFile progress into dashboard events for one response. */
export function progressEmitter(
  ctx: RouteContext,
  who: { mac: string | null; node: string | null; route: HttpRoute },
): (p: SendProgress) => void {
  return (p) => ctx.emit({ ...who, ...p })
}

/** Replies with one line and reports it as a finished event (the dashboard shows refusals too). */
export function refuse(
  ctx: RouteContext,
  res: ServerResponse,
  who: { mac: string | null; node: string | null; route: HttpRoute },
  status: number,
  line: string,
): void {
  replyText(res, status, line)
  ctx.emit({ ...who, status, bytes: 0, total: null, done: true, aborted: false })
}

export type NodeLookup =
  | { kind: 'node'; node: BootNodeView }
  | { kind: 'unknown'; policy: 'wait' | 'default-image' }
  | { kind: 'refused'; status: 403; reason: string }

/** Finds the node behind a MAC and checks its asset key (`?assetkey=`) when it has one. */
export function lookupNode(ctx: RouteContext, mac: string, query: URLSearchParams): NodeLookup {
  const node = ctx.resolver.nodeByMac(mac)
  if (!node) return { kind: 'unknown', policy: ctx.resolver.unknownNodePolicy() }
  if (node.assetKey !== null && !assetKeyMatches(node.assetKey, query.get('assetkey')))
    return {
      kind: 'refused',
      status: 403,
      reason: `${mac} (node ${node.name}): asset key missing or wrong; the node must send its SMBIOS asset tag as ?assetkey=`,
    }
  return { kind: 'node', node }
}
