import { describe, expect, it } from 'vitest'
import { buildTimeline, transferText } from '../../../renderer/src/components/boot-timeline'
import { appendBootEvent, type BootLog } from '../../../renderer/src/stores/boot'
import type { BootEvent } from '../../../electron/ipc/contract'

const ev = (over: Partial<BootEvent>): BootEvent => ({
  time: '2026-11-26T10:00:00.000Z',
  mac: '52:54:00:00:00:01',
  node: 'n1',
  stage: 'dhcp',
  step: 'discover',
  ...over,
})
const statuses = (t: ReturnType<typeof buildTimeline>) => t.cells.map((c) => `${c.stage}:${c.status}`)

describe('buildTimeline', () => {
  it('starts from the saved state when no event was seen (after a reload)', () => {
    expect(buildTimeline([], 'up').cells.every((c) => c.status === 'done')).toBe(true)
    expect(statuses(buildTimeline([], 'booting'))[0]).toBe('dhcp:active')
    expect(buildTimeline([], 'planned').current).toBeNull()
  })

  it('counts modules with the image, and marks earlier stages done once a later one is reached', () => {
    const t = buildTimeline([ev({ stage: 'modules', step: 'progress', bytes: 10, total: 20 })], 'booting')
    expect(statuses(t).slice(0, 6)).toEqual([
      'dhcp:done',
      'tftp:done',
      'ipxe:done',
      'kernel:done',
      'image:active',
      'overlay:pending',
    ])
    expect(t.problem).toBeNull()
  })

  it('a stage passed under this window without a word from it is skipped, not done', () => {
    // An iPXE ROM: DHCP, then straight to the iPXE script over HTTP, no TFTP.
    const t = buildTimeline(
      [ev({ step: 'ack' }), ev({ stage: 'ipxe', step: 'done' }), ev({ stage: 'kernel', step: 'progress' })],
      'booting',
    )
    expect(statuses(t).slice(0, 4)).toEqual(['dhcp:done', 'tftp:skipped', 'ipxe:done', 'kernel:active'])
  })

  it('names the next step for a failed stage', () => {
    const t = buildTimeline([ev({ step: 'ack' }), ev({ stage: 'overlay', step: 'failed' })], 'booting')
    expect(t.problem?.stage).toBe('overlay')
    expect(t.problem?.message).toContain('overlay')
  })

  it('shows the size alone once a transfer completed', () => {
    expect(transferText({ bytes: 2048, total: 2048, rate: null })).toBe('2.0 KiB')
    expect(transferText({ bytes: 1024, total: 2048, rate: 1024 })).toBe('1.0 KiB / 2.0 KiB · 1.0 KiB/s')
  })
})

describe('appendBootEvent', () => {
  it('keeps the last N events per node, and MACs without a node apart', () => {
    let log: BootLog = new Map()
    for (let i = 0; i < 5; i++) log = appendBootEvent(log, ev({ step: `s${i}` }), 3)
    log = appendBootEvent(log, ev({ node: null, mac: '52:54:00:00:00:09' }), 3)
    expect(log.get('n1')!.map((e) => e.step)).toEqual(['s2', 's3', 's4'])
    expect(log.get('mac:52:54:00:00:00:09')).toHaveLength(1)
  })
})
