/**
 * `rackboot sim storm`: N simulated PXE machines powered on at once against a real `rackboot serve`, all in
 * namespaces of their own (root, Linux). Prints one JSON summary: nodes ok/failed, per-stage p50/p95, bytes,
 * wall time and, on a shaped link, the physical limit (bytes ÷ rate). `rackboot sim clients` is its client
 * half, run by the storm inside the client namespace.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Command, Option } from 'commander'
import { bindToInterface } from '../core/net/bind'
import { powerOnQemuNodes, type QemuNodeResult, type QemuStorm } from '../core/sim/qemu-nodes'
import { StormRig } from '../core/sim/rig'
import { runStormClients, type StormClientsConfig } from '../core/sim/storm'
import type { StormSummary } from '../core/sim/summary'
import type { Logger } from '../core/util/logger'
import { RackbootError } from '../core/util/result'
import { type CliIo, UsageError } from './io'

export interface SimCliContext {
  io: CliIo
  logger: Logger
  dataDirOption: () => Option
}

/** `1gbit`, `100mbit`, `500kbit` → bytes per second (tc's units: bits, SI prefixes); null when not a rate. */
export function linkBytesPerSecond(rate: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(k|m|g)?bit$/i.exec(rate)
  if (!m) return null
  const mult = { k: 1e3, m: 1e6, g: 1e9 }[(m[2] ?? '').toLowerCase() as 'k' | 'm' | 'g'] ?? 1
  return (Number(m[1]) * mult) / 8
}

export interface StormReport extends StormSummary {
  link: string | null
  /** totalBytes ÷ link rate, in ms (null unshaped). */
  physicalLimitMs: number | null
  /** wallMs ÷ physicalLimitMs. */
  vsLimit: number | null
}

export function withLimit(s: StormSummary, link: string | null): StormReport {
  const rate = link ? linkBytesPerSecond(link) : null
  const limit = rate ? (s.totalBytes / rate) * 1000 : null
  return { ...s, link, physicalLimitMs: limit, vsLimit: limit ? s.wallMs / limit : null }
}

export interface StormQemuReport {
  nodes: number
  ok: number
  failed: number
  machines: QemuNodeResult[]
}

/**
 * Adds the QEMU nodes to the counts (nodes, ok, failed, failures) and lists them under `qemu`. Time, bytes and
 * the limit stay the simulated nodes': a TCG machine spends tens of seconds in emulated firmware and kernel.
 */
export function withQemu(
  r: StormReport,
  machines: QemuNodeResult[],
): StormReport & { qemu: StormQemuReport } {
  const ok = machines.filter((m) => m.ok).length
  return {
    ...r,
    nodes: r.nodes + machines.length,
    ok: r.ok + ok,
    failed: r.failed + machines.length - ok,
    failures: [
      ...r.failures,
      ...machines
        .filter((m) => !m.ok)
        .map((m) => `${m.name} (QEMU ${m.mac}): ${m.errors.at(-1) ?? 'unknown'}`),
    ],
    qemu: { nodes: machines.length, ok, failed: machines.length - ok, machines },
  }
}

/** A failed client run ends the QEMU wait too, then fails as it would have. */
const stopping =
  (q: QemuStorm) =>
  (e: unknown): never => {
    q.stop()
    throw e
  }

function selfCommand(): string[] {
  return [process.execPath, ...process.execArgv, resolve(process.argv[1] ?? 'bin/rackboot.js')]
}

