import { describe, expect, it } from 'vitest'
import { dispatch } from '../../electron/core/api/dispatch'
import { decodeCallFrame, encodeReply, httpStatusOf } from '../../electron/core/api/protocol'
import type { Handlers } from '../../electron/ipc/contract'
import { nodeSchema } from '../../electron/core/inventory/schema'
import { RackbootError } from '../../electron/core/util/result'
import { ProblemListError } from '../../electron/core/interop/problems'
import type { Logger } from '../../electron/core/util/logger'
import { fakeHandlers } from '../support/fake-handlers'

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = []
  return {
    lines,
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
  }
}

describe('dispatch', () => {
  it('runs the handler with the parsed request (schema defaults applied)', async () => {
    const result = await dispatch(fakeHandlers(), 'racks/upsert', { name: 'r1' })
    expect(result).toEqual({ ok: true, value: { name: 'r1', heightU: 42, numbering: 'bottom-up' } })
  })

  it('answers not-found naming an unknown channel, and a channel that is not a string', async () => {
    const unknown = await dispatch(fakeHandlers(), 'nodes/explode', {})
    expect(unknown.ok).toBe(false)
    if (unknown.ok) return
    expect(unknown.error.code).toBe('not-found')
    expect(unknown.error.message).toContain("'nodes/explode'")
    expect(unknown.error.details?.[0]).toContain('nodes/list')
    const numeric = await dispatch(fakeHandlers(), 42, {})
    expect(numeric.ok === false && numeric.error.message).toContain('of type number')
    // Inherited names must not count as channels.
    const proto = await dispatch(fakeHandlers(), 'toString', {})
    expect(proto.ok === false && proto.error.code).toBe('not-found')
  })

  it('lists every issue of an invalid payload and does not call the handler', async () => {
    let called = false
    const handlers = fakeHandlers({
      'nodes/add': async () => ((called = true), nodeSchema.parse({ name: 'x' })),
    })
    const result = await dispatch(handlers, 'nodes/add', { name: 'not a host!', slot: 99, colour: 'red' })
    expect(called).toBe(false)
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.error.code).toBe('bad-request')
    expect(result.error.message).toContain('nodes/add')
    const details = result.error.details ?? []
    expect(details).toHaveLength(3)
    expect(details.some((d) => d.startsWith('name:'))).toBe(true)
    expect(details.some((d) => d.startsWith('slot:'))).toBe(true)
    expect(details.some((d) => d.includes('colour'))).toBe(true)
  })

  it('refuses a missing payload for a channel without arguments', async () => {
    const result = await dispatch(fakeHandlers(), 'nodes/list', undefined)
    expect(result.ok === false && result.error.code).toBe('bad-request')
  })

  it('maps a RackbootError with a caller code to that code, with its hint as a detail', async () => {
    const handlers = fakeHandlers({
      'nodes/remove': async (req) => {
        throw new RackbootError(`no node '${req.name}'`, 'not-found', 'list nodes with nodes/list')
      },
      'racks/remove': async () => {
        throw new RackbootError('rack r1 still holds 3 nodes', 'conflict')
      },
    })
    expect(await dispatch(handlers, 'nodes/remove', { name: 'n9' })).toEqual({
      ok: false,
      error: { code: 'not-found', message: "no node 'n9'", details: ['list nodes with nodes/list'] },
    })
    expect(await dispatch(handlers, 'racks/remove', { name: 'r1' })).toEqual({
      ok: false,
      error: { code: 'conflict', message: 'rack r1 still holds 3 nodes' },
    })
  })

  it('forwards every problem of a refused import as a detail, so the UI can show each beside its line', async () => {
    const handlers = fakeHandlers({
      'import/macs': async () => {
        throw new ProblemListError('the MAC list was not saved', [
          "line 2: not a MAC address ('zz:zz')",
          'line 5: MAC 52:54:00:00:00:01 is also on line 3',
        ])
      },
    })
    const result = await dispatch(handlers, 'import/macs', { text: 'x', dryRun: true })
    expect(result.ok === false && result.error.code).toBe('bad-request')
    expect(result.ok === false && result.error.details).toEqual([
      "line 2: not a MAC address ('zz:zz')",
      'line 5: MAC 52:54:00:00:00:01 is also on line 3',
    ])
  })

  it('keeps the message of a RackbootError with another code, as internal', async () => {
    const handlers = fakeHandlers({
      'stack/status': async () => {
        throw new RackbootError('interface eth9 is gone', 'error')
      },
    })
    expect(await dispatch(handlers, 'stack/status', {})).toEqual({
      ok: false,
      error: { code: 'internal', message: 'interface eth9 is gone' },
    })
  })

  it('hides the detail of an unexpected error from the caller and logs it', async () => {
    const logger = recordingLogger()
    const handlers = fakeHandlers({
      'images/list': async () => {
        throw new Error('EACCES /secret/path')
      },
      // A handler that throws before returning a promise must not escape either.
      'nodes/list': (() => {
        throw new TypeError('sync boom')
      }) as Handlers['nodes/list'],
    })
    const result = await dispatch(handlers, 'images/list', {}, logger)
    expect(result.ok === false && result.error.code).toBe('internal')
    expect(JSON.stringify(result)).not.toContain('/secret/path')
    expect(logger.lines.some((l) => l.startsWith('error') && l.includes('/secret/path'))).toBe(true)
    const sync = await dispatch(handlers, 'nodes/list', {}, logger)
    expect(sync.ok === false && sync.error.code).toBe('internal')
    const missing = await dispatch({} as Handlers, 'nodes/list', {}, logger)
    expect(missing.ok === false && missing.error.code).toBe('internal')
  })

  it('keeps this for handlers that use it', async () => {
    const handlers = {
      ...fakeHandlers(),
      prefix: 'removed-',
      async 'nodes/remove'(this: { prefix: string }, req: { name: string }) {
        return { removed: this.prefix + req.name }
      },
    }
    expect(await dispatch(handlers, 'nodes/remove', { name: 'n1' })).toEqual({
      ok: true,
      value: { removed: 'removed-n1' },
    })
  })
})

