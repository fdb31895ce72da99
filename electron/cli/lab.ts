/**
 * `rackboot lab …`: a virtual rack on this machine (Linux, root): `up`, `power-on`, `power-off`, `status`,
 * `exec` and `down`. The lab's `serve` runs inside the lab's server namespace, so its API listens on that
 * namespace's loopback: commands that talk to it (`nodes add`, `capture start`) go through `lab exec`.
 */
import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { type Command, Option } from 'commander'
import { Lab, type LabNodeStatus, type SlotOverride, parseSlotOverride } from '../core/lab/lab'
import { RA_SENDER_READY, UI_BRIDGE_READY } from '../core/lab/lab'
import { listenTcpToSocket } from '../core/lab/ui-bridge'
import { execIp } from '../core/lab/netns'
import { buildRouterAdvertisement, labIpv6Prefix, startRaSender } from '../core/lab/ra'
import { FIRMWARES, NICS, readLabState } from '../core/lab/state'
import type { Logger } from '../core/util/logger'
import { RackbootError } from '../core/util/result'
import { type CliIo, UsageError } from './io'
import { formatTable } from './table'

export interface LabCliContext {
  io: CliIo
  logger: Logger
  dataDirOption: () => Option
}

const intArg = (flag: string, min: number, max: number) => (v: string) => {
  if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max)
    throw new UsageError(`${flag} '${v}' is not a number in ${min}..${max}`)
  return Number(v)
}

const slotArg = (v: string): number | 'all' => {
  if (v === 'all') return 'all'
  if (!/^[0-9]+$/.test(v) || Number(v) < 1) throw new UsageError(`slot '${v}' is not a slot number or 'all'`)
  return Number(v)
}

/** How this very program is started again inside a namespace: the same node, loader flags and script. */
export function selfCommand(): string[] {
  return [process.execPath, ...process.execArgv, resolve(process.argv[1] ?? 'bin/rackboot.js')]
}

