/** The elevated stack's ready line is the one place its API token reaches the window: parsed strictly. */
import { describe, expect, it } from 'vitest'
import { parseReadyLine } from '../../electron/main/privilege/elevated-stack'

const line = (ready: Record<string, unknown>) => `rackboot ready ${JSON.stringify(ready)}`
const good = { ui: 'http://127.0.0.1:4000/?token=abcdef0123456789', api: 'http://127.0.0.1:4000', pid: 42 }

describe('parseReadyLine', () => {
  it('takes origin, token and PID from the ready line', () => {
    expect(parseReadyLine(line(good))).toEqual({
      origin: 'http://127.0.0.1:4000',
      token: 'abcdef0123456789',
      pid: 42,
    })
    expect(parseReadyLine(line({ ...good, api: 'http://[::1]:4000' }))?.origin).toBe('http://[::1]:4000')
  })

  it('ignores other lines and refuses a non-loopback API, a missing token or a bad PID', () => {
    for (const text of [
      'rackboot info: UI: http://127.0.0.1:4000/?token=x',
      'rackboot ready {not json',
      line({ ...good, api: 'http://10.0.0.1:4000' }),
      line({ ...good, api: 'http://127.0.0.1:4000/evil' }),
      line({ ...good, ui: 'http://127.0.0.1:4000/' }),
      line({ ...good, ui: 'not a url' }),
      line({ ...good, pid: -1 }),
      line({ ui: good.ui, api: good.api }),
    ])
      expect(parseReadyLine(text), text).toBeNull()
  })
})
