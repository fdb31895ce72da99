/**
 * The boot interface goes away and comes back (issue "Boot storm and fault campaign"): while `rackboot serve`
 * runs, its interface is set down (then, second round, loses its address). The stack must close its
 * sockets and say why, then bind again by itself once the interface is back, and a storm must boot against
 * the same serve process, never restarted. Namespaces rbst-i-*, addresses 198.19.76.0/22.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { missing } from '../support/env'
import { buildCli } from '../support/cli'
import { testStorm, type TestStorm } from '../support/storm'
import type { Serve } from '../../electron/core/sim/rig'

const skip = missing({ root: true, commands: ['ip', 'ss'] })
const NODES = 6

describe.skipIf(skip)('boot interface down and back', () => {
  let s: TestStorm
  let serve: Serve | null = null

  beforeAll(async () => {
    buildCli()
    s = testStorm('rbst-i', '198.19.76.0/22')
    await s.rig.up()
    await s.rig.prepare({
      nodes: NODES,
      firmwareMix: '1:1',
      inventory: 'known',
      synthetic: { kernelBytes: 256 << 10, imageBytes: 512 << 10 },
    })
    serve = await s.rig.startServe()
  }, 120_000)
  afterAll(async () => {
    await serve?.stop('SIGKILL')
    await s?.close()
  })

  const listening = async (): Promise<string[]> => {
    const udp = await s.rig.exec('srv', ['ss', '-Hlnu'])
    const tcp = await s.rig.exec('srv', ['ss', '-Hlnt'])
    const ports: string[] = []
    if (/[:*]67\s/.test(udp)) ports.push('dhcp')
    if (/:69\s/.test(udp)) ports.push('tftp')
    if (/:9873\s/.test(tcp)) ports.push('http')
    return ports
  }
  const waitFor = async (what: string, check: () => Promise<boolean>) => {
    for (let i = 0; i < 300; i++) {
      if (await check()) return
      await new Promise((r) => setTimeout(r, 100))
    }
    throw new Error(`timed out waiting for ${what}; serve said:\n${serve!.output().slice(-3000)}`)
  }
  const storm = async () => {
    const summary = await (await s.rig.startClients({ deadlineMs: 120_000, maxBoots: 3 })).done
    expect(summary.failures).toEqual([])
    expect(summary.ok).toBe(NODES)
  }

  it(
    'stops answering while the interface is gone and resumes without a restart',
    { timeout: 240_000 },
    async () => {
      const pid = serve!.pid
      await storm()
      expect(await listening()).toEqual(['dhcp', 'tftp', 'http'])
      const cidr = `${s.rig.serverIp}/${s.rig.prefixLen}`
      const rounds: Array<{ name: string; down: string[]; up: string[]; reason: RegExp }> = [
        {
          name: 'link down',
          down: ['ip', 'link', 'set', s.rig.srvIf, 'down'],
          up: ['ip', 'link', 'set', s.rig.srvIf, 'up'],
          reason: /interface rbst-i-v0 is (down|lowerlayerdown)/,
        },
        {
          name: 'address removed',
          down: ['ip', 'addr', 'del', cidr, 'dev', s.rig.srvIf],
          up: ['ip', 'addr', 'add', cidr, 'dev', s.rig.srvIf],
          reason: /interface rbst-i-v0 has no IPv4 address/,
        },
      ]
      for (const round of rounds) {
        const before = serve!.output().length
        await s.rig.exec('srv', round.down)
        await waitFor(`${round.name}: sockets closed`, async () => (await listening()).length === 0)
        expect(serve!.output().slice(before)).toMatch(round.reason)
        await s.rig.exec('srv', round.up)
        await waitFor(`${round.name}: sockets back`, async () => (await listening()).length === 3)
        expect(serve!.output().slice(before)).toMatch(/is back: the boot stack answers again/)
        await storm()
      }
      // The same process all along.
      expect(serve!.pid).toBe(pid)
      expect(() => process.kill(pid, 0)).not.toThrow()
    },
  )
})
