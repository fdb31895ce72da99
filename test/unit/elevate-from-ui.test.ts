/** `app/elevate`: main's own answer to the status bar's "Start with administrator rights". */
import { describe, expect, it } from 'vitest'
import { settingsSchema } from '../../electron/core/inventory/schema'
import { err, ok } from '../../electron/core/util/result'
import { elevateFromUi } from '../../electron/main/elevate-from-ui'
import { DENIED_MESSAGE, type CoreHost, type ElevateOutcome } from '../../electron/main/core-host'
import type { CallResult, Channel } from '../../electron/ipc/contract'

function host(kind: ReturnType<CoreHost['kind']>, outcome: ElevateOutcome) {
  const elevated: unknown[] = []
  const h: Pick<CoreHost, 'kind' | 'elevate' | 'dispatch'> = {
    kind: () => kind,
    elevate: async (c) => (elevated.push(c), outcome),
    dispatch: async () =>
      ({ ok: true, value: settingsSchema.parse({ interface: 'eth1' }) }) as CallResult<Channel>,
  }
  return { h, elevated }
}

const command = { command: 'pkexec', args: ['helper'] }

describe('elevateFromUi', () => {
  it('builds the command from the settings and hands over, saying what happened', async () => {
    const { h, elevated } = host('in-process', 'denied')
    const seen: string[] = []
    const r = await elevateFromUi(h, {}, (s) => (seen.push(s.interface!), ok(command)))
    expect(seen).toEqual(['eth1'])
    expect(elevated).toEqual([command])
    expect(r).toEqual({ ok: true, value: { outcome: 'denied', message: DENIED_MESSAGE } })
  })

  it('does not ask twice, says why there is no prompt, and refuses a malformed request', async () => {
    const already = host('elevated', 'elevated')
    expect(await elevateFromUi(already.h, {}, () => ok(command))).toMatchObject({
      ok: true,
      value: { outcome: 'busy' },
    })
    expect(already.elevated).toEqual([])

    const none = host('in-process', 'elevated')
    expect(await elevateFromUi(none.h, {}, () => err('no provisioning interface chosen yet'))).toEqual({
      ok: true,
      value: {
        outcome: 'unavailable',
        message: 'No administrator prompt here: no provisioning interface chosen yet.',
      },
    })
    expect(none.elevated).toEqual([])
    expect(await elevateFromUi(none.h, { force: true }, () => ok(command))).toMatchObject({
      ok: false,
      error: { code: 'bad-request' },
    })
  })
})
