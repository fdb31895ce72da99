/**
 * Network namespace pairs for tests that put real packets on a wire without touching the machine's
 * interfaces (NETWORK SAFETY: DHCP, TFTP and boot tests run only inside namespaces they create and delete).
 *
 *   <prefix>-srv                         <prefix>-cli
 *   ┌────────────────────┐   veth    ┌───────────────────────────────────────┐
 *   │ <prefix>-v0        │───────────│ <prefix>-v1  (or enslaved to          │
 *   │ serverAddress/len  │           │   <prefix>-br0 with <prefix>-tap0..N) │
 *   └────────────────────┘           └───────────────────────────────────────┘
 *
 * Usage (vitest; root needed, so guard with missing({ root: true })):
 *
 *   let net: NetnsPair
 *   beforeAll(() => { net = createNetnsPair({ prefix: 'rbxx', serverAddress: '198.18.40.1/24' }) })
 *   afterAll(() => net?.destroy())
 *   ...
 *   const child = net.spawn('cli', 'busybox', ['udhcpc', '-i', net.clientIf, ...])
 *
 * Names: Linux limits interface names to 15 characters, so keep the prefix at most 9 (e.g. `rbds`,
 * `rbds-k`). Use the prefix your brief assigned: namespaces are global to the machine. A pair left behind by
 * a crashed run is deleted when a pair with the same names is created. destroy() kills every process
 * started through spawn() (by PID, whole process group) and deletes both namespaces, which removes the
 * veth, bridge and taps with them; it never throws, so it is safe in afterAll after a failed beforeAll.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'

export type Side = 'srv' | 'cli'

export interface NetnsOptions {
  /** At most 9 characters; namespaces are `<prefix>-srv`/`<prefix>-cli`, interfaces `<prefix>-v0`, … */
  prefix: string
  /** Address of the server end, with its prefix length, inside 198.18.0.0/15, e.g. `198.18.30.1/24`. */
  serverAddress: string
  /** Static addresses for the client end (or the bridge when taps are used), e.g. `198.18.30.2/24`. */
  clientAddresses?: string[]
  /** Put the client end on a bridge `<prefix>-br0` with this many taps `<prefix>-tap<i>` (for QEMU). */
  taps?: number
}

export interface NetnsPair {
  server: string
  client: string
  /** The server's interface (`<prefix>-v0`), where a DHCP server binds. */
  serverIf: string
  /** Where client software runs: the bridge when taps were asked for, else `<prefix>-v1`. */
  clientIf: string
  taps: string[]
  /** The server address without its length, e.g. 198.18.30.1. */
  serverIp: string
  /** Runs a command in a namespace and returns its stdout; throws with stderr on failure. */
  exec(side: Side, cmd: string, args: string[], timeoutMs?: number): string
  /** Starts a long-running process in a namespace; destroy() kills it if it is still running. */
  spawn(side: Side, cmd: string, args: string[], options?: SpawnOptions): ChildProcess
  /** Kills what spawn() started and deletes both namespaces. Idempotent, never throws. */
  destroy(): void
}

const IFNAMSIZ = 15

function run(args: string[], timeoutMs = 15_000): string {
  try {
    return execFileSync(args[0]!, args.slice(1), { encoding: 'utf8', timeout: timeoutMs, stdio: 'pipe' })
  } catch (e) {
    const err = e as { stderr?: string; message: string }
    throw new Error(`netns: '${args.join(' ')}' failed: ${err.stderr?.trim() || err.message}`, { cause: e })
  }
}

function quiet(args: string[]): void {
  try {
    execFileSync(args[0]!, args.slice(1), { stdio: 'ignore', timeout: 15_000 })
  } catch {
    // cleanup: the thing may already be gone
  }
}

function namespaceExists(name: string): boolean {
  try {
    return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .split('\n')
      .some((l) => l.split(' ')[0] === name)
  } catch {
    return false
  }
}

