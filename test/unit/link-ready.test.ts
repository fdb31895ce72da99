/**
 * Waiting for freshly brought-up links to run (electron/core/net/link-ready.ts): the storm rig's wait before
 * it starts serve. The `ip -j addr show` fixtures are iproute2 6.1's own output for the rig's veth end (just
 * up, carrier marked) and a tap no QEMU has opened yet. The waits run on a fake clock and a fake probe.
 */
import { describe, expect, it } from 'vitest'
import {
  type Link,
  type LinkState,
  linkReady,
  parseIpAddrJson,
  waitForLinksReady,
} from '../../electron/core/net/link-ready'

const VETH_UP =
  '[{"ifindex":2,"link_index":2,"ifname":"rbqf-v0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"tbf","operstate":"UP","group":"default","txqlen":1000,"link_type":"ether","address":"32:b4:7b:eb:f2:e9","broadcast":"ff:ff:ff:ff:ff:ff","link_netnsid":0,"addr_info":[{"family":"inet","local":"198.19.216.1","prefixlen":22,"scope":"global","label":"rbqf-v0","valid_life_time":4294967295,"preferred_life_time":4294967295},{"family":"inet6","local":"fe80::30b4:7bff:feeb:f2e9","prefixlen":64,"scope":"link","valid_life_time":4294967295,"preferred_life_time":4294967295}]}]\n'
const TAP_NO_CARRIER =
  '[{"ifindex":4,"ifname":"rbqf-q1","flags":["NO-CARRIER","BROADCAST","MULTICAST","UP"],"mtu":1500,"qdisc":"pfifo_fast","master":"rbqf-br","operstate":"DOWN","group":"default","txqlen":1000,"link_type":"ether","address":"aa:57:07:29:74:6c","broadcast":"ff:ff:ff:ff:ff:ff","addr_info":[]}]\n'

describe('ip -j addr show', () => {
  it('reads operstate and the IPv4 addresses only', () => {
    expect(parseIpAddrJson(VETH_UP)).toEqual({ ok: true, value: { operstate: 'UP', ipv4: ['198.19.216.1'] } })
    expect(parseIpAddrJson(TAP_NO_CARRIER)).toEqual({ ok: true, value: { operstate: 'DOWN', ipv4: [] } })
  })
  it('returns an error, never throws, on anything else', () => {
    for (const bad of [
      '',
      'Device "x" does not exist.',
      '{}',
      '[]',
      '[{"ifname":"x"}]',
      `[${'{"operstate":"UP"},'.repeat(2)}1]`,
    ])
      expect(parseIpAddrJson(bad).ok).toBe(false)
    expect(parseIpAddrJson('[{"operstate":"UP"},{"operstate":"UP"}]')).toEqual({
      ok: false,
      error: 'ip -j addr show: 2 links, not one',
    })
  })
  it('counts UP and UNKNOWN as running, with the address when one is asked for', () => {
    expect(linkReady({ operstate: 'UP', ipv4: ['198.19.216.1'] }, '198.19.216.1')).toBe(true)
    expect(linkReady({ operstate: 'UNKNOWN', ipv4: [] })).toBe(true)
    expect(linkReady({ operstate: 'UP', ipv4: [] }, '198.19.216.1')).toBe(false)
    expect(linkReady({ operstate: 'DOWN', ipv4: ['198.19.216.1'] }, '198.19.216.1')).toBe(false)
    expect(linkReady({ operstate: 'LOWERLAYERDOWN', ipv4: [] })).toBe(false)
    expect(linkReady(null)).toBe(false)
  })
})

/** A probe answering from a script per link (its last answer repeats), on a clock only sleep() moves. */
function fakeLinks(script: Record<string, Array<LinkState | null>>) {
  let clock = 0
  const calls: string[] = []
  const probe = async (link: Link) => {
    calls.push(link.dev)
    const answers = script[link.dev]!
    return answers.length > 1 ? answers.shift()! : answers[0]!
  }
  const sleep = async (ms: number) => void (clock += ms)
  return { deps: { probe, sleep, now: () => clock }, calls, elapsed: () => clock }
}

const SRV: Link = { namespace: 'rbqf-srv', dev: 'rbqf-v0', address: '198.19.216.1' }
const CLI: Link = { namespace: 'rbqf-cli', dev: 'rbqf-br', address: '198.19.216.2' }
const down = (ipv4: string[]): LinkState => ({ operstate: 'DOWN', ipv4 })

describe('waitForLinksReady', () => {
  it('waits for a link the kernel has not marked running yet, then for the next', async () => {
    // The CI failure: up, address on, operstate still DOWN for a while after `ip link set up`.
    const f = fakeLinks({
      'rbqf-v0': [
        down(['198.19.216.1']),
        down(['198.19.216.1']),
        { operstate: 'UP', ipv4: ['198.19.216.1'] },
      ],
      'rbqf-br': [
        { operstate: 'UP', ipv4: [] },
        { operstate: 'UP', ipv4: ['198.19.216.2'] },
      ],
    })
    await waitForLinksReady([SRV, CLI], f.deps, { intervalMs: 25 })
    expect(f.calls).toEqual(['rbqf-v0', 'rbqf-v0', 'rbqf-v0', 'rbqf-br', 'rbqf-br'])
    expect(f.elapsed()).toBe(3 * 25)
  })
  it('returns at once when every link already runs', async () => {
    const f = fakeLinks({ 'rbqf-v0': [{ operstate: 'UP', ipv4: ['198.19.216.1'] }] })
    await waitForLinksReady([SRV], f.deps)
    expect(f.calls).toEqual(['rbqf-v0'])
    expect(f.elapsed()).toBe(0)
  })
  it('gives up after the timeout saying what it saw and how to look', async () => {
    const f = fakeLinks({ 'rbqf-v0': [down(['198.19.216.1'])] })
    const e = await waitForLinksReady([SRV], f.deps, { timeoutMs: 1000, intervalMs: 100 }).catch(
      (x: unknown) => x,
    )
    expect(e).toMatchObject({
      code: 'link-not-ready',
      message: 'rbqf-srv: link rbqf-v0 is not ready after 1 s: operstate DOWN, 198.19.216.1',
      hint: 'look with: ip -n rbqf-srv addr show dev rbqf-v0',
    })
    expect(f.calls.length).toBe(11)
  })
  it('names a missing link and a missing address apart', async () => {
    const gone = fakeLinks({ 'rbqf-v0': [null] })
    await expect(waitForLinksReady([SRV], gone.deps, { timeoutMs: 100 })).rejects.toThrow(
      /rbqf-srv: link rbqf-v0 is not ready after 0 s: it does not exist/,
    )
    const bare = fakeLinks({ 'rbqf-v0': [{ operstate: 'UP', ipv4: ['198.19.216.9'] }] })
    await expect(waitForLinksReady([SRV], bare.deps, { timeoutMs: 100 })).rejects.toThrow(
      /operstate UP, 198\.19\.216\.9 \(expected 198\.19\.216\.1\)/,
    )
  })
  it('is bounded in probes even when the clock does not move', async () => {
    let probes = 0
    const e = await waitForLinksReady(
      [SRV],
      { probe: async () => (probes++, null), sleep: async () => undefined, now: () => 0 },
      { timeoutMs: 500, intervalMs: 50 },
    ).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(Error)
    expect(probes).toBe(11)
  })
})
