/**
 * `rackboot images import|list|remove`. Imports go through the contract (images/import), so they run in the
 * `rackboot serve` that owns the data dir when one is running, else in this process. Progress comes back as
 * `images/progress` events (the WebSocket of the running serve, or this process's core) and is printed on
 * stderr; Ctrl-C sends images/remove for the name, which cancels the import and leaves nothing behind.
 */
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Command, Option } from 'commander'
import WebSocket from 'ws'
import { z } from 'zod'
import type { CallResult, Channel, ImageProgressEvent, RequestOf, ResponseOf } from '../ipc/contract'
import type { Image } from '../core/inventory/schema'
import { Rackboot } from '../core/rackboot'
import { dispatch } from '../core/api/dispatch'
import { API_WS_PATH } from '../core/api/protocol'
import type { Logger } from '../core/util/logger'
import { RackbootError } from '../core/util/result'
import { type CliIo, UsageError } from './io'
import { API_HANDLE_FILE } from './serve'
import { formatTable } from './table'

export interface ImagesCliContext {
  io: CliIo
  logger: Logger
  dataDirOption: () => Option
  /** Calls `cancel` on Ctrl-C; returns the disposer. Default: process SIGINT (tests inject their own). */
  onInterrupt?: (cancel: () => void) => () => void
}

/** A contract session that also delivers import progress. */
interface ImagesSession {
  call<C extends Channel>(channel: C, request: RequestOf<C>): Promise<ResponseOf<C>>
  onProgress(listener: (p: ImageProgressEvent) => void): () => void
  close(): Promise<void>
}

const handleSchema = z.object({ url: z.string().url(), token: z.string().min(16), pid: z.number().int() })

function unwrap<C extends Channel>(result: CallResult<C>): ResponseOf<C> {
  if (result.ok) return result.value
  const details = result.error.details?.length ? `: ${result.error.details.join('; ')}` : ''
  throw new RackbootError(`${result.error.message}${details}`, result.error.code)
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Like cli/session.ts's openSession (same handle file, same fallback), plus events: session.ts has no event
 * stream yet; when it grows one this folds into it.
 */
async function openImagesSession(dataDir: string, logger: Logger): Promise<ImagesSession> {
  const text = await readFile(join(dataDir, API_HANDLE_FILE), 'utf8').catch(() => null)
  const handle = handleSchema.safeParse(safeJson(text))
  if (handle.success && alive(handle.data.pid)) {
    const { url, token, pid } = handle.data
    const listeners = new Set<(p: ImageProgressEvent) => void>()
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}${API_WS_PATH}?token=${encodeURIComponent(token)}`)
    // Progress is a nicety: a socket that fails only costs the progress lines.
    ws.on('error', () => {})
    ws.on('message', (data: WebSocket.RawData) => {
      let frame: unknown
      try {
        frame = JSON.parse(data.toString())
      } catch {
        return
      }
      const f = frame as { event?: unknown; payload?: unknown }
      if (f.event === 'images/progress') for (const l of listeners) l(f.payload as ImageProgressEvent)
    })
    await new Promise<void>((r) => {
      ws.once('open', () => r())
      ws.once('error', () => r())
    })
    return {
      async call(channel, request) {
        const res = await fetch(`${url}/api/${channel}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(request),
        }).catch((e: unknown) => {
          throw new RackbootError(`cannot reach the running rackboot (PID ${pid}) at ${url}: ${String(e)}`)
        })
        return unwrap((await res.json()) as CallResult<typeof channel>)
      },
      onProgress(l) {
        listeners.add(l)
        return () => listeners.delete(l)
      },
      close: async () => {
        ws.terminate()
      },
    }
  }
  const core = await Rackboot.open({ dataDir, logger })
  return {
    call: async (channel, request) => unwrap(await dispatch(core.handlers, channel, request)),
    onProgress: (l) => core.bus.on('images/progress', l),
    close: () => core.close(),
  }
}

function safeJson(text: string | null): unknown {
  try {
    return text === null ? null : JSON.parse(text)
  } catch {
    return null
  }
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
      const session = await openImagesSession(resolve(o.dataDir), ctx.logger)
      let cancelled = false
      const stopInterrupt = (ctx.onInterrupt ?? processInterrupt)(() => {
        if (cancelled) return
        cancelled = true
        io.stderr(`cancelling the import of ${name}…\n`)
        session.call('images/remove', { name }).catch(() => {})
      })
      const stopProgress = session.onProgress(progressPrinter(io, name))
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
      const session = await openImagesSession(resolve(o.dataDir), ctx.logger)
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
      const session = await openImagesSession(resolve(o.dataDir), ctx.logger)
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
