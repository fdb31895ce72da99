/**
 * `rackboot images import|list|remove`. Imports go through the contract (images/import), so they run in the
 * `rackboot serve` that owns the data dir when one is running, else in this process. Progress comes back as
 * `images/progress` events (the WebSocket of the running serve, or this process's core) and is printed on
 * stderr; Ctrl-C sends images/remove for the name, which cancels the import and leaves nothing behind.
 */
import { resolve } from 'node:path'
import type { Command, Option } from 'commander'
import type { ImageProgressEvent, RequestOf } from '../ipc/contract'
import { RackbootError } from '../core/util/result'
import type { Image } from '../core/inventory/schema'
import type { Logger } from '../core/util/logger'
import { type CliIo, UsageError } from './io'
import { openSession } from './session'
import { formatTable } from './table'

export interface ImagesCliContext {
  io: CliIo
  logger: Logger
  dataDirOption: () => Option
  /** Calls `cancel` on Ctrl-C; returns the disposer. Default: process SIGINT (tests inject their own). */
  onInterrupt?: (cancel: () => void) => () => void
}

const SOURCES = ['--kernel/--initrd', '--oci', '--rootfs'] as const

interface ImportFlags {
  dataDir: string
  kernel?: string
  initrd?: string
  oci?: string
  rootfs?: string
  args?: string
  replace?: boolean
}

/** The contract request for `images import`, paths made absolute; usage errors name the flag. */
export function importRequest(name: string, o: ImportFlags, cwd: string): RequestOf<'images/import'> {
  const abs = (p: string | undefined) => (p === undefined ? undefined : resolve(cwd, p))
  const given = [
    o.kernel !== undefined && o.oci === undefined && o.rootfs === undefined ? SOURCES[0] : null,
    o.oci !== undefined ? SOURCES[1] : null,
    o.rootfs !== undefined ? SOURCES[2] : null,
  ].filter((s) => s !== null)
  if (o.oci !== undefined && o.rootfs !== undefined)
    throw new UsageError('--oci and --rootfs: give exactly one image source')
  if (given.length === 0)
    throw new UsageError(
      'give one image source: --kernel FILE --initrd FILE, --oci FILE|DIR or --rootfs DIR|TAR',
    )
  const base = { name, args: o.args, replace: Boolean(o.replace) }
  if (o.oci !== undefined)
    return { ...base, kind: 'oci', oci: abs(o.oci), kernel: abs(o.kernel), initrd: abs(o.initrd) }
  if (o.rootfs !== undefined) {
    if (o.initrd !== undefined)
      throw new UsageError('--initrd does not go with --rootfs (the modules come from the root file system)')
    return { ...base, kind: 'rootfs', rootfs: abs(o.rootfs), kernel: abs(o.kernel) }
  }
  if (o.initrd === undefined) throw new UsageError('--kernel needs --initrd (or use --oci / --rootfs)')
  return { ...base, kind: 'kernel-initrd', kernel: abs(o.kernel), initrd: abs(o.initrd) }
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`
}

/** One stderr line per phase and per 10 % step: readable in a CI log as well as a terminal. */
function progressPrinter(io: CliIo, name: string): (p: ImageProgressEvent) => void {
  let last = ''
  return (p) => {
    if (p.name !== name || p.phase === 'done') return
    const pct = p.total ? Math.min(100, Math.floor((p.bytes / p.total) * 10) * 10) : null
    const key = `${p.phase} ${pct ?? Math.floor(p.bytes / (64 * 1024 * 1024))}`
    if (key === last) return
    last = key
    const amount = p.total ? `${pct}% (${mib(p.bytes)} of ${mib(p.total)})` : mib(p.bytes)
    io.stderr(`importing ${name}: ${p.phase} ${amount}\n`)
  }
}

function processInterrupt(cancel: () => void): () => void {
  process.on('SIGINT', cancel)
  return () => process.off('SIGINT', cancel)
}

export function registerImagesCommands(program: Command, ctx: ImagesCliContext): void {
  const { io } = ctx
  const images = program.command('images').description('import, list and remove OS images')

  images
    .command('import <name>')
    .description('import an OS image: a kernel + initrd, an OCI image, or a root file system')
    .option('--kernel <file>', 'kernel (bzImage); with --oci or --rootfs, instead of the image’s own')
    .option('--initrd <file>', 'initrd for --kernel; with --oci, a gzip cpio of modules')
    .option('--oci <file|dir>', 'OCI layout directory, or a `docker save` / OCI archive')
    .option('--rootfs <dir|tar>', 'root file system as a directory or a tar (gz/xz/zstd)')
    .option('--args <args>', 'kernel arguments for nodes booting this image')
    .option('--replace', 'replace an existing image of the same name')
    .addOption(ctx.dataDirOption())
    .action(async (name: string, o: ImportFlags) => {
      const request = importRequest(name, o, process.cwd())
      const session = await openSession(resolve(o.dataDir), ctx.logger, { events: true })
      let cancelled = false
      const stopInterrupt = (ctx.onInterrupt ?? processInterrupt)(() => {
        if (cancelled) return
        cancelled = true
        io.stderr(`cancelling the import of ${name}…\n`)
        session.call('images/remove', { name }).catch(() => {})
      })
      const stopProgress = session.on('images/progress', progressPrinter(io, name))
      try {
        const image = await session.call('images/import', request)
        io.stdout(`imported ${image.name} (${image.kind}, ${mib(image.sizeBytes)})\n`)
      } catch (e) {
        if (cancelled)
          throw new RackbootError(`import of image '${name}' cancelled; nothing was kept`, 'cancelled')
        throw e
      } finally {
        stopProgress()
        stopInterrupt()
        await session.close()
      }
    })

  images
    .command('list')
    .description('images in the inventory')
    .option('--json', 'machine-readable output')
    .addOption(ctx.dataDirOption())
    .action(async (o: { dataDir: string; json?: boolean }) => {
      const session = await openSession(resolve(o.dataDir), ctx.logger)
      try {
        const list = await session.call('images/list', {})
        io.stdout(o.json ? `${JSON.stringify(list, null, 2)}\n` : formatImages(list))
      } finally {
        await session.close()
      }
    })

  images
    .command('remove <name>')
    .description('remove an image (refused while nodes use it)')
    .addOption(ctx.dataDirOption())
    .action(async (name: string, o: { dataDir: string }) => {
      const session = await openSession(resolve(o.dataDir), ctx.logger)
      try {
        const r = await session.call('images/remove', { name })
        io.stdout(r.cancelled ? `cancelled the import of ${r.removed}\n` : `removed ${r.removed}\n`)
      } finally {
        await session.close()
      }
    })
}

function formatImages(list: Image[]): string {
  if (list.length === 0)
    return 'no images yet: import one with `rackboot images import NAME --kernel FILE --initrd FILE`\n'
  const rows = list.map((i) => [
    i.name,
    i.kind,
    mib(i.sizeBytes),
    i.createdAt.slice(0, 19).replace('T', ' '),
    i.kernelArgs || '-',
  ])
  const head = ['NAME', 'KIND', 'SIZE', 'CREATED', 'KERNEL ARGS']
  return formatTable(head, rows)
}