export function registerSimCommands(program: Command, ctx: SimCliContext): void {
  const sim = program.command('sim').description('simulated machines against a real serve (root, Linux)')
  sim
    .command('storm')
    .description('power on N simulated PXE machines at once; prints a JSON summary')
    .requiredOption('--nodes <n>', 'how many machines', (v) => {
      if (!/^[0-9]+$/.test(v) || Number(v) < 1 || Number(v) > 1000)
        throw new UsageError(`--nodes '${v}' is not 1..1000`)
      return Number(v)
    })
    .option('--firmware-mix <bios:uefi>', 'share of BIOS and UEFI machines', '1:1')
    .option(
      '--image <name>',
      'an image already in --data-dir (default: a synthetic 4 MiB kernel + 8 MiB image)',
    )
    .option('--link <rate>', 'shape the server link with tc tbf, e.g. 1gbit')
    .option('--data-dir <dir>', 'data dir to serve from (default: a fresh temp dir, removed afterwards)')
    .option('--prefix <p>', 'namespace name prefix', 'rbst')
    .option('--subnet <cidr>', 'boot subnet inside 198.18.0.0/15', '198.19.64.0/22')
    .option('--deadline <s>', 'give up after this many seconds', '600')
    .option(
      '--qemu <k>',
      'also power on K real QEMU machines (TCG, BIOS, iPXE ROM) that boot the default image over the same link',
      (v) => {
        if (!/^[0-9]+$/.test(v) || Number(v) > 16) throw new UsageError(`--qemu '${v}' is not 0..16`)
        return Number(v)
      },
      0,
    )
    .option('--qemu-mem <mib>', 'memory of each QEMU machine', '512')
    .action(
      async (o: {
        nodes: number
        firmwareMix: string
        image?: string
        link?: string
        dataDir?: string
        prefix: string
        subnet: string
        deadline: string
        qemu: number
        qemuMem: string
      }) => {
        if (o.link && linkBytesPerSecond(o.link) === null)
          throw new UsageError(`--link '${o.link}' is not a rate like 1gbit or 100mbit`)
        const temp = o.dataDir ? null : mkdtempSync(join(tmpdir(), 'rackboot-storm-'))
        const rig = new StormRig({
          prefix: o.prefix,
          subnet: o.subnet,
          dataDir: o.dataDir ? resolve(o.dataDir) : temp!,
          selfCommand: selfCommand(),
          logger: ctx.logger,
          qemuSlots: o.qemu,
        })
        try {
          await rig.up()
          await rig.prepare({
            nodes: o.nodes,
            firmwareMix: o.firmwareMix,
            image: o.image,
            inventory: 'known',
            qemu: o.qemu,
          })
          await rig.shape(o.link ?? null)
          const deadlineMs = Number(o.deadline) * 1000
          const serve = await rig.startServe()
          const ra = o.qemu > 0 ? await rig.startRaSender(deadlineMs / 1000 + 60) : null
          try {
            const clients = await rig.startClients({ deadlineMs })
            const qemu = powerOnQemuNodes({
              nodes: rig.qemuNodes,
              spawn: (argv) => rig.spawnIn('cli', argv),
              artifactSizes: rig.qemuArtifactSizes,
              timelinesDir: join(rig.dataDir, 'timelines'),
              deadlineMs,
              memMiB: Number(o.qemuMem),
            })
            const simulated = withLimit(await clients.done.catch(stopping(qemu)), o.link ?? null)
            const report = o.qemu > 0 ? withQemu(simulated, await qemu.done) : simulated
            ctx.io.stdout(`${JSON.stringify(report, null, 2)}\n`)
            if (report.failed > 0)
              throw new RackbootError(
                `${report.failed} of ${report.nodes} machines did not boot`,
                'storm-failed',
              )
          } finally {
            await ra?.stop()
            await serve.stop()
          }
        } finally {
          await rig.down()
          if (temp) rmSync(temp, { recursive: true, force: true })
        }
      },
    )

  sim
    .command('clients', { hidden: true })
    .description('the client half of a storm, run inside its client namespace')
    .requiredOption('--config <file>', 'StormClientsConfig as JSON')
    .action(async (o: { config: string }) => {
      const cfg = JSON.parse(readFileSync(o.config, 'utf8')) as StormClientsConfig
      const socket = await bindToInterface({ interface: cfg.iface, address: '0.0.0.0', port: 68 })
      if (cfg.recordsFile) writeFileSync(cfg.recordsFile, '')
      try {
        const summary = await runStormClients(cfg, {
          socket,
          onNode: (r) => {
            if (cfg.recordsFile) appendFileSync(cfg.recordsFile, `${JSON.stringify(r)}\n`)
            ctx.logger.info(
              `${r.mac} ${r.ok ? `booted in ${r.stages.total} ms` : `FAILED: ${r.errors.at(-1)}`}${r.boots > 1 ? ` (boot ${r.boots})` : ''}`,
            )
          },
        })
        ctx.io.stdout(`${JSON.stringify(summary)}\n`)
      } finally {
        socket.close()
      }
    })
}
