/**
 * When the boot stack cannot bind its ports, say so in one sentence and offer one button that starts it with
 * administrator rights (one OS prompt). Without it the app stays open and explains in the status bar.
 * Electron's dialog and the process spawner are injected, so the decision is tested without either.
 */
import type { Logger } from '../../core/util/logger'
import { RackbootError, errorMessage, type Result } from '../../core/util/result'
import type { DhcpMode } from '../../core/inventory/schema'
import { linuxElevatedServe, windowsElevatedServe, type CommandLine, type LinuxElevation } from './commands'

export const ELEVATE_BUTTON = 'Start the boot stack with administrator rights'
export const DECLINE_BUTTON = 'Not now'

/** supervisor.ts bindError() tags EACCES as 'permission'; raw errno errors are accepted too. */
export function isPermissionError(e: unknown): boolean {
  if (e instanceof RackbootError) return e.code === 'permission'
  const code = (e as { code?: unknown } | null)?.code
  return code === 'EACCES' || code === 'EPERM'
}

export function elevationSentence(interfaceName: string, platform: NodeJS.Platform): string {
  const who = platform === 'win32' ? 'administrator rights and a firewall rule' : 'administrator rights'
  return `The boot stack needs ${who} to answer DHCP and TFTP on ${interfaceName}; everything else in Rackboot works without them.`
}

export interface ElevationContext {
  platform: NodeJS.Platform
  settings: { interface: string | null; dhcpMode: DhcpMode; httpPort: number }
  dataDir: string
  /** process.execPath of the packaged app. */
  execPath: string
  /** Linux: the helper and how to start the app (see LinuxElevation). */
  linux: Omit<LinuxElevation, 'app'> & { appImage: string | null }
}

/** The command for this OS, or why there is none (no interface chosen, unsupported OS, bad name). */
export function elevationCommand(ctx: ElevationContext): Result<CommandLine> {
  const iface = ctx.settings.interface
  if (!iface) return { ok: false, error: 'no provisioning interface chosen yet' }
  const req = { interfaceName: iface, dhcpMode: ctx.settings.dhcpMode, dataDir: ctx.dataDir }
  if (ctx.platform === 'linux')
    return linuxElevatedServe(req, {
      helper: ctx.linux.helper,
      pkexec: ctx.linux.pkexec,
      app: ctx.linux.appImage ? [ctx.linux.appImage, '--appimage-extract-and-run'] : [ctx.execPath],
    })
  if (ctx.platform === 'win32')
    return windowsElevatedServe(req, {
      program: ctx.execPath,
      interfaceAlias: iface,
      httpPort: ctx.settings.httpPort,
    })
  return { ok: false, error: `no administrator prompt on ${ctx.platform}: run \`sudo rackboot serve\`` }
}

export interface OfferDeps {
  ask(options: {
    type: 'warning'
    message: string
    buttons: string[]
    defaultId: number
    cancelId: number
  }): Promise<{ response: number }>
  /** Starts the command detached; resolves once it is launched (not when the stack is up). */
  launch(command: CommandLine): Promise<void>
  logger: Logger
}

export type OfferOutcome = 'not-a-permission-error' | 'no-command' | 'declined' | 'launched' | 'launch-failed'

export async function offerElevation(
  error: unknown,
  ctx: ElevationContext,
  deps: OfferDeps,
): Promise<OfferOutcome> {
  if (!isPermissionError(error)) return 'not-a-permission-error'
  const command = elevationCommand(ctx)
  if (!command.ok) {
    deps.logger.warn(`boot stack needs administrator rights; no prompt offered: ${command.error}`)
    return 'no-command'
  }
  const { response } = await deps.ask({
    type: 'warning',
    message: elevationSentence(ctx.settings.interface ?? '', ctx.platform),
    buttons: [ELEVATE_BUTTON, DECLINE_BUTTON],
    defaultId: 0,
    cancelId: 1,
  })
  if (response !== 0) return 'declined'
  try {
    await deps.launch(command.value)
    return 'launched'
  } catch (e) {
    deps.logger.error(`starting the boot stack with administrator rights failed: ${errorMessage(e)}`)
    return 'launch-failed'
  }
}
