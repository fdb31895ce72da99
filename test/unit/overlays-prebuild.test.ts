/**
 * Overlays built ahead of a node's first boot: only the nodes whose inputs changed, a bounded number at once,
 * stopped with the core; and the inputs match the request path's, so the first request finds them cached.
 */
import { describe, it, expect, afterEach } from 'vitest'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { OverlayKind } from '../../electron/core/images/overlays/cache'
import { OverlayPrebuilder } from '../../electron/core/images/overlays/prebuild'
import type { OverlayInputs } from '../../electron/core/images/overlays/templates'
import { Rackboot } from '../../electron/core/rackboot'
import type { Logger } from '../../electron/core/util/logger'
import { missing } from '../support/env'

const dirs: string[] = []
const tmp = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), p))
  dirs.push(d)
  return d
}
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const nodes = [1, 2, 3, 4, 5].map((k) => ({ name: `n${k}`, ipv4: `198.18.0.${10 + k}` }))
const settings = { subnet: '198.18.0.0/24', gateway: '198.18.0.1', dns: ['198.18.0.1'], domain: 'lab' }
const inputsOf = (count: number, domain = 'lab'): OverlayInputs[] => {
  const s = { ...settings, domain }
  return nodes.slice(0, count).map((n, k) => ({
    node: { name: n.name, macs: [`52:54:00:00:00:0${k + 1}`], ipv4: n.ipv4, assetKey: null },
    nodes,
    settings: s,
    authorizedKeys: [],
    runtimeOverlays: [],
    runtimeFiles: [],
    serverUrl: 'http://198.18.0.1:9873',
  }))
}

/** A cache stand-in that records calls and how many ran at once. */
function recordingCache(fail = () => false) {
  const calls: string[] = []
  let now = 0
  let most = 0
  const releases: Array<() => void> = []
  return {
    calls,
    most: () => most,
    releaseAll: () => {
      for (const r of releases.splice(0)) r()
    },
    cache: {
      path: async (kind: OverlayKind, i: OverlayInputs) => {
        calls.push(`${i.node.name}/${kind}`)
        now++
        most = Math.max(most, now)
        await new Promise<void>((resolve) => releases.push(resolve))
        now--
        if (fail()) throw new Error('disk full')
        return `/x/${i.node.name}/${kind}`
      },
    },
  }
}

/** Lets the held builds go until the builder is idle (bounded: each round releases at least one). */
async function drain(p: OverlayPrebuilder, c: ReturnType<typeof recordingCache>): Promise<void> {
  let done = false
  const idle = p.idle().then(() => (done = true))
  for (let round = 0; round < 100 && !done; round++) {
    c.releaseAll()
    await new Promise((r) => setTimeout(r, 5))
  }
  await idle
}