export function registerLabCommands(program: Command, ctx: LabCliContext): void {
  const { io } = ctx
  const lab = (dataDir: string) =>
    new Lab({ dataDir: resolve(dataDir), ip: execIp(), selfCommand: selfCommand(), logger: ctx.logger })
  const cmd = program
    .command('lab')
    .description(
      'a virtual rack on this machine: namespaces, a bridge, QEMU nodes and rackboot serve (root, Linux)',
    )

  cmd
    .command('up')
    .description('create the lab network and start `rackboot serve` on its server side')
    .addOption(ctx.dataDirOption())
    .requiredOption('--nodes <n>', 'how many nodes (slots 1..n)', intArg('--nodes', 1, 60))
    .addOption(
      new Option('--firmware <kind>', 'node firmware; mixed = odd slots BIOS, even UEFI')
        .choices([...FIRMWARES, 'mixed'])
        .default('bios'),
    )
    .addOption(new Option('--nic <model>', 'node NIC model').choices([...NICS]).default('virtio'))
    .option('--mem <MiB>', 'memory per node', intArg('--mem', 64, 65536), 512)
    .option(
      '--id <n>',
      'lab id: MACs 52:54:00:<id>:00:<slot>, default names rbl<id>-*',
      intArg('--id', 0, 255),
      0,
    )
    .option('--prefix <name>', 'name prefix of namespaces and links (default rbl<id>)')
    .option('--subnet <cidr>', 'a /24 inside 198.18.0.0/15 (default 198.18.<id>.0/24)')
    .addOption(
      new Option(
        '--uefi-chain <chain>',
        "UEFI nodes: EDK2 PXE -> TFTP ipxe.efi, or the NIC's UEFI iPXE ROM straight to HTTP",
      )
        .choices(['pxe', 'ipxe-rom'])
        .default('pxe'),
    )
    .addOption(
      new Option(
        '--ipxe-rom-chain <policy>',
        "iPXE NIC ROMs: 'script' straight to HTTP, or 'own-ipxe' through TFTP undionly.kpxe/ipxe.efi first (setting ipxeRomChain)",
      ).choices(['script', 'own-ipxe']),
    )
    .option('--no-ra', 'send no IPv6 router advertisements (iPXE then waits ~16 s per boot)')
    .option(
      '--rate <mbit>',
      "cap the server's sending rate on the lab link (Mbit/s)",
      intArg('--rate', 1, 100000),
    )
    .option('--no-serve', 'make the wire and nodes only (to run another boot stack there, e.g. a benchmark)')
    .option(
      '--ui',
      "make the serve's UI reachable from this machine's browser (127.0.0.1, same port; prints its URL)",
    )
    .option(
      '--slot <slot=kinds>',
      'one slot differs, e.g. 2=uefi,e1000 or 3=uefi,ipxe-rom (repeatable)',
      (v: string, prev: SlotOverride[]) => {
        const o = parseSlotOverride(v)
        if (typeof o === 'string') throw new UsageError(o)
        return [...prev, o]
      },
      [] as SlotOverride[],
    )
    .action(
      async (o: {
        dataDir: string
        nodes: number
        firmware: 'bios' | 'uefi' | 'mixed'
        nic: 'virtio' | 'e1000'
        mem: number
        id: number
        prefix?: string
        subnet?: string
        uefiChain: 'pxe' | 'ipxe-rom'
        ipxeRomChain?: 'script' | 'own-ipxe'
        ra: boolean
        serve: boolean
        rate?: number
        slot: SlotOverride[]
        ui?: boolean
      }) => {
        if (o.ui && !o.serve) throw new UsageError('--ui needs the serve (drop --no-serve)')
        const { state, ready } = await lab(o.dataDir).up({
          id: o.id,
          prefix: o.prefix,
          nodes: o.nodes,
          firmware: o.firmware,
          nic: o.nic,
          memMiB: o.mem,
          subnet: o.subnet,
          uefiChain: o.uefiChain,
          ipxeRomChain: o.ipxeRomChain,
          ra: o.ra,
          serve: o.serve,
          rateMbit: o.rate,
          slotOverrides: o.slot,
          ui: o.ui,
        })
        io.stdout(
          `lab ${state.prefix} up: ${state.serverNamespace} (${state.serverInterface} ${state.serverAddress}) <-> ${state.clientNamespace}, ${state.nodes.length} node(s)\n` +
            (ready.pid === undefined
              ? 'no serve (--no-serve)\n'
              : `serve PID ${String(ready.pid)}, http ${String(ready.http)}\n`) +
            state.nodes
              .map(
                (n) =>
                  `  slot ${n.slot}  ${n.name}  ${n.mac}  ${n.firmware}${n.nic === 'e1000' ? '  e1000' : ''}${n.uefiChain === 'ipxe-rom' ? '  ipxe-rom' : ''}\n`,
              )
              .join('') +
            (typeof ready.ui === 'string' && state.ui
              ? `UI (this machine's browser): ${ready.ui}\n`
              : `next: rackboot lab power-on all   (talk to its serve with: rackboot lab exec -- nodes list)\n`),
        )
        // For `npm start -- --lab` (build/start.mjs): one machine-readable line with the UI's address.
        if (typeof ready.ui === 'string' && state.ui)
          io.stdout(
            `rackboot lab ready ${JSON.stringify({ ui: ready.ui, prefix: state.prefix, nodes: state.nodes.length })}\n`,
          )
      },
    )

  cmd
    .command('power-on [slot]')
    .description("start QEMU for one slot or 'all' (in rack order)")
    .addOption(ctx.dataDirOption())
    .option('--interval <s>', 'seconds between nodes', intArg('--interval', 0, 3600), 0)
    .action(async (slot: string | undefined, o: { dataDir: string; interval: number }) => {
      const started = await lab(o.dataDir).powerOn(slotArg(slot ?? 'all'), o.interval)
      io.stdout(
        started.length
          ? `powered on slot ${started.join(', ')}\n`
          : 'nothing to power on (already running)\n',
      )
    })

  cmd
    .command('power-off [slot]')
    .description("stop QEMU for one slot or 'all'")
    .addOption(ctx.dataDirOption())
    .action(async (slot: string | undefined, o: { dataDir: string }) => {
      const stopped = await lab(o.dataDir).powerOff(slotArg(slot ?? 'all'))
      io.stdout(stopped.length ? `powered off slot ${stopped.join(', ')}\n` : 'nothing was running\n')
    })

  cmd
    .command('restart-serve')
    .description(
      "stop the lab's serve and start it again; the nodes keep running (a server restart mid-boot)",
    )
    .addOption(ctx.dataDirOption())
    .action(async (o: { dataDir: string }) => {
      const ready = await lab(o.dataDir).restartServe()
      io.stdout(`serve restarted: PID ${String(ready.pid)}, http ${String(ready.http)}\n`)
    })

  cmd
    .command('status')
    .description("slots, MACs, QEMU PIDs and each console's last line")
    .addOption(ctx.dataDirOption())
    .option('--json', 'machine-readable output')
    .option(
      '--stall-seconds <s>',
      'no boot event for this long (and not up) shows as stalled',
      intArg('--stall-seconds', 1, 86400),
      180,
    )
    .action(async (o: { dataDir: string; json?: boolean; stallSeconds: number }) => {
      const s = await lab(o.dataDir).status(o.stallSeconds)
      if (o.json) {
        io.stdout(
          `${JSON.stringify({ prefix: s.state.prefix, subnet: s.state.subnet, serveRunning: s.serveRunning, nodes: s.nodes }, null, 2)}\n`,
        )
        return
      }
      io.stdout(
        `lab ${s.state.prefix} ${s.state.subnet}, serve ${s.serveRunning ? 'running' : 'NOT running'}\n${formatNodes(s.nodes)}`,
      )
    })

  cmd
    .command('exec')
    .description(
      "run a rackboot command inside the server namespace, next to the lab's serve (e.g. `lab exec -- capture start`)",
    )
    .addOption(ctx.dataDirOption())
    .argument('<args...>', 'the rackboot command and its arguments')
    .action(async (args: string[], o: { dataDir: string }) => {
      // A --data-dir among ARGS names the lab too (`lab exec -- nodes list --data-dir D`).
      const at = args.findIndex((a) => a === '--data-dir' || a.startsWith('--data-dir='))
      const given =
        at < 0 ? undefined : args[at]!.includes('=') ? args[at]!.slice('--data-dir='.length) : args[at + 1]
      const dataDir = resolve(given ?? o.dataDir)
      const st = await readLabState(dataDir)
      if (!st.ok) throw new RackbootError(st.error, 'lab-state')
      if (!st.value)
        throw new RackbootError(`no lab on ${dataDir}`, 'lab-none', 'start one with `rackboot lab up`')
      const [node, ...pre] = selfCommand()
      const full = [...pre, ...args, ...(at < 0 ? ['--data-dir', dataDir] : [])]
      const r = spawnSync('ip', ['netns', 'exec', st.value.serverNamespace, node!, ...full], {
        encoding: 'utf8',
        timeout: 120_000,
      })
      io.stdout(r.stdout ?? '')
      io.stderr(r.stderr ?? '')
      if (r.status !== 0)
        throw new RackbootError(
          `lab exec: \`rackboot ${args.join(' ')}\` exited with ${r.status ?? r.signal}`,
          'lab-exec',
        )
    })

  cmd
    .command('ra-sender', { hidden: true })
    .description(
      '(started by `lab up` inside the server namespace) send IPv6 RAs on the lab link until stopped',
    )
    .requiredOption('--interface <name>', 'the lab server interface')
    .option('--id <n>', 'lab id (prefix 2001:db8:0:<id>::/64)', intArg('--id', 0, 255), 0)
    .option(
      '--max-seconds <s>',
      'stop after this long at the latest',
      intArg('--max-seconds', 1, 7 * 86400),
      86400,
    )
    .action(async (o: { interface: string; id: number; maxSeconds: number }) => {
      const ra = buildRouterAdvertisement({ prefix: labIpv6Prefix(o.id), prefixLength: 64, lifetimeS: 1800 })
      const sender = startRaSender({ iface: o.interface, ra, intervalMs: 1000, maxSeconds: o.maxSeconds })
      io.stdout(`${RA_SENDER_READY} on ${o.interface}\n`)
      await new Promise<void>((done) => {
        const finish = () => {
          process.off('SIGTERM', finish)
          process.off('SIGINT', finish)
          clearTimeout(limit)
          sender.stop()
          done()
        }
        const limit = setTimeout(finish, o.maxSeconds * 1000)
        process.on('SIGTERM', finish)
        process.on('SIGINT', finish)
      })
      io.stdout(`rackboot ra-sender stopped after ${sender.sent()} RAs\n`)
    })

  cmd
    .command('ui-bridge', { hidden: true })
    .description(
      "(started by `lab up --ui` on the host) forward 127.0.0.1:PORT to the lab serve's UI socket until stopped",
    )
    .requiredOption('--socket <path>', "the lab serve's UI socket")
    .requiredOption(
      '--port <n>',
      'the UI port (the same as the serve inside the namespace)',
      intArg('--port', 1, 65535),
    )
    .option(
      '--max-seconds <s>',
      'stop after this long at the latest',
      intArg('--max-seconds', 1, 7 * 86400),
      7 * 86400,
    )
    .action(async (o: { socket: string; port: number; maxSeconds: number }) => {
      const bridge = await listenTcpToSocket('127.0.0.1', o.port, resolve(o.socket))
      io.stdout(`${UI_BRIDGE_READY} on ${bridge.listening}\n`)
      await new Promise<void>((done) => {
        const finish = () => {
          process.off('SIGTERM', finish)
          process.off('SIGINT', finish)
          clearTimeout(limit)
          void bridge.close().then(done)
        }
        const limit = setTimeout(finish, o.maxSeconds * 1000)
        process.on('SIGTERM', finish)
        process.on('SIGINT', finish)
      })
      io.stdout('rackboot ui-bridge stopped\n')
    })

  cmd
    .command('down')
    .description(
      'stop every lab process and delete the lab namespaces (exact names and PIDs from state.json)',
    )
    .addOption(ctx.dataDirOption())
    .action(async (o: { dataDir: string }) => {
      const r = await lab(o.dataDir).down()
      if (!r.removed) io.stdout('no lab to remove\n')
      else if (r.problems.length)
        throw new RackbootError(`lab down left something behind:\n  ${r.problems.join('\n  ')}`, 'lab-down')
      else io.stdout('lab removed\n')
    })
}

function formatNodes(nodes: LabNodeStatus[]): string {
  const rows = nodes.map((n) => [
    String(n.slot),
    n.name,
    n.mac,
    n.firmware,
    n.pid ? String(n.pid) : '-',
    n.running ? 'yes' : 'no',
    `${n.timeline.stage ?? '-'} (${n.timeline.state})`,
    n.timeline.problem ?? n.lastLine.slice(0, 60),
  ])
  const head = ['SLOT', 'NAME', 'MAC', 'FW', 'PID', 'RUN', 'BOOT STAGE', 'PROBLEM OR LAST CONSOLE LINE']
  return formatTable(head, rows)
}
