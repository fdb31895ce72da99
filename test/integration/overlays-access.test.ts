/**
 * The overlays and the agent route over loopback: every node gets its own 127.0.0.x (loopback is /8), and
 * requests leave from that address (localAddress) and, for the runtime overlay, a privileged port (root).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { execFileSync } from 'node:child_process'
import { request } from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { Rackboot } from '../../electron/core/rackboot'
import { inventoryResolver, type InventoryResolver } from '../../electron/core/boot/resolver'
import { startProvisioningServer, type ProvisioningServer } from '../../electron/core/boot/http/server'
import { OverlayCache } from '../../electron/core/images/overlays/cache'
import type { AgentReport } from '../../electron/core/images/bootstrap/report'
import { silentLogger } from '../../electron/core/util/logger'
import { toInventoryImage } from '../../electron/core/images/manifest'
import { missing } from '../support/env'

const skip = missing({ root: true, commands: ['cpio'] })

let dir = ''
let core: Rackboot
let server: ProvisioningServer
let resolver: InventoryResolver
const reports: Array<{ mac: string; report: AgentReport; node: string }> = []
let nextPort = 900

interface Reply {
  status: number
  body: Buffer
}

function send(
  path: string,
  o: {
    from: string
    port?: number
    method?: string
    body?: string | Buffer
    headers?: Record<string, string>
  },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.url}${path}`,
      {
        method: o.method ?? 'GET',
        localAddress: o.from,
        localPort: o.port,
        agent: false,
        headers: o.headers,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }))
      },
    )
    req.on('error', reject)
    req.end(o.body)
  })
}
const text = (r: Reply) => r.body.toString().trim()
const cpioList = (gz: Buffer) =>
  execFileSync('cpio', ['-t', '--quiet'], { input: gunzipSync(gz) })
    .toString()
    .trim()
    .split('\n')

beforeAll(async () => {
  if (skip) return
  dir = mkdtempSync(join(tmpdir(), 'rackboot-ovacc-'))
  core = await Rackboot.open({ dataDir: join(dir, 'data'), logger: silentLogger })
  // This test drives its own resolver and cache over the core's overlay directory: the core's own
  // builder would race it with other inputs (no HTTP address), so it stays off.
  await core.overlayPrebuild.stop()
  writeFileSync(join(dir, 'vmlinuz'), 'kernel bytes')
  writeFileSync(join(dir, 'initrd'), 'initrd bytes')
  const m = await core.images.importKernelInitrd('rescue', {
    kernel: join(dir, 'vmlinuz'),
    initrd: join(dir, 'initrd'),
  })
  await core.store.update((db) => void db.images.push(toInventoryImage(m)))
  await core.repo.addNode({ name: 'n1', mac: '52:54:00:00:00:01', ip: '127.0.0.2', image: 'rescue' })
  await core.repo.addNode({ name: 'n2', mac: '52:54:00:00:00:02', ip: '127.0.0.3' })
  await core.repo.addNode({ name: 'n3', mac: '52:54:00:00:00:03', ip: '127.0.0.4' })
  await core.repo.addNode({ name: 'n4', mac: '52:54:00:00:00:04' })
  await core.store.update((db) => {
    db.nodes.find((n) => n.name === 'n3')!.assetKey = 'tag-3'
  })
  resolver = inventoryResolver(core.repo, core.images, () => core.supervisor.status(), {
    overlays: new OverlayCache({ root: join(dir, 'data', 'overlays'), keyGenerator: 'node' }),
    serverUrl: () => server.url,
    onAgentReport: (mac, report, node) => reports.push({ mac, report, node }),
  })
  server = await startProvisioningServer({ host: '127.0.0.1', port: 0, resolver, logger: silentLogger })
})
afterAll(async () => {
  await server?.close()
  await core?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe.skipIf(skip)('overlay secrets', () => {
  it('system overlay: served to the node, refused to another node and to a node without a reserved address', async () => {
    const mine = await send('/system/52-54-00-00-00-01', { from: '127.0.0.2' })
    expect(mine.status).toBe(200)
    expect(cpioList(mine.body)).toContain('etc/ssh/ssh_host_ed25519_key')
    const theirs = await send('/system/52-54-00-00-00-01', { from: '127.0.0.3' })
    expect(theirs.status).toBe(403)
    expect(text(theirs)).toBe('system overlay of node n1 is served only to 127.0.0.2, not 127.0.0.3')
    // The old-style URL goes through the same check.
    expect((await send('/provision/52-54-00-00-00-01?stage=system', { from: '127.0.0.3' })).status).toBe(403)
    const none = await send('/system/52-54-00-00-00-04', { from: '127.0.0.1' })
    expect(none.status).toBe(403)
    expect(text(none)).toMatch(/node n4 has no reserved IPv4/)
  })

  it('runtime overlay: only from a privileged source port of the node', async () => {
    const high = await send('/runtime/52-54-00-00-00-01', { from: '127.0.0.2' })
    expect(high.status).toBe(403)
    expect(text(high)).toMatch(/privileged source port \(< 1024, root on the node\), not \d+/)
    const low = await send('/runtime/52-54-00-00-00-01', { from: '127.0.0.2', port: nextPort++ })
    expect(low.status).toBe(200)
    expect(cpioList(low.body)).toEqual(['etc', 'etc/rackboot', 'etc/rackboot/runtime.json'])
    const otherLow = await send('/runtime/52-54-00-00-00-01', { from: '127.0.0.3', port: nextPort++ })
    expect(otherLow.status).toBe(403)
  })

  it('asset key: needed with the right address, and the right address still needed with the key', async () => {
    expect((await send('/system/52-54-00-00-00-03', { from: '127.0.0.4' })).status).toBe(403)
    expect((await send('/system/52-54-00-00-00-03?assetkey=nope', { from: '127.0.0.4' })).status).toBe(403)
    expect((await send('/system/52-54-00-00-00-03?assetkey=tag-3', { from: '127.0.0.4' })).status).toBe(200)
    expect((await send('/system/52-54-00-00-00-03?assetkey=tag-3', { from: '127.0.0.2' })).status).toBe(403)
  })

  it('the iPXE script loads the system overlay and leaves the runtime overlay to the agent', async () => {
    const script = text(await send('/ipxe/52-54-00-00-00-01', { from: '127.0.0.2' }))
    expect(script).toContain('initrd --name system ')
    expect(script).not.toContain('initrd --name runtime')
  })
})

describe.skipIf(skip)('POST /agent/:mac', () => {
  const json = { 'Content-Type': 'application/json' }
  const report = {
    stage: 'up',
    hostname: 'n2',
    cpus: 4,
    memoryKiB: 2048,
    disks: [],
    nics: [],
    dmi: { vendor: 'QEMU', model: 'pc', serial: 'S1' },
  }

  it('takes a valid report from the node: state up, kept in memory, lead callback called', async () => {
    const r = await send('/agent/52-54-00-00-00-02', {
      from: '127.0.0.3',
      method: 'POST',
      body: JSON.stringify(report),
      headers: json,
    })
    expect(r.status).toBe(200)
    expect(core.repo.nodeByMac('52:54:00:00:00:02')?.state).toBe('up')
    expect(reports.at(-1)).toMatchObject({
      mac: '52:54:00:00:00:02',
      node: 'n2',
      report: { stage: 'up', cpus: 4 },
    })
    expect(resolver.agentReports().get('52:54:00:00:00:02')?.report.dmi?.serial).toBe('S1')
    const status = resolver.status() as {
      nodes: Array<{ name: string; lastSeen: string | null; agent: { stage: string } | null }>
    }
    expect(status.nodes.find((n) => n.name === 'n2')?.lastSeen).toMatch(/^\d{4}-\d\d-\d\dT/)
    expect(status.nodes.find((n) => n.name === 'n1')?.lastSeen).toBeNull()
    expect(status.nodes.find((n) => n.name === 'n2')?.agent).toMatchObject({ stage: 'up', cpus: 4 })
    expect(status.nodes.find((n) => n.name === 'n1')?.agent).toBeNull()
    const failed = await send('/agent/52-54-00-00-00-02', {
      from: '127.0.0.3',
      method: 'POST',
      body: '{"stage":"init-failed","message":"no init"}',
    })
    expect(failed.status).toBe(200)
    expect(core.repo.nodeByMac('52:54:00:00:00:02')?.state).toBe('failed')
  })

  it.each([
    ['bad JSON', '/agent/52-54-00-00-00-02', '127.0.0.3', '{"stage":', 400, /report is not JSON/],
    [
      'a field the schema lacks',
      '/agent/52-54-00-00-00-02',
      '127.0.0.3',
      '{"stage":"up","root":true}',
      400,
      /does not match the agent schema/,
    ],
    [
      'an oversize body',
      '/agent/52-54-00-00-00-02',
      '127.0.0.3',
      'x'.repeat(70 * 1024),
      413,
      /limit is 65536/,
    ],
    [
      'an unknown MAC',
      '/agent/52-54-00-00-00-99',
      '127.0.0.3',
      '{"stage":"up"}',
      404,
      /not assigned to a node/,
    ],
    [
      "another node's address",
      '/agent/52-54-00-00-00-02',
      '127.0.0.2',
      '{"stage":"up"}',
      403,
      /only from its reserved IPv4 127.0.0.3, not 127.0.0.2/,
    ],
    [
      'a node without an address',
      '/agent/52-54-00-00-00-04',
      '127.0.0.1',
      '{"stage":"up"}',
      403,
      /\(none assigned\)/,
    ],
    ['a missing asset key', '/agent/52-54-00-00-00-03', '127.0.0.4', '{"stage":"up"}', 403, /asset key/],
    ['a bad MAC', '/agent/nope', '127.0.0.3', '{"stage":"up"}', 400, /MAC/i],
    ['a POST elsewhere', '/ipxe/52-54-00-00-00-02', '127.0.0.3', '{}', 405, /POST only to \/agent/],
  ])('refuses %s', async (_, path, from, body, status, reason) => {
    const before = reports.length
    const r = await send(path, { from, method: 'POST', body, headers: json })
    expect(r.status).toBe(status)
    expect(text(r)).toMatch(reason)
    expect(reports.length).toBe(before)
  })

  it('an oversize body without Content-Length (chunked) is cut off too', async () => {
    const r = await new Promise<Reply>((resolve, reject) => {
      const req = request(
        `${server.url}/agent/52-54-00-00-00-02`,
        { method: 'POST', localAddress: '127.0.0.3', agent: false },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }))
        },
      )
      req.on('error', reject)
      for (let i = 0; i < 9; i++) req.write('y'.repeat(8 * 1024))
      req.end()
    })
    expect(r.status).toBe(413)
  })
})
