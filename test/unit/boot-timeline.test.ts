/**
 * Boot timelines from boot events: what counts as one boot, which milestones it reached, the state a fault
 * leaves (no answer, a transfer cut half-way, a server restart), and the files the recorder keeps.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { BootEvent } from '../../electron/core/boot/events'
import { TimelineRecorder, readLatestBoot } from '../../electron/core/boot/timeline/recorder'
import { silentLogger } from '../../electron/core/util/logger'

const MAC = '52:54:00:1e:00:01'
const T0 = Date.parse('2026-11-26T12:00:00.000Z')
const at = (s: number) => new Date(T0 + s * 1000).toISOString()
const ev = (
  s: number,
  stage: BootEvent['stage'],
  step: string,
  more: Partial<BootEvent> = {},
): BootEvent => ({
  time: at(s),
  mac: MAC,
  node: 'v1',
  stage,
  step,
  ...more,
})

/** The events of a UEFI boot through the TFTP chain, as the core emitted them in the lab (rblb1, slot 1). */
const uefiBoot = (from = 0): BootEvent[] => [
  ev(from + 0, 'dhcp', 'discover', { clientType: 'UEFI PXE', detail: 'PXEClient:Arch:00007:UNDI:003000' }),
  ev(from + 0.01, 'dhcp', 'offer', { clientType: 'UEFI PXE', ip: '198.19.30.11', detail: 'ipxe.efi' }),
  ev(from + 4, 'dhcp', 'ack', { clientType: 'UEFI PXE', ip: '198.19.30.11', detail: 'ipxe.efi' }),
  ev(from + 5, 'tftp', 'progress', {
    mac: '',
    ip: '198.19.30.11',
    detail: 'ipxe.efi',
    bytes: 4096,
    total: 850528,
  }),
  ev(from + 6, 'tftp', 'done', {
    mac: '',
    ip: '198.19.30.11',
    detail: 'ipxe.efi',
    bytes: 850528,
    total: 850528,
  }),
  ev(from + 9, 'dhcp', 'discover', { clientType: 'iPXE' }),
  ev(from + 9.1, 'dhcp', 'ack', { clientType: 'iPXE', ip: '198.19.30.11' }),
  ev(from + 10, 'ipxe', 'done', { detail: 'ipxe HTTP 200' }),
  ev(from + 12, 'kernel', 'done', { detail: 'kernel HTTP 200' }),
  ev(from + 14, 'image', 'done', { detail: 'image HTTP 200' }),
  ev(from + 15, 'modules', 'done', { detail: 'modules HTTP 200' }),
  ev(from + 15.5, 'overlay', 'done', { detail: 'system HTTP 200' }),
  ev(from + 30, 'dhcp', 'discover', { clientType: 'plain DHCP', detail: 'udhcp 1.35.0' }),
  ev(from + 31, 'init', 'init'),
  ev(from + 33, 'agent', 'up'),
  ev(from + 93, 'agent', 'heartbeat'),
]

