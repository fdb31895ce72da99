/**
 * Two network namespaces joined by a veth pair, for benchmarks: the server side and the client side, on
 * 198.18.0.0/15 addresses (RFC 2544 benchmarking range), so nothing ever touches the machine's real NICs.
 */
import { run } from './procs'

export interface BenchNet {
  /** Namespace names: run servers in `srv`, load clients in `cli`. */
  srv: string
  cli: string
  /** veth ends: `srvIf` lives in `srv`, `cliIf` in `cli`. */
  srvIf: string
  cliIf: string
  srvAddr: string
  cliAddr: string
  /** Deletes both namespaces (and with them the veth pair). Safe to call twice. */
  down(): Promise<void>
}

export interface BenchNetOptions {
  /** Name prefix: namespaces `<prefix>-srv`/`<prefix>-cli`, veth `<prefix>-v0`/`<prefix>-v1`. */
  prefix: string
  /** First three octets of a /24 inside 198.18.0.0/15, e.g. '198.18.40'. */
  subnet: string
}

async function ip(args: string[]): Promise<void> {
  const r = await run(['ip', ...args], { timeoutMs: 10_000 })
  if (r.code !== 0) throw new Error(`ip ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`)
}

export async function createBenchNet(o: BenchNetOptions): Promise<BenchNet> {
  if (!/^198\.(18|19)\.\d{1,3}$/.test(o.subnet)) {
    throw new Error(`bench subnet ${o.subnet} is outside 198.18.0.0/15; refusing to configure it`)
  }
  const net = {
    srv: `${o.prefix}-srv`,
    cli: `${o.prefix}-cli`,
    srvIf: `${o.prefix}-v0`,
    cliIf: `${o.prefix}-v1`,
    srvAddr: `${o.subnet}.1`,
    cliAddr: `${o.subnet}.2`,
  }
  let removed = false
  const down = async () => {
    if (removed) return
    removed = true
    for (const ns of [net.srv, net.cli]) await run(['ip', 'netns', 'del', ns], { timeoutMs: 10_000 })
  }
  // Leftovers of a run that was killed hard carry our own names: remove them first.
  for (const ns of [net.srv, net.cli]) await run(['ip', 'netns', 'del', ns], { timeoutMs: 10_000 })
  try {
    await ip(['netns', 'add', net.srv])
    await ip(['netns', 'add', net.cli])
    await ip([
      'link',
      'add',
      net.srvIf,
      'netns',
      net.srv,
      'type',
      'veth',
      'peer',
      'name',
      net.cliIf,
      'netns',
      net.cli,
    ])
    for (const [ns, dev, addr] of [
      [net.srv, net.srvIf, net.srvAddr],
      [net.cli, net.cliIf, net.cliAddr],
    ] as const) {
      await ip(['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev])
      await ip(['-n', ns, 'link', 'set', dev, 'up'])
      await ip(['-n', ns, 'link', 'set', 'lo', 'up'])
    }
  } catch (e) {
    await down()
    throw e
  }
  return { ...net, down }
}

/** argv prefix that runs a command inside namespace `ns` (ip execs it: the PID is the command's own). */
export const inNs = (ns: string, argv: string[]): string[] => ['ip', 'netns', 'exec', ns, ...argv]
