/**
 * The wire shape of the contract over HTTP and WebSocket (headless mode). Pure: no Node imports, so the
 * renderer's client can import these types. A call is `{ id, channel, payload }`; its answer `{ id, result }`;
 * a core event `{ event, payload }`. Decoders return a Result and never throw on what a peer sends.
 */
import type { CallResult, Channel, ContractError, EventName, Events } from '../../ipc/contract'
import { type Result, ok, err } from '../util/result'

/** Correlates a reply with its call; chosen by the client. */
export type FrameId = number | string

export interface CallFrame {
  id: FrameId
  channel: unknown
  payload: unknown
}

/** `id` is null when the frame it answers was too broken to carry one. */
export interface ReplyFrame {
  id: FrameId | null
  result: CallResult<Channel>
}

export interface EventFrame<E extends EventName = EventName> {
  event: E
  payload: Events[E]
}

export type ServerFrame = ReplyFrame | EventFrame

export const API_PREFIX = '/api/'
export const API_WS_PATH = '/api/ws'
/** Longest string id we echo back; ids are counters in practice. */
const MAX_ID_LENGTH = 128

export function failure(
  code: ContractError['code'],
  message: string,
  details?: string[],
): CallResult<Channel> {
  return { ok: false, error: details && details.length > 0 ? { code, message, details } : { code, message } }
}

/** HTTP status for a failed call; 200 for success. */
export function httpStatusOf(result: CallResult<Channel>): number {
  if (result.ok) return 200
  switch (result.error.code) {
    case 'bad-request':
      return 400
    case 'unauthorized':
      return 401
    case 'not-found':
      return 404
    case 'conflict':
      return 409
    case 'internal':
      return 500
  }
}

function isFrameId(v: unknown): v is FrameId {
  return (
    (typeof v === 'number' && Number.isSafeInteger(v)) ||
    (typeof v === 'string' && v.length > 0 && v.length <= MAX_ID_LENGTH)
  )
}

/**
 * Decodes a client's text frame. On failure the error still carries the id when one could be read, so the
 * client's call fails at once instead of waiting forever.
 */
export function decodeCallFrame(text: string): Result<CallFrame, { id: FrameId | null; message: string }> {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (e) {
    return err({ id: null, message: `frame is not JSON (${e instanceof Error ? e.message : String(e)})` })
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return err({ id: null, message: 'frame must be a JSON object { id, channel, payload }' })
  const frame = parsed as Record<string, unknown>
  if (!isFrameId(frame.id))
    return err({
      id: null,
      message: `frame id must be a safe integer or a string of 1..${MAX_ID_LENGTH} characters`,
    })
  if (typeof frame.channel !== 'string')
    return err({ id: frame.id, message: "frame needs a string 'channel' (domain/verb)" })
  return ok({ id: frame.id, channel: frame.channel, payload: frame.payload })
}

/**
 * Encodes a reply. A handler may return something JSON cannot carry (BigInt, a cycle); the caller then gets
 * an internal error rather than a dropped reply.
 */
export function encodeReply(id: FrameId | null, result: CallResult<Channel>): string {
  try {
    return JSON.stringify({ id, result } satisfies ReplyFrame)
  } catch {
    return JSON.stringify({
      id,
      result: failure('internal', 'the response could not be encoded as JSON'),
    } satisfies ReplyFrame)
  }
}
