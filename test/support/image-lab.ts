/**
 * TODO(merge): the images suite's own lab fixture, to fold into test/support/lab.ts.
 * A `rackboot lab` on its own data dir for e2e tests that boot real images through Rackboot's own DHCP, TFTP
 * and HTTP: the real CLI (`lab up`, `power-on`, `down`), each node's serial console, and the lab's serve
 * reached inside its server namespace (its API and /status are on that namespace's addresses only).
 * `close()` is safe in afterAll whatever state the test left: it runs `lab down` when a lab state exists.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { rackboot } from './cli'

export interface LabOptions {
  /** Namespace and link prefix: the suite's assigned one. */
  prefix: string
  id: number
  /** A /24 of the suite's assigned range. */
  subnet: string
}

/** Polls until check() holds, bounded by count; throws with detail() when it never does. */
export async function waitFor(
  what: string,
  check: () => boolean,
  detail: () => string,
  ms: number,
  stepMs = 1000,
): Promise<void> {
  for (let i = 0; i < Math.ceil(ms / stepMs); i++) {
    if (check()) return
    await new Promise((r) => setTimeout(r, stepMs))
  }
  if (!check()) throw new Error(`gave up waiting for ${what}:\n${detail().slice(-4000)}`)
}

export function labFixture(o: LabOptions) {
  // Made on first use, so a skipped suite leaves no directory behind.
  let dir: string | null = null
  const dataDir = () => (dir ??= mkdtempSync(join(tmpdir(), `${o.prefix}-`)))
  const cli = (...args: string[]) => {
    const r = rackboot([...args, '--data-dir', dataDir()])
    if (r.status !== 0) throw new Error(`rackboot ${args.join(' ')} exited ${r.status}:\n${r.stderr}`)
    return r.stdout
  }
  const inServer = (cmd: string, args: string[]) =>
    execFileSync('ip', ['netns', 'exec', `${o.prefix}-srv`, cmd, ...args], {
      encoding: 'utf8',
      timeout: 30_000,
    })
  const serverAddress = o.subnet.replace(/\.0\/24$/, '.1')
  return {
    dataDir,
    cli,
    serverAddress,
    up: (nodes: number, ...more: string[]) =>
      cli(
        'lab',
        'up',
        '--nodes',
        String(nodes),
        '--id',
        String(o.id),
        '--prefix',
        o.prefix,
        '--subnet',
        o.subnet,
        ...more,
      ),
    /** Slot n's serial console so far, escape sequences removed. */
    console: (slot: number) => {
      const f = join(dataDir(), 'lab', 'consoles', `slot${String(slot).padStart(2, '0')}.log`)
      // eslint-disable-next-line no-control-regex
      return existsSync(f) ? readFileSync(f, 'latin1').replace(/\x1b\[[0-9;?=]*[A-Za-z]/g, '') : ''
    },
    serveLog: () => {
      const f = join(dataDir(), 'lab', 'serve.log')
      return existsSync(f) ? readFileSync(f, 'utf8') : ''
    },
    /** GET <server>:9873/status (the provisioning server's node stages and agent reports), from the server side. */
    status: () =>
      JSON.parse(inServer('curl', ['-sf', '-m', '10', `http://${serverAddress}:9873/status`])) as {
        nodes: Array<{
          name: string
          state: string
          lastSeen: string | null
          agent: (Record<string, unknown> & { stage: string; runtimeSha256?: string }) | null
        }>
      },
    /** One contract call on the lab serve's API (its token file is in the data dir). */
    api: (channel: string, request: unknown) => {
      const h = JSON.parse(readFileSync(join(dataDir(), 'rackboot.api.json'), 'utf8')) as {
        url: string
        token: string
      }
      const out = inServer('curl', [
        '-s',
        '-m',
        '20',
        '-X',
        'POST',
        '-H',
        `authorization: Bearer ${h.token}`,
        '-H',
        'content-type: application/json',
        '-d',
        JSON.stringify(request),
        `${h.url}/api/${channel}`,
      ])
      const reply = JSON.parse(out) as { ok: boolean; value?: unknown; error?: { message: string } }
      if (!reply.ok) throw new Error(`${channel}: ${reply.error?.message ?? out}`)
      return reply.value
    },
    close() {
      if (dir === null) return
      if (existsSync(join(dir, 'lab', 'state.json'))) rackboot(['lab', 'down', '--data-dir', dir])
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
