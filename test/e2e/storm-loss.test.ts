/**
 * Boot storm over a lossy link (issue "Boot storm and fault campaign"): iptables in the client namespace drops
 * 1 % and then 5 % of packets at random in both directions (`-m statistic --mode random`), so DHCP, lock-step
 * TFTP and HTTP all lose packets. Every simulated machine must still boot with every file's sha256 right.
 * The drop counters prove the loss happened. Namespaces rbst-l-*, addresses 198.19.72.0/22.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { missing } from '../support/env'
import { buildCli } from '../support/cli'
import { testStorm, type TestStorm } from '../support/storm'
import type { Serve } from '../../electron/core/sim/rig'

const skip = missing({ root: true, commands: ['ip', 'iptables'] })
const NODES = 10

describe.skipIf(skip)('boot storm on a lossy link', () => {
  let s: TestStorm
  let serve: Serve | null = null

  beforeAll(async () => {
    buildCli()
    s = testStorm('rbst-l', '198.19.72.0/22')
    await s.rig.up()
    await s.rig.prepare({
      nodes: NODES,
      firmwareMix: '1:1',
      inventory: 'known',
      synthetic: { kernelBytes: 512 << 10, imageBytes: 1 << 20 },
    })
    serve = await s.rig.startServe()
  }, 120_000)
  afterAll(async () => {
    await serve?.stop('SIGKILL')
    await s?.close()
  })

  const dropped = async (): Promise<number> => {
    const out = await s.rig.exec('cli', ['iptables', '-w', '-L', '-v', '-x', '-n'])
    return out
      .split('\n')
      .filter((l) => / DROP /.test(l))
      .reduce((a, l) => a + Number(l.trim().split(/\s+/)[0] ?? 0), 0)
  }

  for (const percent of [1, 5])
    it(
      `every transfer completes with correct checksums at ${percent} % loss`,
      { timeout: 240_000 },
      async () => {
        const p = String(percent / 100)
        await s.rig.exec('cli', ['iptables', '-w', '-F'])
        for (const chain of ['INPUT', 'OUTPUT'])
          await s.rig.exec('cli', [
            'iptables',
            '-w',
            '-A',
            chain,
            '-m',
            'statistic',
            '--mode',
            'random',
            '--probability',
            p,
            '-j',
            'DROP',
          ])
        const clients = await s.rig.startClients({ deadlineMs: 200_000, maxBoots: 6 })
        const summary = await clients.done
        expect(summary.failures).toEqual([])
        expect(summary.ok).toBe(NODES)
        expect(summary.sharedIps).toEqual([])
        expect(await dropped()).toBeGreaterThan(0)
      },
    )
})