export function createNetnsPair(o: NetnsOptions): NetnsPair {
  if (
    `${o.prefix}-tap${Math.max(0, (o.taps ?? 0) - 1)}`.length > IFNAMSIZ ||
    `${o.prefix}-br0`.length > IFNAMSIZ
  )
    throw new Error(
      `netns prefix '${o.prefix}' is too long: interface names must fit in ${IFNAMSIZ} characters`,
    )
  const [serverIp, serverLen] = o.serverAddress.split('/')
  if (!serverIp || !serverLen || !/^198\.1[89]\./.test(serverIp))
    throw new Error(`netns serverAddress '${o.serverAddress}' must be CIDR inside 198.18.0.0/15`)
  const server = `${o.prefix}-srv`
  const client = `${o.prefix}-cli`
  const v0 = `${o.prefix}-v0`
  const v1 = `${o.prefix}-v1`
  const br = `${o.prefix}-br0`
  const taps = Array.from({ length: o.taps ?? 0 }, (_, i) => `${o.prefix}-tap${i}`)
  const children = new Set<ChildProcess>()
  const ns = (side: Side) => (side === 'srv' ? server : client)

  const destroy = () => {
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
        try {
          process.kill(-c.pid, 'SIGKILL') // its process group: it was spawned detached
        } catch {
          try {
            c.kill('SIGKILL')
          } catch {
            // already gone
          }
        }
      }
    }
    children.clear()
    for (const n of [server, client]) if (namespaceExists(n)) quiet(['ip', 'netns', 'del', n])
    // A veth end left in the root namespace (creation failed half-way) goes too.
    quiet(['ip', 'link', 'del', v0])
  }

  destroy() // leftovers of a crashed run with the same names
  try {
    run(['ip', 'netns', 'add', server])
    run(['ip', 'netns', 'add', client])
    run(['ip', 'link', 'add', v0, 'type', 'veth', 'peer', 'name', v1])
    run(['ip', 'link', 'set', v0, 'netns', server])
    run(['ip', 'link', 'set', v1, 'netns', client])
    const inS = (...a: string[]) => run(['ip', 'netns', 'exec', server, ...a])
    const inC = (...a: string[]) => run(['ip', 'netns', 'exec', client, ...a])
    inS('ip', 'link', 'set', 'lo', 'up')
    inC('ip', 'link', 'set', 'lo', 'up')
    inS('ip', 'addr', 'add', o.serverAddress, 'dev', v0)
    inS('ip', 'link', 'set', v0, 'up')
    let clientIf = v1
    if (taps.length > 0) {
      inC('ip', 'link', 'add', br, 'type', 'bridge')
      inC('ip', 'link', 'set', v1, 'master', br)
      for (const t of taps) {
        inC('ip', 'tuntap', 'add', 'dev', t, 'mode', 'tap')
        inC('ip', 'link', 'set', t, 'master', br)
        inC('ip', 'link', 'set', t, 'up')
      }
      inC('ip', 'link', 'set', br, 'up')
      clientIf = br
    }
    inC('ip', 'link', 'set', v1, 'up')
    for (const a of o.clientAddresses ?? []) inC('ip', 'addr', 'add', a, 'dev', clientIf)
    return {
      server,
      client,
      serverIf: v0,
      clientIf,
      taps,
      serverIp,
      exec: (side, cmd, args, timeoutMs) => run(['ip', 'netns', 'exec', ns(side), cmd, ...args], timeoutMs),
      spawn: (side, cmd, args, options = {}) => {
        // detached: its own process group, so destroy() also reaches anything it forks.
        const child = spawn('ip', ['netns', 'exec', ns(side), cmd, ...args], {
          stdio: ['ignore', 'pipe', 'pipe'],
          ...options,
          detached: true,
        })
        children.add(child)
        child.once('exit', () => children.delete(child))
        return child
      },
      destroy,
    }
  } catch (e) {
    destroy()
    throw e
  }
}