describe('boot timeline recorder', () => {
  const dirs: string[] = []
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })
  const recorder = (nowS: () => number, dir?: string) => {
    const d = dir ?? mkdtempSync(join(tmpdir(), 'rb-timeline-'))
    if (!dir) dirs.push(d)
    return {
      dir: d,
      r: new TimelineRecorder({ dir: d, logger: silentLogger, now: () => T0 + nowS() * 1000 }),
    }
  }

  it('a UEFI chain is one boot: both DHCP rounds, TFTP named through the lease, every milestone to agent up', async () => {
    const { r, dir } = recorder(() => 100)
    for (const e of uefiBoot()) r.record(e)
    const [boot, ...older] = await r.list(MAC)
    expect(older).toEqual([])
    expect(boot).toMatchObject({
      state: 'up',
      stage: 'agent-up',
      problem: null,
      clientType: 'UEFI PXE',
      node: 'v1',
    })
    expect(boot!.ip).toBe('198.19.30.11')
    expect(boot!.milestones.map((m) => [m.milestone, m.time])).toEqual([
      ['dhcp-discover', at(0)],
      ['dhcp-ack', at(4)],
      ['tftp', at(6)],
      ['ipxe-script', at(10)],
      ['kernel', at(12)],
      ['image', at(14)],
      ['overlays', at(15.5)],
      ['bootstrap', at(31)],
      ['agent-up', at(33)],
    ])
    expect(boot!.milestones.find((m) => m.milestone === 'tftp')?.detail).toBe('ipxe.efi')
    expect(boot!.transfers.tftp).toEqual({ bytes: 850528, total: 850528 })
    // Progress and heartbeats update counters, not the event list.
    expect(boot!.events.some((e) => e.step === 'progress' || e.step === 'heartbeat')).toBe(false)
    expect(readdirSync(join(dir, '52-54-00-1e-00-01'))).toEqual(['2026-11-26T12-00-00.000Z.json'])
  })

  it('a machine killed mid-download: that boot shows aborted with the bytes; its next power-on is a new boot', async () => {
    const { r } = recorder(() => 300)
    const cut = uefiBoot().slice(0, 9)
    cut.push(ev(13, 'image', 'progress', { bytes: 300_000, total: 1_056_816 }))
    cut.push(ev(14, 'image', 'aborted', { bytes: 300_000, total: 1_056_816 }))
    for (const e of [...cut, ...uefiBoot(200)]) r.record(e)
    const [again, killed] = await r.list(MAC)
    expect(killed).toMatchObject({ state: 'aborted', stage: 'kernel' })
    expect(killed!.problem).toContain('image stopped half-way (300000 of 1056816 bytes)')
    expect(again).toMatchObject({ state: 'up', startedAt: at(200) })
  })

  it('a machine nobody answers: DISCOVERs only, stalled after the quiet time with the next step to take', async () => {
    let now = 20
    const { r } = recorder(() => now)
    for (const s of [0, 4, 12]) r.record(ev(s, 'dhcp', 'discover', { clientType: 'iPXE', node: null }))
    expect((await r.list(MAC))[0]).toMatchObject({ state: 'running', stage: 'dhcp-discover' })
    now = 12 + 181
    const [stalled] = await r.list(MAC)
    expect(stalled).toMatchObject({ state: 'stalled', stage: 'dhcp-discover' })
    expect(stalled!.problem).toMatch(/^nothing for 181 s after dhcp-discover: DISCOVERs but no lease/)
  })

  it('a server restart mid-boot: the new recorder continues the boot from disk and notes the restart', async () => {
    const first = recorder(() => 11)
    const events = uefiBoot()
    for (const e of events.slice(0, 9)) first.r.record(e)
    await first.r.flush()
    const second = recorder(() => 40, first.dir)
    for (const e of events.slice(9)) second.r.record(e)
    const boots = await second.r.list(MAC)
    expect(boots).toHaveLength(1)
    expect(boots[0]).toMatchObject({ state: 'up', serverRestarts: [at(40)] })
    expect(boots[0]!.milestones.map((m) => m.milestone)).toContain('kernel')
  })

  it("a plain DHCP client that is no node starts no timeline; a node's plain DHCP and a PXE client do", async () => {
    const { r, dir } = recorder(() => 10)
    const phone = '02:00:00:00:00:99'
    for (const step of ['discover', 'offer', 'request', 'ack'])
      r.record(ev(1, 'dhcp', step, { mac: phone, node: null, clientType: 'plain DHCP', ip: '198.19.30.99' }))
    r.record(ev(2, 'dhcp', 'discover', { clientType: 'plain DHCP' })) // MAC of node v1
    r.record(ev(3, 'dhcp', 'discover', { mac: '02:00:00:00:00:98', node: null, clientType: 'BIOS PXE' }))
    expect(await r.list(phone)).toEqual([])
    expect(readdirSync(dir).sort()).toEqual(['02-00-00-00-00-98', '52-54-00-1e-00-01'])
    // Once a MAC has a timeline (its PXE boot), its plain DHCP events continue it.
    r.record(ev(4, 'dhcp', 'discover', { mac: '02:00:00:00:00:98', node: null, clientType: 'plain DHCP' }))
    const [pxe] = await r.list('02:00:00:00:00:98')
    expect(pxe!.events.map((e) => e.clientType)).toEqual(['BIOS PXE', 'plain DHCP'])
  })

  it('keeps a bounded number of boots per machine', async () => {
    const d = mkdtempSync(join(tmpdir(), 'rb-timeline-'))
    dirs.push(d)
    const r = new TimelineRecorder({ dir: d, logger: silentLogger, now: () => T0 + 9e6, keepPerMac: 3 })
    for (let i = 0; i < 5; i++) for (const e of uefiBoot(i * 1000)) r.record(e)
    const boots = await r.list(MAC, 10)
    expect(boots.map((b) => b.startedAt)).toEqual([at(4000), at(3000), at(2000)])
  })

  it('follows nodes and PXE clients only: plain DHCP strangers get no file, PXE strangers up to the cap', async () => {
    const d = mkdtempSync(join(tmpdir(), 'rb-timeline-'))
    dirs.push(d)
    const r = new TimelineRecorder({ dir: d, logger: silentLogger, now: () => T0, maxStrangers: 3 })
    const mac = (i: number) =>
      `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`
    // A load generator / phones: plain DHCP, not nodes. Thousands of them must not make thousands of directories.
    for (let i = 0; i < 2000; i++)
      for (const step of ['discover', 'offer', 'request', 'ack'])
        r.record(
          ev(0, 'dhcp', step, {
            mac: mac(i),
            node: null,
            clientType: 'plain DHCP',
            ip: `198.19.1.${i & 255}`,
          }),
        )
    // Unplanned PXE machines (capture candidates): followed, but only up to the cap.
    for (let i = 5000; i < 5010; i++)
      r.record(ev(0, 'dhcp', 'discover', { mac: mac(i), node: null, clientType: 'BIOS PXE' }))
    // A node is always followed, whatever its client says.
    for (const e of uefiBoot()) r.record(e)
    await r.flush()
    expect(readdirSync(d).sort()).toEqual(
      ['02-00-00-00-13-88', '02-00-00-00-13-89', '02-00-00-00-13-8a', '52-54-00-1e-00-01'].sort(),
    )
    expect(r.ignoredEvents).toBe(8000 + 7)
    expect((await r.list(MAC))[0]).toMatchObject({ state: 'up' })
  })

  it('a flood of progress events for one boot is folded in memory and written as one file with the last count', async () => {
    const { r, dir } = recorder(() => 5)
    r.record(ev(0, 'dhcp', 'discover', { clientType: 'iPXE' }))
    for (let i = 1; i <= 20_000; i++)
      r.record(ev(1, 'image', 'progress', { bytes: i * 100, total: 2_000_000 }))
    r.record(ev(2, 'image', 'done', { bytes: 2_000_000, total: 2_000_000 }))
    const [boot] = await r.list(MAC)
    expect(boot!.transfers.image).toEqual({ bytes: 2_000_000, total: 2_000_000 })
    expect(readdirSync(join(dir, '52-54-00-1e-00-01'))).toEqual(['2026-11-26T12-00-00.000Z.json'])
  })

  it('writes in batches (milestones within a quarter second, routine steps within two), failures and flush at once', async () => {
    const { r, dir } = recorder(() => 5)
    const onDisk = async () => (await readLatestBoot(dir, MAC))?.events.map((e) => e.step) ?? []
    // Every event recorded so far applied, and every save the timers started done (not flush(): it writes all).
    const applied = () => (r as unknown as { queue: Promise<void> }).queue
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      r.record(ev(0, 'dhcp', 'discover', { clientType: 'UEFI PXE' }))
      r.record(ev(0.01, 'dhcp', 'offer', { clientType: 'UEFI PXE', ip: '198.19.30.11' }))
      await applied()
      expect(await onDisk()).toEqual([])
      // The DISCOVER is a milestone: the batch (with the OFFER after it) is written 250 ms on.
      await vi.advanceTimersByTimeAsync(250)
      await applied()
      expect(await onDisk()).toEqual(['discover', 'offer'])
      // iPXE's DISCOVER is no new milestone: not after 250 ms, but within 2 s, with no other event.
      r.record(ev(9, 'dhcp', 'discover', { clientType: 'iPXE' }))
      await applied()
      await vi.advanceTimersByTimeAsync(250)
      await applied()
      expect(await onDisk()).toEqual(['discover', 'offer'])
      await vi.advanceTimersByTimeAsync(1750)
      await applied()
      expect(await onDisk()).toEqual(['discover', 'offer', 'discover'])
      // A routine REQUEST waits; a NAK (a failure) is written at once, with it.
      r.record(ev(9.1, 'dhcp', 'request', { clientType: 'iPXE' }))
      await applied()
      expect(await onDisk()).toEqual(['discover', 'offer', 'discover'])
      r.record(ev(9.2, 'dhcp', 'nak', { clientType: 'iPXE', detail: 'not yours' }))
      await applied()
      expect(await onDisk()).toEqual(['discover', 'offer', 'discover', 'request', 'nak'])
      // flush() writes at once, no timer needed.
      r.record(ev(9.3, 'dhcp', 'discover', { clientType: 'iPXE' }))
      await r.flush()
      expect(await onDisk()).toEqual(['discover', 'offer', 'discover', 'request', 'nak', 'discover'])
    } finally {
      vi.useRealTimers()
    }
  })

  it('in a storm (16 machines with unsaved changes) milestones wait the routine two seconds too', async () => {
    const { r, dir } = recorder(() => 5)
    const applied = () => (r as unknown as { queue: Promise<void> }).queue
    const macs = Array.from({ length: 16 }, (_, i) => `52:54:00:1e:01:${i.toString(16).padStart(2, '0')}`)
    const onDisk = async () =>
      (await Promise.all(macs.map((m) => readLatestBoot(dir, m)))).filter((b) => b !== null).length
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      // 15 DISCOVERs: a milestone each, written a quarter second on as before.
      for (const mac of macs.slice(0, 15))
        r.record(ev(0, 'dhcp', 'discover', { mac, node: null, clientType: 'BIOS PXE' }))
      await applied()
      await vi.advanceTimersByTimeAsync(250)
      await applied()
      expect(await onDisk()).toBe(15)
      // Then 16 at once with unsaved milestones (the 15 again, and a 16th machine): the next write is 2 s on.
      for (const mac of macs) r.record(ev(1, 'tftp', 'start', { mac, node: null, detail: 'undionly.kpxe' }))
      r.record(ev(1, 'dhcp', 'discover', { mac: macs[15]!, node: null, clientType: 'BIOS PXE' }))
      await applied()
      await vi.advanceTimersByTimeAsync(250)
      await applied()
      expect(await onDisk()).toBe(15)
      await vi.advanceTimersByTimeAsync(1750)
      await applied()
      expect(await onDisk()).toBe(16)
    } finally {
      vi.useRealTimers()
    }
  })

  it("an agent whose 'up' report was lost is up at its first heartbeat (a NIC that came up late)", async () => {
    const { r } = recorder(() => 100)
    const boot = uefiBoot().filter((e) => !(e.stage === 'agent' && e.step === 'up'))
    for (const e of boot) r.record(e)
    const [b] = await r.list(MAC)
    expect(b).toMatchObject({ state: 'up', stage: 'agent-up' })
    expect(b!.milestones.find((m) => m.milestone === 'agent-up')).toMatchObject({
      time: at(93),
      detail: 'first heartbeat',
    })
  })
})