describe('overlay prebuilder', () => {
  it('builds every node once, at most `concurrency` at a time, and again only the changed ones', async () => {
    const c = recordingCache()
    let current = inputsOf(5)
    const p = new OverlayPrebuilder({ cache: c.cache, inputs: () => current, concurrency: 2, debounceMs: 1 })
    cleanups.push(() => p.stop())
    p.schedule()
    p.schedule() // a burst of changes is one pass
    await drain(p, c)
    expect(c.calls.slice().sort()).toEqual(
      nodes.flatMap((n) => [`${n.name}/runtime`, `${n.name}/system`]).sort(),
    )
    expect(c.most()).toBe(2)

    // Nothing changed (a lease, a node state): no work.
    c.calls.length = 0
    p.schedule()
    await drain(p, c)
    expect(c.calls).toEqual([])

    // One node's address changes: that node again, and every node whose /etc/hosts lists it.
    current = inputsOf(5)
    current[2] = { ...current[2]!, node: { ...current[2]!.node, ipv4: '198.18.0.99' } }
    p.schedule()
    await drain(p, c)
    expect(c.calls).toEqual(['n3/system', 'n3/runtime'])
  })

  it('retries a node whose build failed at the next change; stop() drops the queue and ends scheduling', async () => {
    let failing = true
    const warnings: string[] = []
    const logger: Logger = { info() {}, warn: (m) => warnings.push(m), error() {} }
    const c = recordingCache(() => failing)
    const p = new OverlayPrebuilder({ cache: c.cache, inputs: () => inputsOf(1), debounceMs: 1, logger })
    p.schedule()
    await drain(p, c)
    expect(warnings.join('\n')).toMatch(/n1's overlays ahead failed: disk full; its first boot request/)

    failing = false
    c.calls.length = 0
    p.schedule()
    await drain(p, c)
    expect(c.calls).toEqual(['n1/system', 'n1/runtime'])

    const q = new OverlayPrebuilder({
      cache: c.cache,
      inputs: () => inputsOf(5),
      concurrency: 1,
      debounceMs: 1,
    })
    c.calls.length = 0
    q.schedule()
    for (let k = 0; k < 100 && c.calls.length === 0; k++) await new Promise((r) => setTimeout(r, 5))
    expect(c.calls).toEqual(['n1/system'])
    const stopped = q.stop()
    c.releaseAll()
    await stopped
    q.schedule()
    await new Promise((r) => setTimeout(r, 30))
    expect(c.calls).toEqual(['n1/system'])
    await q.idle()
  })
})

describe('overlay prebuilder under a steady stream of changes', () => {
  it('still makes a pass once 10 quiet periods have gone by since the first change', async () => {
    const c = recordingCache()
    let t = 0
    const p = new OverlayPrebuilder({
      cache: c.cache,
      inputs: () => inputsOf(1),
      debounceMs: 20,
      now: () => t,
    })
    cleanups.push(() => p.stop())
    // A change every 5 ms (by the injected clock) would postpone a pure quiet-period debounce for ever.
    for (let k = 0; k < 200 && c.calls.length === 0; k++) {
      p.schedule()
      t += 5
      await new Promise((r) => setTimeout(r, 5))
    }
    expect(c.calls).toEqual(['n1/system'])
    await drain(p, c)
  })
})

describe('overlay prebuilder while machines power on', () => {
  it('builds nothing while busy, builds once the traffic ends; a node that asks meanwhile is built on demand', async () => {
    const c = recordingCache()
    let busy = true
    const p = new OverlayPrebuilder({
      cache: c.cache,
      inputs: () => inputsOf(2),
      debounceMs: 1,
      busy: () => busy,
      yieldCheckMs: 2,
    })
    cleanups.push(() => p.stop())
    p.schedule()
    for (let k = 0; k < 20; k++) await new Promise((r) => setTimeout(r, 5))
    expect(c.calls).toEqual([])
    busy = false
    await drain(p, c)
    expect(c.calls.slice().sort()).toEqual(['n1/runtime', 'n1/system', 'n2/runtime', 'n2/system'])
  })

  it('waits at most maxYieldMs for the traffic to end (a DHCP flood never does)', async () => {
    const c = recordingCache()
    let t = 0
    const p = new OverlayPrebuilder({
      cache: c.cache,
      inputs: () => inputsOf(1),
      debounceMs: 1,
      busy: () => true,
      maxYieldMs: 100,
      yieldCheckMs: 2,
      now: () => t,
    })
    cleanups.push(() => p.stop())
    p.schedule()
    for (let k = 0; k < 10; k++) await new Promise((r) => setTimeout(r, 5))
    expect(c.calls).toEqual([])
    t += 100
    for (let k = 0; k < 100 && c.calls.length === 0; k++) await new Promise((r) => setTimeout(r, 5))
    expect(c.calls).toEqual(['n1/system'])
    await drain(p, c)
  })

  it('stop() while waiting leaves no timer behind and idle() resolves', async () => {
    const c = recordingCache()
    const p = new OverlayPrebuilder({
      cache: c.cache,
      inputs: () => inputsOf(1),
      debounceMs: 1,
      busy: () => true,
      yieldCheckMs: 2,
    })
    p.schedule()
    for (let k = 0; k < 5; k++) await new Promise((r) => setTimeout(r, 5))
    await p.stop()
    await p.idle()
    expect(c.calls).toEqual([])
  })
})

const skip = missing({ commands: ['cpio'] })

describe.skipIf(skip)('overlays built ahead by the core', () => {
  it('with the stack up, a node has its overlays and host key before its first request, which builds nothing', async () => {
    const dir = tmp('rackboot-prebuild-')
    const files = join(dir, 'files')
    mkdirSync(files)
    const built: string[] = []
    const logger: Logger = {
      info: (m) => void (m.startsWith('overlay: built') && built.push(m)),
      warn() {},
      error() {},
    }
    const core = await Rackboot.open({ dataDir: join(dir, 'data'), logger })
    cleanups.push(() => core.close())
    await core.repo.addNode({ name: 'n1', mac: '52:54:00:00:00:01', ip: '127.0.0.1' })
    await core.overlayPrebuild.idle()
    // Not before the stack runs: the overlays carry its HTTP address.
    expect(built).toEqual([])
    expect((await core.startStack({ httpPort: 0, tftpPort: 0, filesRoot: files, ipxeRoots: [] })).state).toBe(
      'running',
    )
    await core.repo.addNode({ name: 'n2', mac: '52:54:00:00:00:02', ip: '127.0.0.2' })
    await core.overlayPrebuild.idle()
    for (const n of ['n1', 'n2']) {
      expect(existsSync(join(dir, `data/overlays/${n}/system.cpio.gz`))).toBe(true)
      expect(existsSync(join(dir, `data/overlays/${n}/runtime.cpio.gz`))).toBe(true)
      expect(existsSync(join(dir, `data/overlays/${n}/hostkeys/ssh_host_ed25519_key`))).toBe(true)
    }
    const before = built.length

    // The node's first boot: the iPXE script and the system overlay over HTTP, from the node's address.
    const http = core.supervisor.httpUrl()!
    const script = await fetch(`${http}/ipxe/52-54-00-00-00-01?platform=efi`)
    expect(script.status).toBe(200)
    await script.text()
    const overlay = await fetch(`${http}/system/52:54:00:00:00:01`)
    expect(overlay.status).toBe(200)
    expect(Buffer.from(await overlay.arrayBuffer()).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]))
    expect(built.length).toBe(before)
  })
})
