/**
 * A `rackboot lab` on its own data dir, driven through the real CLI, for the e2e suites: consoles, serve log,
 * `lab status --json`, `lab exec`, tcpdump on the lab wire, and a `close()` that is safe in afterAll.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { rackboot } from './cli'

export const BOOT_MS = 120_000

export function namespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0]!)
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

export async function waitFor(
  what: string,
  check: () => boolean,
  detail: () => string,
  ms = BOOT_MS,
): Promise<void> {
  const steps = Math.ceil(ms / 500)
  for (let i = 0; i < steps; i++) {
    if (check()) return
    await new Promise((r) => setTimeout(r, 500))
  }
  if (!check()) throw new Error(`gave up waiting for ${what}:\n${detail().slice(-3000)}`)
}

export interface LabStatusJson {
  serveRunning: boolean
  nodes: Array<{
    slot: number
    mac: string
    pid: number | null
    running: boolean
    stage: string
    console: string
    timeline: {
      stage: string | null
      state: string
      problem: string | null
      milestones: Array<{ milestone: string; time: string; detail?: string }>
      serverRestarts: string[]
    }
  }>
}

/** GET /status of the lab's provisioning server (resolver.status()). */
export interface HttpStatusJson {
  nodes: Array<{
    name: string
    state: string
    lastSeen: string | null
    agent: (Record<string, unknown> & { stage: string; runtimeSha256?: string }) | null
  }>
}

/** One lab on its own data dir; `close()` is safe in afterAll whatever state the test left. */
export function labFixture(o: { prefix: string; id: number; subnet: string }) {
  // Made on first use, so a skipped or filtered-out suite leaves no directory behind.
  let dir: string | null = null
  const dataDir = () => (dir ??= mkdtempSync(join(tmpdir(), `${o.prefix}-`)))
  const cli = (...args: string[]) => {
    const r = rackboot([...args, '--data-dir', dataDir()])
    if (r.status !== 0) throw new Error(`rackboot ${args.join(' ')} exited ${r.status}:\n${r.stderr}`)
    return r.stdout
  }
  const children: ChildProcess[] = []
  /** POSTs one contract call to the lab serve's API (token from the data dir) from inside the server namespace; the raw reply. */
  const postApi = (channel: string, request: unknown, maxS: number): string => {
    const h = JSON.parse(readFileSync(join(dataDir(), 'rackboot.api.json'), 'utf8')) as {
      url: string
      token: string
    }
    return execFileSync(
      'ip',
      [
        'netns',
        'exec',
        `${o.prefix}-srv`,
        'curl',
        '-s',
        '-m',
        String(maxS),
        '-X',
        'POST',
        '-H',
        `authorization: Bearer ${h.token}`,
        '-H',
        'content-type: application/json',
        '-d',
        JSON.stringify(request),
        `${h.url}/api/${channel}`,
      ],
      { encoding: 'utf8', timeout: 30_000 },
    )
  }
  return {
    dataDir,
    cli,
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
    status: (...more: string[]) => JSON.parse(cli('lab', 'status', '--json', ...more)) as LabStatusJson,
    console: (slot: number) => {
      const f = join(dataDir(), 'lab', 'consoles', `slot${String(slot).padStart(2, '0')}.log`)
      // eslint-disable-next-line no-control-regex
      return existsSync(f) ? readFileSync(f, 'latin1').replace(/\x1b\[[0-9;?=]*[A-Za-z]/g, '') : ''
    },
    serveLog: () => {
      const f = join(dataDir(), 'lab', 'serve.log')
      return existsSync(f) ? readFileSync(f, 'utf8') : ''
    },
    /** The serve's `stack/counters` (DHCP received, ignored, dropped …), asked inside the server namespace: failure detail. */
    counters: () => {
      try {
        return postApi('stack/counters', {}, 5)
      } catch (e) {
        return `(no app/status: ${String(e)})`
      }
    },
    /** tcpdump on the lab's server interface, inside the lab's server namespace; resolves once listening. */
    async tcpdump(filter: string): Promise<() => string> {
      const child = spawn(
        'ip',
        ['netns', 'exec', `${o.prefix}-srv`, 'tcpdump', '-n', '-l', '-v', '-i', `${o.prefix}-s`, filter],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      )
      children.push(child)
      let out = ''
      let err = ''
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
      await waitFor(
        'tcpdump to listen',
        () => err.includes('listening on'),
        () => err,
        30_000,
      )
      return () => out
    },
    /** The lab's server address (.1 of the subnet), where nodes reach HTTP on port 9873. */
    serverAddress: o.subnet.replace(/\.0\/24$/, '.1'),
    /** GET /status of the provisioning server (node stages, each node's newest agent report), from the server side. */
    httpStatus: () =>
      JSON.parse(
        execFileSync(
          'ip',
          [
            'netns',
            'exec',
            `${o.prefix}-srv`,
            'curl',
            '-sf',
            '-m',
            '10',
            `http://${o.subnet.replace(/\.0\/24$/, '.1')}:9873/status`,
          ],
          { encoding: 'utf8', timeout: 30_000 },
        ),
      ) as HttpStatusJson,
    /** One contract call on the lab serve's API (token from the data dir); throws with the serve's error. */
    api: (channel: string, request: unknown): unknown => {
      const out = postApi(channel, request, 20)
      const reply = JSON.parse(out) as { ok: boolean; value?: unknown; error?: { message: string } }
      if (!reply.ok) throw new Error(`${channel}: ${reply.error?.message ?? out}`)
      return reply.value
    },
    close() {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
      if (dir === null) return
      if (existsSync(join(dir, 'lab', 'state.json'))) rackboot(['lab', 'down', '--data-dir', dir])
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
