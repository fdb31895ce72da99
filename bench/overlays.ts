/**
 * First-boot overlay cost: builds the system overlay of N nodes at once (as a cold boot storm does on the
 * script request), with each host key generator, on empty caches. Prints wall time and per-node figures.
 *   npm run bench:overlays [-- --nodes 200]
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { OverlayCache } from '../electron/core/images/overlays/cache'
import type { KeyGenerator } from '../electron/core/images/overlays/hostkeys'
import type { OverlayInputs } from '../electron/core/images/overlays/templates'

const arg = process.argv.indexOf('--nodes')
const n = arg > 0 ? Number(process.argv[arg + 1]) : 200
if (!Number.isInteger(n) || n < 1 || n > 5000)
  throw new Error(`--nodes wants 1..5000, got ${process.argv[arg + 1]}`)

const names = Array.from({ length: n }, (_, k) => `n${k + 1}`)
const nodes = names.map((name, k) => ({
  name,
  ipv4: `198.18.${Math.floor((k + 10) / 250)}.${((k + 10) % 250) + 1}`,
}))
const inputs = (k: number): OverlayInputs => ({
  node: {
    name: names[k]!,
    macs: [
      `52:54:00:00:${(k >> 8).toString(16).padStart(2, '0')}:${(k & 255).toString(16).padStart(2, '0')}`,
    ],
    ipv4: nodes[k]!.ipv4,
    assetKey: null,
  },
  nodes,
  settings: { subnet: '198.18.0.0/15', gateway: '198.18.0.1', dns: ['198.18.0.1'], domain: 'lab' },
  authorizedKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample admin@desk'],
  runtimeOverlays: [],
  runtimeFiles: [],
  serverUrl: 'http://198.18.0.1:9873',
})

async function run(generator: KeyGenerator, warm: boolean): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'rackboot-bench-ov-'))
  try {
    const cache = new OverlayCache({ root, keyGenerator: generator })
    const lat: number[] = []
    const t0 = performance.now()
    await Promise.all(
      names.map(async (_, k) => {
        const s = performance.now()
        await cache.path('system', inputs(k))
        lat.push(performance.now() - s)
      }),
    )
    const wall = performance.now() - t0
    let again = 0
    if (warm) {
      const t1 = performance.now()
      await Promise.all(names.map((_, k) => cache.path('system', inputs(k))))
      again = performance.now() - t1
    }
    lat.sort((a, b) => a - b)
    const q = (p: number) => (lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]! / 1000).toFixed(2)
    console.log(
      `${generator.padEnd(10)} nodes ${n}: cold all-at-once ${(wall / 1000).toFixed(2)} s, per request p50 ${q(0.5)} s p95 ${q(0.95)} s` +
        (warm ? `; cached again ${(again / 1000).toFixed(2)} s` : ''),
    )
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

for (const g of ['ssh-keygen', 'node'] as const) await run(g, true)
