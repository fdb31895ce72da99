/**
 * The `rackboot` command. Usage errors exit 2 naming the bad flag; runtime errors exit 1 with context.
 * `run()` is pure of process state so tests can drive it in-process; bin/rackboot.js calls it.
 */
import { resolve } from 'node:path'
import { Command, CommanderError, Option } from 'commander'
import { defaultDataDir } from '../core/paths'
import { stderrLogger } from '../core/util/logger'
import { RackbootError, errorMessage } from '../core/util/result'
import { productVersion } from '../core/version'
import type { Node } from '../core/inventory/schema'
import type { CaptureStatus } from '../core/boot/capture-controller'
import { UsageError, parsePort, processIo, type CliIo } from './io'
import { runServe } from './serve'
import { openSession } from './session'
import { formatChecks, probeCheck, runChecks, systemDoctorEnv } from './doctor'
import { registerInteropCommands } from './interop'
import { registerLabCommands } from './lab'
import { registerImagesCommands } from './images'
import { registerSimCommands } from './sim'
import { registerSettingsCommands } from './settings'
import { registerNodesSetCommand } from './nodes-set'
import { formatTable } from './table'
import { parseMac } from '../core/util/mac'
import type { BootView } from '../core/boot/timeline/model'

export async function run(argv: string[], io: CliIo = processIo): Promise<number> {
  const logger = stderrLogger()
  let exitCode = 0
  const program = new Command('rackboot')
    .description('Network-boot a rack in order: DHCP, TFTP, iPXE and HTTP on one interface.')
    .version(productVersion(), '-V, --version')
    .exitOverride()
    .showHelpAfterError('(run `rackboot --help` for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .addHelpText(
      'after',
      '\nExamples:\n  rackboot serve                                 # loopback only, DHCP off: safe anywhere\n  sudo rackboot serve --interface enp0s31f6 --dhcp-mode proxy\n  rackboot nodes add node01 --mac 52:54:00:12:34:56 --ip 198.18.0.11\n  rackboot doctor --interface enp0s31f6',
    )

  const dataDirOption = () =>
    new Option('--data-dir <dir>', 'where the inventory lives (env RACKBOOT_DATA_DIR)').default(
      defaultDataDir(io.env),
      defaultDataDir(io.env),
    )
  const portArg = (flag: string, allowZero: boolean) => (v: string) => parsePort(flag, v, allowZero)

  program
    .command('serve')
    .description('run the boot stack and the UI (headless); prints `rackboot ready {json}` when listening')
    .addOption(dataDirOption())
    .option('--config <file>', 'JSON file of settings applied at start (same schema as the UI)')
    .option(
      '--interface <name>',
      'the provisioning NIC; without it everything stays on loopback and DHCP is off',
    )
    .addOption(
      new Option(
        '--dhcp-mode <mode>',
        'full DHCP server, proxyDHCP next to an existing server, or none',
      ).choices(['server', 'proxy', 'off']),
    )
    .option('--pool <start-end>', 'dynamic pool for unknown clients, e.g. 198.18.0.100-198.18.0.199')
    .option('--http-port <n>', 'provisioning HTTP port', portArg('--http-port', true), 9873)
    .option('--tftp-port <n>', 'TFTP port (default 69)', portArg('--tftp-port', true))
    .option('--ui-host <host>', 'loopback address of the UI and API', '127.0.0.1')
    .option('--ui-port <n>', 'UI/API port (0 = any free port)', portArg('--ui-port', true), 0)
    .option('--files <dir>', 'also serve DIR over TFTP (root) and HTTP (/files/)')
    .option('--force', 'serve on an interface that holds the default route')
    .option(
      '--reset-store',
      'when the store cannot be read and no good backup exists: move it aside and start empty (nothing is deleted)',
    )
    .addOption(
      new Option(
        '--ui-socket <path>',
        'also accept UI/API connections on this Unix socket (set by `rackboot lab up --ui`)',
      ).hideHelp(),
    )
    .addOption(
      new Option(
        '--lab',
        "this serve is a virtual rack's (set by `rackboot lab up`): lab/* channels answer",
      ).hideHelp(),
    )
    .action(async (o: Record<string, unknown>) => {
      exitCode = await runServe(
        {
          dataDir: resolve(String(o.dataDir)),
          config: o.config as string | undefined,
          interface: o.interface as string | undefined,
          dhcpMode: o.dhcpMode as 'server' | 'proxy' | 'off' | undefined,
          pool: o.pool as string | undefined,
          httpPort: o.httpPort as number,
          tftpPort: o.tftpPort as number | undefined,
          uiHost: String(o.uiHost),
          uiPort: o.uiPort as number,
          files: o.files ? resolve(String(o.files)) : undefined,
          force: Boolean(o.force),
          resetStore: Boolean(o.resetStore),
          lab: Boolean(o.lab),
          uiSocket: o.uiSocket ? resolve(String(o.uiSocket)) : undefined,
        },
        io,
        logger,
      )
    })

  const nodes = program.command('nodes').description('list, add and remove nodes')
  nodes
    .command('list')
    .description('nodes in rack order')
    .addOption(dataDirOption())
    .option('--json', 'machine-readable output')
    .action(async (o: { dataDir: string; json?: boolean }) => {
      const session = await openSession(resolve(o.dataDir), logger)
      try {
        const list = await session.call('nodes/list', {})
        io.stdout(o.json ? `${JSON.stringify(list, null, 2)}\n` : formatNodes(list))
      } finally {
        await session.close()
      }
    })
  nodes
    .command('add <name>')
    .description('add a node (MAC in any common spelling)')
    .addOption(dataDirOption())
    .option('--mac <mac>', 'boot MAC, e.g. 52:54:00:12:34:56')
    .option('--ip <ip>', 'reserved IPv4 address')
    .option('--rack <rack>', 'rack name (with --slot)')
    .option('--slot <n>', 'slot (U position) in the rack', (v) => {
      if (!/^[0-9]+$/.test(v) || Number(v) < 1 || Number(v) > 60)
        throw new UsageError(`--slot '${v}' is not a slot number (1..60)`)
      return Number(v)
    })
    .option('--image <name>', 'image to boot')
    .action(
      async (
        name: string,
        o: { dataDir: string; mac?: string; ip?: string; rack?: string; slot?: number; image?: string },
      ) => {
        if ((o.rack === undefined) !== (o.slot === undefined))
          throw new UsageError('--rack and --slot go together')
        const session = await openSession(resolve(o.dataDir), logger)
        try {
          const node = await session.call('nodes/add', {
            name,
            mac: o.mac,
            ip: o.ip,
            rack: o.rack,
            slot: o.slot,
            image: o.image,
          })
          io.stdout(
            `added ${node.name}${node.macs[0] ? ` ${node.macs[0]}` : ''}${node.ipv4 ? ` ${node.ipv4}` : ''}\n`,
          )
        } finally {
          await session.close()
        }
      },
    )
  registerNodesSetCommand(nodes, { io, logger, dataDirOption })
  nodes
    .command('timeline <node-or-mac>')
    .description("a node's newest boots: milestones from power-on to agent up, the state and what went wrong")
    .addOption(dataDirOption())
    .option('--limit <n>', 'how many boots', (v) => {
      if (!/^[0-9]+$/.test(v) || Number(v) < 1 || Number(v) > 50)
        throw new UsageError(`--limit '${v}' is not 1..50`)
      return Number(v)
    })
    .option('--json', 'machine-readable output')
    .action(async (who: string, o: { dataDir: string; limit?: number; json?: boolean }) => {
      const mac = parseMac(who)
      const session = await openSession(resolve(o.dataDir), logger)
      try {
        const boots = await session.call(
          'nodes/timeline',
          mac.ok ? { mac: mac.value, limit: o.limit } : { node: who, limit: o.limit },
        )
        io.stdout(o.json ? `${JSON.stringify(boots, null, 2)}\n` : formatBoots(boots))
      } finally {
        await session.close()
      }
    })
  nodes
    .command('remove <name>')
    .description('remove a node')
    .addOption(dataDirOption())
    .action(async (name: string, o: { dataDir: string }) => {
      const session = await openSession(resolve(o.dataDir), logger)
      try {
        const r = await session.call('nodes/remove', { name })
        io.stdout(`removed ${r.removed}\n`)
      } finally {
        await session.close()
      }
    })

  const capture = program
    .command('capture')
    .description('capture mode of a running serve: unknown PXE nodes take the empty slots in rack order')
  const captureVerb = (verb: 'status' | 'start' | 'stop' | 'undo', description: string) =>
    capture
      .command(verb)
      .description(description)
      .addOption(dataDirOption())
      .option('--json', 'machine-readable output')
      .action(async (o: { dataDir: string; json?: boolean }) => {
        const session = await openSession(resolve(o.dataDir), logger)
        try {
          if (session.via !== 'running-serve')
            throw new RackbootError(
              'capture needs a running `rackboot serve` on this data dir (it owns the DHCP server)',
            )
          const s = await session.call(`capture/${verb}`, {})
          io.stdout(o.json ? `${JSON.stringify(s, null, 2)}\n` : formatCapture(s))
        } finally {
          await session.close()
        }
      })
  captureVerb('status', 'show whether capture is on, the next slot and any ambiguity')
  captureVerb('start', 'start capturing: power on the nodes in rack order')
  captureVerb('stop', 'stop capturing')
  captureVerb('undo', 'take back the last captured MAC')
  capture
    .command('resolve <macs...>')
    .description(
      'after an ambiguity: the MACs that arrived together, in rack order (first takes the next slot)',
    )
    .addOption(dataDirOption())
    .option('--json', 'machine-readable output')
    .action(async (macs: string[], o: { dataDir: string; json?: boolean }) => {
      const session = await openSession(resolve(o.dataDir), logger)
      try {
        if (session.via !== 'running-serve')
          throw new RackbootError(
            'capture needs a running `rackboot serve` on this data dir (it owns the DHCP server)',
          )
        const s = await session.call('capture/resolve', { order: macs.map((m) => m.toLowerCase()) })
        io.stdout(o.json ? `${JSON.stringify(s, null, 2)}\n` : formatCapture(s))
      } finally {
        await session.close()
      }
    })

  program
    .command('doctor')
    .description('check privileges, the interface, iPXE binaries and qemu; each problem with its fix')
    .option('--interface <name>', 'the provisioning NIC to check')
    .option(
      '--probe-dhcp',
      'also broadcast one DHCP DISCOVER on --interface and list other DHCP servers (3 s, root)',
    )
    .action(async (o: { interface?: string; probeDhcp?: boolean }) => {
      if (o.probeDhcp && !o.interface) throw new UsageError('--probe-dhcp needs --interface')
      const checks = await runChecks(await systemDoctorEnv(), o.interface ?? null)
      if (o.probeDhcp && o.interface) checks.push(await probeCheck(o.interface))
      io.stdout(formatChecks(checks))
      exitCode = checks.some((c) => c.level === 'fail') ? 1 : 0
    })

  registerInteropCommands(program, { io, logger, dataDirOption })
  registerLabCommands(program, { io, logger, dataDirOption })
  registerImagesCommands(program, { io, logger, dataDirOption })
  registerSimCommands(program, { io, logger, dataDirOption })
  registerSettingsCommands(program, { io, logger, dataDirOption })

  try {
    await program.parseAsync(argv, { from: 'user' })
    return exitCode
  } catch (e) {
    if (e instanceof CommanderError) {
      if (
        e.code === 'commander.helpDisplayed' ||
        e.code === 'commander.version' ||
        e.code === 'commander.help'
      )
        return 0
      return 2
    }
    if (e instanceof UsageError) {
      io.stderr(`error: ${e.message}\n(run \`rackboot --help\` for usage)\n`)
      return 2
    }
    if (e instanceof RackbootError) {
      io.stderr(`rackboot: ${e.message}${e.hint ? `\n  ${e.hint}` : ''}\n`)
      return 1
    }
    io.stderr(`rackboot: ${errorMessage(e)}\n`)
    return 1
  }
}

