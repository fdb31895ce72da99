/**
 * A real machine joins the storm (issue "Boot storm and fault campaign"): `rackboot sim storm --nodes 20
 * --qemu 1` powers on 20 simulated PXE machines and one QEMU machine (TCG, SeaBIOS, the NIC's iPXE ROM) on a
 * tap bridged to the same 1 Gbit/s link, all served by one `rackboot serve`. Asserted: every node boots, the
 * simulated ones with every byte compared, the QEMU one up to the default image's console marker with every
 * artifact sent whole by the server's own count; no address went to two MACs; and afterwards the storm's
 * namespaces (with their bridge and tap) and every process it started are gone.
 * Namespaces rbsx-q-*, addresses 198.19.200.0/22. No timing asserts: TCG on a shared machine is slow.
 */
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { missing } from '../support/env'
import { BIN, buildCli } from '../support/cli'
import { DEFAULT_IMAGE_NAME, defaultImageFiles } from '../../electron/core/images/default-image'
import { Rackboot } from '../../electron/core/rackboot'

const execFileP = promisify(execFile)
const files = defaultImageFiles(join(__dirname, '..', '..', 'resources'))
const skip = missing({
  root: true,
  commands: ['ip', 'tc', 'qemu-system-x86_64'],
  files: ['/usr/lib/ipxe', files.archive, files.kernel],
})
const PREFIX = 'rbsx-q'
const SUBNET = '198.19.200.0/22'

/** PIDs whose command line names this storm's links (serve, clients, QEMU, RA sender): ours by name. */
function stormPids(): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ')
      if (cmd.includes(`${PREFIX}-`) && !cmd.includes('vitest')) pids.push(Number(entry))
    } catch {
      // gone meanwhile
    }
  }
  return pids
}

const namespaces = async () =>
  (await execFileP('ip', ['netns', 'list'])).stdout
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(`${PREFIX}-`))

describe.skipIf(skip)('boot storm with a real QEMU machine on the same link', () => {
  const dir = mkdtempSync(join(tmpdir(), `${PREFIX}-`))
  let cliPid: number | undefined

  beforeAll(() => buildCli())
  afterAll(async () => {
    // Only after a failure is anything left: the storm's own processes by PID, then its namespaces.
    if (cliPid !== undefined)
      try {
        process.kill(-cliPid, 'SIGKILL')
      } catch {
        // already gone
      }
    for (const pid of stormPids())
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    for (const ns of await namespaces().catch(() => []))
      await execFileP('ip', ['netns', 'del', ns]).catch(() => undefined)
    rmSync(dir, { recursive: true, force: true })
  })

  it(
    '20 simulated nodes and 1 QEMU node all boot; the namespaces, tap and processes are gone afterwards',
    { timeout: 900_000 },
    async () => {
      const args = ['sim', 'storm', '--nodes', '20', '--qemu', '1', '--link', '1gbit']
      args.push('--prefix', PREFIX, '--subnet', SUBNET, '--data-dir', join(dir, 'data'), '--deadline', '600')
      const child = spawn(process.execPath, [BIN, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      })
      cliPid = child.pid
      let out = ''
      let err = ''
      child.stdout.on('data', (d: Buffer) => (out += d.toString()))
      child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-20_000)))
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
      cliPid = undefined
      const context = `exit ${code}\n${out.slice(-4000)}\n--- stderr:\n${err.slice(-4000)}`
      expect(code, context).toBe(0)
      const report = JSON.parse(out) as {
        nodes: number
        ok: number
        failed: number
        sharedIps: unknown[]
        leases: Array<{ mac: string; ip: string | null }>
        qemu: {
          nodes: number
          ok: number
          machines: Array<{ mac: string; ip: string; ok: boolean; bytes: number; errors: string[] }>
        }
      }
      expect({ nodes: report.nodes, ok: report.ok, failed: report.failed }).toEqual({
        nodes: 21,
        ok: 21,
        failed: 0,
      })
      expect(report.sharedIps).toEqual([])
      expect(new Set(report.leases.map((l) => l.ip)).size).toBe(20)
      expect(report.qemu.nodes).toBe(1)
      const [vm] = report.qemu.machines
      expect(vm?.errors).toEqual([])
      expect(vm?.ok).toBe(true)
      // kernel + image + modules of the default image, at least, by the server's count.
      const core = await Rackboot.open({ dataDir: join(dir, 'data') })
      let sizes = 0
      try {
        for (const kind of ['kernel', 'image', 'modules'] as const) {
          const p = core.images.artifactPath(DEFAULT_IMAGE_NAME, kind)
          expect(p, kind).not.toBeNull()
          sizes += statSync(p!).size
        }
      } finally {
        await core.close()
      }
      expect(vm!.bytes).toBeGreaterThanOrEqual(sizes)
      expect(report.leases.map((l) => l.ip)).not.toContain(vm!.ip)
      // The console is the QEMU machine's own: the image's init ran.
      expect(readFileSync(join(dir, 'data', 'qemu01.console'), 'utf8')).toContain('RACKBOOT-DEFAULT-IMAGE-UP')

      // Nothing of the storm is left: namespaces (and the bridge and tap inside them), processes.
      expect(await namespaces()).toEqual([])
      expect(stormPids()).toEqual([])
    },
  )
})
