/**
 * The one place a call from any transport (WebSocket, HTTP POST, Electron ipcMain) is checked and run:
 * channel name, request schema, then the handler, with every failure turned into a ContractError. Never
 * throws, so a transport only has to deliver the result.
 */
import {
  type CallResult,
  type Channel,
  type ContractError,
  type Handlers,
  channels,
  isChannel,
} from '../../ipc/contract'
import { describeIssues } from '../inventory/schema'
import { type Logger, silentLogger } from '../util/logger'
import { RackbootError } from '../util/result'
import { failure } from './protocol'

/** RackbootError codes that mean the caller, not the core, got something wrong. */
const CALLER_CODES: ReadonlySet<string> = new Set<ContractError['code']>([
  'not-found',
  'conflict',
  'bad-request',
])

function nameOf(channel: unknown): string {
  if (typeof channel === 'string') return `'${channel.length > 80 ? `${channel.slice(0, 80)}…` : channel}'`
  return `of type ${channel === null ? 'null' : typeof channel}`
}

export async function dispatch(
  handlers: Handlers,
  channel: unknown,
  payload: unknown,
  logger: Logger = silentLogger,
): Promise<CallResult<Channel>> {
  if (!isChannel(channel))
    return failure('not-found', `unknown channel ${nameOf(channel)}`, [
      `known channels: ${Object.keys(channels).join(', ')}`,
    ])
  const parsed = channels[channel].request.safeParse(payload)
  if (!parsed.success)
    return failure('bad-request', `invalid request for ${channel}`, describeIssues(parsed.error))
  try {
    // Method-call syntax keeps `this` for handlers written as a class.
    const call = handlers[channel] as (request: unknown) => Promise<unknown>
    const value: unknown = await call.call(handlers, parsed.data)
    return { ok: true, value } as CallResult<Channel>
  } catch (e) {
    if (e instanceof RackbootError) {
      const details = e.details.length > 0 ? [...e.details] : undefined
      if (CALLER_CODES.has(e.code)) return failure(e.code as ContractError['code'], e.message, details)
      // A RackbootError is written for a person, so its message may be shown even when the code is not one
      // the contract names.
      logger.warn(`api: ${channel} failed (${e.code}): ${e.message}`)
      return failure('internal', e.message, details)
    }
    logger.error(
      `api: ${channel} failed unexpectedly: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
    )
    return failure('internal', `${channel} failed unexpectedly; the server log has the details`)
  }
}
