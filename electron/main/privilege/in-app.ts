/** Electron glue for offer.ts: the packaged app's paths, a message box on the window, the hand-over. */
import { readFileSync } from 'node:fs'
import { app, dialog, type BrowserWindow } from 'electron'
import type { Logger } from '../../core/util/logger'
import type { Settings } from '../../core/inventory/schema'
import { err, type Result } from '../../core/util/result'
import { linuxHelperPath } from '../resources'
import { elevationCommand, offerElevation, type ElevationContext, type OfferOutcome } from './offer'
import type { CommandLine } from './commands'

type ElevationSettings = Pick<Settings, 'interface' | 'dhcpMode' | 'httpPort'>

/** How this packaged app asks for rights; null in a source checkout (no helper, no packaged executable). */
function elevationContextInApp(settings: ElevationSettings, dataDir: string): ElevationContext | null {
  if (!app.isPackaged) return null
  const helperPath = linuxHelperPath(process.resourcesPath)
  const appImage = process.env.APPIMAGE ?? null
  return {
    platform: process.platform,
    settings,
    dataDir,
    execPath: process.execPath,
    linux: {
      appImage,
      helper:
        process.platform === 'linux' && appImage
          ? { kind: 'inline', script: readFileSync(helperPath, 'utf8') }
          : { kind: 'installed', path: helperPath },
    },
  }
}

const SOURCE_CHECKOUT = 'in a source checkout run `sudo rackboot serve` instead'

/** The command the status bar's "Start with administrator rights" runs, or why there is none. */
export function elevationCommandInApp(settings: ElevationSettings, dataDir: string): Result<CommandLine> {
  const ctx = elevationContextInApp(settings, dataDir)
  return ctx ? elevationCommand(ctx) : err(SOURCE_CHECKOUT)
}

export async function offerElevationInApp(
  error: unknown,
  window: BrowserWindow,
  settings: ElevationSettings,
  dataDir: string,
  logger: Logger,
  /** Hands the data dir to the stack this command starts (core-host.ts); resolves when that is settled. */
  elevate: (command: CommandLine) => Promise<unknown>,
): Promise<OfferOutcome> {
  const ctx = elevationContextInApp(settings, dataDir)
  if (!ctx) {
    logger.warn(`boot stack needs administrator rights: ${SOURCE_CHECKOUT}`)
    return 'no-command'
  }
  return offerElevation(error, ctx, {
    ask: (options) => dialog.showMessageBox(window, options),
    launch: async (command) => void (await elevate(command)),
    logger,
  })
}
