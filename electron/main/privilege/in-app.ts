/** Electron glue for offer.ts: the packaged app's paths, a message box on the window, a detached launch. */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { app, dialog, type BrowserWindow } from 'electron'
import type { Logger } from '../../core/util/logger'
import type { Settings } from '../../core/inventory/schema'
import { linuxHelperPath } from '../resources'
import { offerElevation, type OfferOutcome } from './offer'
import type { CommandLine } from './commands'

function launchDetached(command: CommandLine): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command.command, command.args, { detached: true, stdio: 'ignore' })
    child.once('error', reject)
    child.once('spawn', () => {
      child.unref()
      resolve()
    })
  })
}

export async function offerElevationInApp(
  error: unknown,
  window: BrowserWindow,
  settings: Pick<Settings, 'interface' | 'dhcpMode' | 'httpPort'>,
  dataDir: string,
  logger: Logger,
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
      launch: launchDetached,
      logger,
    },
  )
}
