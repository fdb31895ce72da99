/**
 * A DISCOVER flood while capture mode is on (issue "Boot storm and fault campaign"): 10,000 DISCOVERs from
 * random MACs, first as plain DHCP clients, then as PXE ROMs, sent while 6 real (known) nodes boot and 4
 * planned slots wait for capture. Asserted: the real nodes boot with every byte right; plain clients never
 * take a slot; PXE clients take at most the one slot the guard window allows before capture pauses on the
 * ambiguity (capture.ts), whose candidate list stays capped; serve's memory stays bounded.
 * Namespaces rbst-f-*, addresses 198.19.80.0/22.
 */
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { missing } from '../support/env'
import { buildCli } from '../support/cli'
import { testStorm, type TestStorm } from '../support/storm'
import type { Serve } from '../../electron/core/sim/rig'
import { MAX_CANDIDATES, MAX_WAITING } from '../../electron/core/boot/capture'

const skip = missing({ root: true, commands: ['ip'] })
const NODES = 6
const SPARES = 4
const FLOOD = 10_000
/** Bound on serve's RSS growth over one flood: the pending-MAC lists are capped, offers expire. */
const RSS_GROWTH_LIMIT = 64 << 20

const rss = (pid: number) =>
  Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024

describe.skipIf(skip)('DISCOVER flood during capture', () => {
  let s: TestStorm
  let serve: Serve | null = null

  beforeAll(async () => {
    buildCli()
    s = testStorm('rbst-f', '198.19.80.0/22')
    await s.rig.up()
    await s.rig.prepare({
      nodes: NODES,
      firmwareMix: '1:1',
      inventory: 'known',
      spareSlots: SPARES,
      captureGuardSeconds: 10,
      synthetic: { kernelBytes: 256 << 10, imageBytes: 512 << 10 },
    })
    serve = await s.rig.startServe()
    await s.cli('capture', 'start')
  }, 120_000)
  afterAll(async () => {
    await serve?.stop('SIGKILL')
    await s?.close()
  })

  const spareMacs = () =>
    s
      .db()
      .nodes.filter((n) => n.name.startsWith('spare'))
      .flatMap((n) => n.macs)
  const flood = async (pxe: boolean) => {
    const before = rss(serve!.pid)
    const summary = await (
      await s.rig.startClients({
        deadlineMs: 180_000,
        maxBoots: 3,
        flood: { count: FLOOD, pxe, perSecond: 2000 },
      })
    ).done
    expect(summary.floodSent).toBe(FLOOD)
    expect(summary.failures).toEqual([])
    expect(summary.ok).toBe(NODES)
    // The server answered the flood too (OFFERs to MACs nobody waits for), so it was really received.
    expect(summary.dhcpWire.unmatched).toBeGreaterThan(0)
    expect(rss(serve!.pid) - before).toBeLessThan(RSS_GROWTH_LIMIT)
    return JSON.parse(await s.cli('capture', 'status', '--json')) as {
      active: boolean
      ambiguity: { candidates: string[] } | null
      waiting: string[]
    }
  }

  it(
    'plain DHCP clients in a flood never take a slot; real nodes still boot',
    { timeout: 240_000 },
    async () => {
      const status = await flood(false)
      expect(spareMacs()).toEqual([])
      expect(status.active).toBe(true)
      expect(status.ambiguity).toBeNull()
    },
  )

  it(
    'a PXE flood takes at most one slot, then capture pauses on a capped ambiguity',
    { timeout: 240_000 },
    async () => {
      const status = await flood(true)
      expect(spareMacs().length).toBeLessThanOrEqual(1)
      expect(status.ambiguity).not.toBeNull()
      expect(status.ambiguity!.candidates.length).toBeLessThanOrEqual(MAX_CANDIDATES)
      expect(status.waiting.length).toBeLessThanOrEqual(MAX_WAITING)
      // Real nodes are known: they never show up as candidates.
      const real = new Set(s.rig.nodes.map((n) => n.mac))
      expect(status.ambiguity!.candidates.filter((m) => real.has(m))).toEqual([])
    },
  )
})
