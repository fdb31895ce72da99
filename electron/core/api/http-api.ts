/**
 * `POST /api/<domain>/<verb>` with a JSON body: one call, answered with the CallResult as JSON. The caller
 * has already passed the Host/Origin guard; this checks the token, reads a bounded body and dispatches.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { CallResult, Channel, Handlers } from '../../ipc/contract'
import type { Logger } from '../util/logger'
import { bearerToken, tokenMatches } from './auth'
import { dispatch } from './dispatch'
import { API_PREFIX, failure, httpStatusOf } from './protocol'
import { BASE_HEADERS } from './headers'

export interface HttpApiOptions {
  token: string
  handlers: Handlers
  maxBodyBytes: number
  logger: Logger
}

export function sendResult(
  res: ServerResponse,
  result: CallResult<Channel>,
  status = httpStatusOf(result),
  extra = {},
): void {
  let json: string
  try {
    json = JSON.stringify(result)
  } catch {
    // A handler returned something JSON cannot carry (BigInt, a cycle): say so rather than drop the reply.
    json = JSON.stringify(failure('internal', 'the response could not be encoded as JSON'))
    status = 500
  }
  res.writeHead(status, {
    ...BASE_HEADERS,
    ...extra,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(json)),
    'Cache-Control': 'no-store',
  })
  res.end(json)
}

type Body = { ok: true; value: unknown } | { ok: false; status: 400 | 413; message: string }

/** Reads the whole body up to `limit` bytes; an empty body stands for `{}` (channels without arguments). */
function readJsonBody(req: IncomingMessage, limit: number): Promise<Body> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length'] ?? 0)
    if (declared > limit) {
      resolve({
        ok: false,
        status: 413,
        message: `request body of ${declared} bytes exceeds the ${limit}-byte limit`,
      })
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    req.on('data', (chunk: Buffer) => {
      if (done) return
      size += chunk.length
      if (size > limit) {
        done = true
        resolve({ ok: false, status: 413, message: `request body exceeds the ${limit}-byte limit` })
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      if (done) return
      done = true
      const text = Buffer.concat(chunks).toString('utf8')
      if (text.trim() === '') return resolve({ ok: true, value: {} })
      try {
        resolve({ ok: true, value: JSON.parse(text) as unknown })
      } catch (e) {
        resolve({
          ok: false,
          status: 400,
          message: `request body is not JSON: ${e instanceof Error ? e.message : String(e)}`,
        })
      }
    })
    req.on('error', () => {
      if (!done) resolve({ ok: false, status: 400, message: 'request body was cut off' })
      done = true
    })
  })
}

export async function handleApiCall(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  o: HttpApiOptions,
): Promise<void> {
  if (!tokenMatches(o.token, bearerToken(req.headers.authorization))) {
    sendResult(
      res,
      failure(
        'unauthorized',
        'missing or wrong API token: send Authorization: Bearer <token> (printed at start-up)',
      ),
      401,
      {
        'WWW-Authenticate': 'Bearer realm="rackboot"',
      },
    )
    return
  }
  if (req.method !== 'POST') {
    sendResult(res, failure('bad-request', `use POST for ${path}`), 405, { Allow: 'POST' })
    return
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  if (type !== 'application/json' && !(type === '' && req.headers['content-length'] === '0')) {
    sendResult(res, failure('bad-request', `Content-Type must be application/json, not '${type}'`), 415)
    return
  }
  const body = await readJsonBody(req, o.maxBodyBytes)
  if (!body.ok) {
    // Stop reading an oversized upload; the reply is small and goes out first.
    sendResult(
      res,
      failure('bad-request', body.message),
      body.status,
      body.status === 413 ? { Connection: 'close' } : {},
    )
    if (body.status === 413) res.on('finish', () => req.destroy())
    return
  }
  const channel = path.slice(API_PREFIX.length)
  sendResult(res, await dispatch(o.handlers, channel, body.value, o.logger))
}