describe('wire frames', () => {
  it('decodes a call and keeps the id of a frame it refuses', () => {
    expect(decodeCallFrame('{"id":7,"channel":"nodes/list","payload":{}}')).toEqual({
      ok: true,
      value: { id: 7, channel: 'nodes/list', payload: {} },
    })
    const noChannel = decodeCallFrame('{"id":"a1"}')
    expect(noChannel.ok === false && noChannel.error.id).toBe('a1')
    for (const bad of [
      '',
      'nope',
      '[]',
      'null',
      '{"id":1.5,"channel":"x"}',
      '{"id":{},"channel":"x"}',
      `{"id":"${'x'.repeat(200)}","channel":"x"}`,
    ]) {
      const r = decodeCallFrame(bad)
      expect(r.ok, bad).toBe(false)
      if (!r.ok) expect(r.error.id, bad).toBeNull()
    }
  })

  it('replies with an internal error when a value cannot be encoded', () => {
    const frame = JSON.parse(encodeReply(3, { ok: true, value: { n: 1n } } as never)) as {
      id: number
      result: { ok: boolean }
    }
    expect(frame).toMatchObject({ id: 3, result: { ok: false, error: { code: 'internal' } } })
  })

  it('maps error codes to HTTP statuses', () => {
    expect(httpStatusOf({ ok: true, value: [] } as never)).toBe(200)
    expect(httpStatusOf({ ok: false, error: { code: 'bad-request', message: '' } })).toBe(400)
    expect(httpStatusOf({ ok: false, error: { code: 'unauthorized', message: '' } })).toBe(401)
    expect(httpStatusOf({ ok: false, error: { code: 'not-found', message: '' } })).toBe(404)
    expect(httpStatusOf({ ok: false, error: { code: 'conflict', message: '' } })).toBe(409)
    expect(httpStatusOf({ ok: false, error: { code: 'internal', message: '' } })).toBe(500)
  })
})
