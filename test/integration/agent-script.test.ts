/**
 * The real node agent (busybox sh and its applets: wget, nc, cpio, gzip, sha256sum) against the real
 * provisioning server on loopback. The node's reserved address is 127.0.0.1, where loopback connections
 * come from; the agent fetches the runtime overlay from privileged port 987 (root).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Rackboot } from '../../electron/core/rackboot'
import { inventoryResolver } from '../../electron/core/boot/resolver'
import { startProvisioningServer, type ProvisioningServer } from '../../electron/core/boot/http/server'
import { OverlayCache } from '../../electron/core/images/overlays/cache'
import { AGENT_SCRIPT } from '../../electron/core/images/bootstrap/agent-script'
import { agentConf } from '../../electron/core/images/overlays/templates'
import type { AgentReport } from '../../electron/core/images/bootstrap/report'
import { silentLogger } from '../../electron/core/util/logger'
import { hasCommand, missing } from '../support/env'

// busybox nc cannot bind a source port, so the agent needs socat (or netcat-openbsd) for the runtime poll.
// Without socat here, a small Node stand-in with socat's command line does the privileged bind.
const realSocat = hasCommand('socat')
const skip = missing({ root: true, commands: ['busybox'] })
const SOCAT_STANDIN = `#!${process.execPath}
// socat -t N - TCP:host:port,sourceport=P,shut-none, as far as the agent uses it.
const net = require('node:net')
const m = /^TCP:([^:]+):(\\d+),sourceport=(\\d+),shut-none$/.exec(process.argv.at(-1))
const s = net.connect({ host: m[1], port: Number(m[2]), localPort: Number(m[3]) })
// shut-none: stdin's end sends no FIN; the server closes when it has answered.
process.stdin.pipe(s, { end: false })
s.pipe(process.stdout)
s.on('error', (e) => { console.error(e.message); process.exit(1) })
`
const MAC = '52:54:00:00:00:21'

let dir = ''
let core: Rackboot
let server: ProvisioningServer
let overlays: OverlayCache
const reports: AgentReport[] = []

beforeAll(async () => {
  if (skip) return
  dir = mkdtempSync(join(tmpdir(), 'rackboot-agent-'))
  core = await Rackboot.open({ dataDir: join(dir, 'data'), logger: silentLogger })
  // This test drives its own resolver and cache over the core's overlay directory: the core's own
  // builder would race it with other inputs (no HTTP address), so it stays off.
  await core.overlayPrebuild.stop()
  await core.repo.addNode({ name: 'n21', mac: MAC, ip: '127.0.0.1' })
  overlays = new OverlayCache({ root: join(dir, 'data', 'overlays'), keyGenerator: 'node' })
  const resolver = inventoryResolver(core.repo, core.images, () => core.supervisor.status(), {
    overlays,
    serverUrl: () => server.url,
    onAgentReport: (_mac, report) => reports.push(report),
  })
  server = await startProvisioningServer({ host: '127.0.0.1', port: 0, resolver, logger: silentLogger })
  writeFileSync(join(dir, 'agent'), AGENT_SCRIPT)
  writeFileSync(
    join(dir, 'agent.conf'),
    agentConf({ serverUrl: server.url, mac: MAC, hostname: 'n21', assetKey: '' }),
  )
  mkdirSync(join(dir, 'root'))
  mkdirSync(join(dir, 'bin'))
  if (!realSocat) {
    writeFileSync(join(dir, 'bin/socat'), SOCAT_STANDIN)
    chmodSync(join(dir, 'bin/socat'), 0o755)
  }
})
afterAll(async () => {
  await server?.close()
  await core?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** One pass of the agent (RACKBOOT_AGENT_ONCE): report, poll the runtime overlay once, exit. */
function agentOnce(env: Record<string, string> = {}): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('busybox', ['sh', join(dir, 'agent')], {
      timeout: 90_000,
      env: {
        RACKBOOT_AGENT_CONF: join(dir, 'agent.conf'),
        RACKBOOT_ROOT: join(dir, 'root'),
        RACKBOOT_STATE: join(dir, 'state'),
        RACKBOOT_NET_WAIT: '0',
        RACKBOOT_AGENT_ONCE: '1',
        RACKBOOT_EXTRA_PATH: join(dir, 'bin'),
        ...env,
      },
    })
    let stderr = ''
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()))
    child.on('error', reject)
    child.on('close', (status) => resolve({ status, stderr }))
  })
}