function formatBoots(boots: BootView[]): string {
  if (boots.length === 0) return 'no boots recorded yet\n'
  return boots
    .map((b) => {
      const t0 = Date.parse(b.startedAt)
      const rows = b.milestones.map((m) => [
        `+${((Date.parse(m.time) - t0) / 1000).toFixed(1)} s`,
        m.milestone,
        m.detail ?? '',
      ])
      const head = `boot ${b.startedAt} ${b.mac}${b.node ? ` (${b.node})` : ''}: ${b.state}, at ${b.stage ?? '-'}`
      const restarts = b.serverRestarts.length ? `\n  server restarted at ${b.serverRestarts.join(', ')}` : ''
      return `${head}${b.problem ? `\n  problem: ${b.problem}` : ''}${restarts}\n${formatTable(['AT', 'MILESTONE', 'DETAIL'], rows)}`
    })
    .join('\n')
}

function formatCapture(s: CaptureStatus): string {
  const lines = [`capture ${s.active ? 'ON' : 'off'}`]
  if (s.next)
    lines.push(
      `next slot: ${s.next.rack ?? '-'}/${s.next.slot ?? '-'} (${s.next.node}) — power on that node now`,
    )
  else lines.push('no empty slot left: plan more nodes first')
  if (s.last) lines.push(`last captured: ${s.last.mac} -> ${s.last.node}`)
  if (s.ambiguity)
    lines.push(
      `PAUSED: ${s.ambiguity.candidates.join(' and ')} arrived together for ${s.ambiguity.node}; resolve in the UI or with \`rackboot capture resolve MAC MAC\``,
    )
  if (s.waiting.length > 0) lines.push(`unknown MACs seen: ${s.waiting.join(', ')}`)
  return lines.join('\n') + '\n'
}

function formatNodes(list: Node[]): string {
  if (list.length === 0)
    return 'no nodes yet: add one with `rackboot nodes add NAME --mac MAC`, or capture them from the UI\n'
  const rows = list.map((n) => [
    n.name,
    n.rack ? `${n.rack}/${n.slot ?? '-'}` : '-',
    n.macs.join(',') || '-',
    n.ipv4 ?? '-',
    n.image ?? '-',
    n.state,
  ])
  const head = ['NAME', 'RACK/SLOT', 'MAC', 'IPV4', 'IMAGE', 'STATE']
  return formatTable(head, rows)
}
