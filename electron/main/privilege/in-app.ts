/** Electron glue for offer.ts: the packaged app's paths, a message box on the window, the hand-over. */
import { readFileSync } from 'node:fs'
import { app, dialog, type BrowserWindow } from 'electron'
import type { Logger } from '../../core/util/logger'
import type { Settings } from '../../core/inventory/schema'
import { linuxHelperPath } from '../resources'
import { offerElevation, type OfferOutcome } from './offer'
import type { CommandLine } from './commands'

export async function offerElevationInApp(
  error: unknown,
  window: BrowserWindow,
  settings: Pick<Settings, 'interface' | 'dhcpMode' | 'httpPort'>,
  dataDir: string,
  logger: Logger,
  /** Hands the data dir to the stack this command starts (core-host.ts); resolves when that is settled. */
  elevate: (command: CommandLine) => Promise<unknown>,
): Promise<OfferOutcome> {
  if (!app.isPackaged) {
    logger.warn(
      'boot stack needs administrator rights: in a source checkout run `sudo rackboot serve` instead',
    )
    return 'no-command'
  }
  const helperPath = linuxHelperPath(process.resourcesPath)
  const appImage = process.env.APPIMAGE ?? null
  return offerElevation(
    error,
    {
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
    },
    {
      ask: (options) => dialog.showMessageBox(window, options),
      launch: async (command) => void (await elevate(command)),
      logger,
    },
  )
}