const runtimeJson = () =>
  JSON.parse(readFileSync(join(dir, 'root/etc/rackboot/runtime.json'), 'utf8')) as {
    generation: number
    overlays: string[]
  }

describe.skipIf(skip)('rackboot-agent', () => {
  it('without socat or a capable netcat says what to install and reports anyway', async () => {
    const r = await agentOnce({ RACKBOOT_EXTRA_PATH: '' })
    if (realSocat) return // the host has one: this case cannot be staged without hiding it
    expect(r.stderr).toContain('runtime: no socat or netcat able to bind a source port (busybox nc cannot)')
    expect(reports.map((x) => x.stage)).toEqual(['up'])
    reports.length = 0
  })

  it('reports the inventory, then fetches and applies the runtime overlay once per change', async () => {
    const first = await agentOnce()
    expect(first.stderr).toMatch(/runtime overlay [0-9a-f]{64} applied/)
    expect(first.status).toBe(0)
    const up = reports.find((r) => r.stage === 'up')!
    expect(up.hostname).toBeTruthy()
    expect(up.cpus).toBeGreaterThan(0)
    expect(up.memoryKiB).toBeGreaterThan(0)
    expect(Array.isArray(up.nics) && Array.isArray(up.disks)).toBe(true)
    expect(core.repo.nodeByMac(MAC)?.state).toBe('up')
    expect(runtimeJson()).toMatchObject({ generation: 1, overlays: [] })
    // What was applied is exactly what the server serves.
    const served = readFileSync(join(dir, 'data/overlays/n21/runtime.cpio.gz'))
    expect(readFileSync(join(dir, 'state/runtime.sha256'), 'utf8').trim()).toBe(
      createHash('sha256').update(served).digest('hex'),
    )
    expect(reports.map((r) => r.stage)).toEqual(['up', 'runtime'])
    // Reports name the archive applied (none yet in the first): the server can tell what the node runs.
    expect(reports[0]!.runtimeSha256).toBeUndefined()
    expect(reports[1]!.runtimeSha256).toBe(createHash('sha256').update(served).digest('hex'))

    reports.length = 0
    await agentOnce()
    expect(reports.map((r) => r.stage)).toEqual(['up']) // unchanged overlay: nothing applied

    await core.store.update((db) => {
      db.nodes.find((n) => n.name === 'n21')!.overlays.runtime = ['users']
    })
    reports.length = 0
    await agentOnce()
    expect(reports.map((r) => r.stage)).toEqual(['up', 'runtime'])
    expect(runtimeJson()).toMatchObject({ generation: 2, overlays: ['users'] })
  })

  it('takes its heartbeat and poll intervals from rackboot.heartbeat= and rackboot.poll= on the command line', async () => {
    const proc = join(dir, 'proc')
    mkdirSync(proc, { recursive: true })
    writeFileSync(join(proc, 'cmdline'), 'console=ttyS0 rackboot.heartbeat=1 rackboot.poll=1\n')
    reports.length = 0
    const child = spawn('busybox', ['sh', join(dir, 'agent')], {
      env: {
        RACKBOOT_AGENT_CONF: join(dir, 'agent.conf'),
        RACKBOOT_ROOT: join(dir, 'root'),
        RACKBOOT_STATE: join(dir, 'state'),
        RACKBOOT_PROC: proc,
        RACKBOOT_NET_WAIT: '0',
        RACKBOOT_EXTRA_PATH: join(dir, 'bin'),
      },
      stdio: 'ignore',
    })
    const exited = new Promise((r) => child.once('exit', r))
    try {
      // With the 30 s default, no heartbeat would come within the 60 s this test allows.
      for (let i = 0; i < 240 && reports.filter((r) => r.stage === 'heartbeat').length < 2; i++)
        await new Promise((r) => setTimeout(r, 250))
      expect(reports.filter((r) => r.stage === 'heartbeat').length).toBeGreaterThanOrEqual(2)
      // A change made now is applied by a later poll, not only at start.
      await core.store.update((db) => {
        db.nodes.find((n) => n.name === 'n21')!.overlays.runtime = ['users', 'extra']
      })
      for (let i = 0; i < 240 && !reports.some((r) => r.stage === 'runtime'); i++)
        await new Promise((r) => setTimeout(r, 250))
      expect(runtimeJson()).toMatchObject({ overlays: ['users', 'extra'] })
    } finally {
      child.kill('SIGKILL')
      await exited
    }
  }, 90_000)
})
