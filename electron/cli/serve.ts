/**
 * `rackboot serve`: the headless Rackboot. Opens the store, starts the boot stack (loopback only unless an
 * interface is chosen), serves the UI and the contract on loopback with a per-run token, prints exactly one
 * `rackboot ready {json}` line on stdout, and on SIGINT/SIGTERM closes every socket and flushes the store.
 */
import { readFile, writeFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Rackboot } from '../core/rackboot'
import { importDefaultImageInBackground } from '../core/images/default-image'
import {
  settingsPatchSchema,
  describeIssues,
  type DhcpMode,
  type SettingsPatch,
} from '../core/inventory/schema'
import { startApiServer, type ApiServer } from '../core/api/server'
import { ipxeRoots, rendererRoot } from '../core/paths'
import { ipToInt } from '../core/util/ipv4'
import { RackbootError, errorMessage } from '../core/util/result'
import type { Logger } from '../core/util/logger'
import { UsageError, type CliIo } from './io'
import { Lab } from '../core/lab/lab'
import { execIp } from '../core/lab/netns'
import { selfCommand } from './lab'
import { type Forwarder, listenSocketToTcp } from '../core/lab/ui-bridge'

export interface ServeOptions {
  dataDir: string
  config?: string
  interface?: string
  dhcpMode?: DhcpMode
  pool?: string
  httpPort?: number
  tftpPort?: number
  uiHost: string
  uiPort: number
  files?: string
  force?: boolean
  resetStore?: boolean
  /** This serve is a virtual rack's (started by `rackboot lab up`): its lab state is in the data dir. */
  lab?: boolean
  /** Also accept UI/API connections on this Unix socket (the lab's host bridge reaches the serve through it). */
  uiSocket?: string
}

/** The file through which other `rackboot` commands reach a running serve on the same data dir. */
export const API_HANDLE_FILE = 'rackboot.api.json'

export interface ReadyInfo {
  ui: string
  api: string
  http: string | null
  tftp: string | null
  dhcp: { mode: DhcpMode; listening: string | null }
  interface: string | null
  dataDir: string
  pid: number
}

export interface RunningServe {
  ready: ReadyInfo
  close(): Promise<void>
}

export function parsePool(text: string): { start: string; end: string } {
  const m = /^([0-9.]+)-([0-9.]+)$/.exec(text)
  const start = m ? ipToInt(m[1]!) : null
  const end = m ? ipToInt(m[2]!) : null
  if (!m || start === null || end === null)
    throw new UsageError(`--pool '${text}' is not START-END, e.g. 198.18.0.100-198.18.0.199`)
  if (start > end) throw new UsageError(`--pool '${text}': the start address is after the end address`)
  return { start: m[1]!, end: m[2]! }
}

async function loadConfig(file: string): Promise<SettingsPatch> {
  let raw: unknown
  try {
    raw = JSON.parse(await readFile(file, 'utf8'))
  } catch (e) {
    throw new RackbootError(`--config ${file}: cannot read it as JSON: ${errorMessage(e)}`, 'bad-request')
  }
  const parsed = settingsPatchSchema.safeParse(raw)
  if (!parsed.success)
    throw new RackbootError(`--config ${file}: ${describeIssues(parsed.error).join('; ')}`, 'bad-request')
  return parsed.data
}

export async function startServe(options: ServeOptions, logger: Logger): Promise<RunningServe> {
  if (!isLoopback(options.uiHost))
    throw new UsageError(
      `--ui-host '${options.uiHost}' is not a loopback address: the UI and API listen on loopback only (127.0.0.1, ::1)`,
    )
  const patch: SettingsPatch = options.config ? await loadConfig(options.config) : {}
  if (options.pool) patch.pool = parsePool(options.pool)
  const core = await Rackboot.open({
    dataDir: options.dataDir,
    resetStore: options.resetStore,
    logger,
    headless: true,
    lab: options.lab ? await labOf(options.dataDir, logger) : undefined,
  })
  // The rescue image nodes boot when they have none: imported once per data dir, in the background.
  const defaultImage = importDefaultImageInBackground(core)
  let api: ApiServer | null = null
  let uiSocket: Forwarder | null = null
  try {
    if (Object.keys(patch).length > 0) await core.repo.updateSettings(patch)
    const stack = await core.startStack({
      interface: options.interface ?? null,
      force: options.force,
      dhcpMode: options.dhcpMode ?? (options.interface ? undefined : 'off'),
      httpPort: options.httpPort,
      tftpPort: options.tftpPort ?? null,
      filesRoot: options.files ?? null,
      ipxeRoots: ipxeRoots(),
    })
    const staticRoot = rendererRoot()
    if (!staticRoot)
      logger.warn('the UI is not built (out/renderer missing): run `npm run build`; the API still works')
    api = await startApiServer({
      host: options.uiHost,
      port: options.uiPort,
      handlers: core.handlers,
      bus: core.bus,
      staticRoot,
      logger,
    })
    uiSocket = options.uiSocket
      ? await listenSocketToTcp(options.uiSocket, options.uiHost, Number(new URL(api.origin).port))
      : null
    const handle = join(options.dataDir, API_HANDLE_FILE)
    await writeFile(handle, JSON.stringify({ url: api.origin, token: api.token, pid: process.pid }), {
      mode: 0o600,
    })
    const ready: ReadyInfo = {
      ui: api.url,
      api: api.origin,
      http: core.supervisor.httpUrl(),
      tftp: stack.tftp.listening,
      dhcp: stack.dhcp,
      interface: stack.interface,
      dataDir: options.dataDir,
      pid: process.pid,
    }
    const apiServer = api
    const socketForwarder = uiSocket
    let closing: Promise<void> | null = null
    return {
      ready,
      close: () =>
        (closing ??= (async () => {
          await socketForwarder?.close()
          await apiServer.close()
          await rm(handle, { force: true })
          await defaultImage.stop()
          await core.close()
        })()),
    }
  } catch (e) {
    await uiSocket?.close()
    await api?.close()
    await defaultImage.stop()
    await core.close()
    throw e
  }
}

export async function runServe(options: ServeOptions, io: CliIo, logger: Logger): Promise<number> {
  const running = await startServe(options, logger)
  io.stdout(`rackboot ready ${JSON.stringify(running.ready)}\n`)
  logger.info(`UI: ${running.ready.ui}`)
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGINT', onInt)
      process.off('SIGTERM', onTerm)
      logger.info(`${signal}: stopping`)
      running.close().then(
        () => resolve(0),
        (e: unknown) => {
          logger.error(`while stopping: ${errorMessage(e)}`)
          resolve(1)
        },
      )
    }
    const onInt = () => stop('SIGINT')
    const onTerm = () => stop('SIGTERM')
    process.on('SIGINT', onInt)
    process.on('SIGTERM', onTerm)
  })
}

/** The lab whose state is in `dataDir`, for `serve --lab`; refuses when there is none. */
async function labOf(dataDir: string, logger: Logger): Promise<Lab> {
  const lab = new Lab({ dataDir, ip: execIp(), selfCommand: selfCommand(), logger })
  if (!(await lab.state()))
    throw new RackbootError(
      `serve --lab: no lab on ${dataDir}`,
      'lab-none',
      'the lab starts its own serve: `rackboot lab up`',
    )
  return lab
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.[0-9]+\.[0-9]+\.[0-9]+$/.test(host)
}
