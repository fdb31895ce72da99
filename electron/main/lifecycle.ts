/**
 * The app's life: harden, open the core, wire IPC, show the window, and close the core before quitting.
 * Everything here is glue; decisions live in the pure modules next to it.
 */
import { app, dialog, ipcMain, session, shell, type BrowserWindow } from 'electron'
import { defaultDataDir, ipxeRoots } from '../core/paths'
import { Rackboot } from '../core/rackboot'
import { importDefaultImageInBackground } from '../core/images/default-image'
import { dispatch } from '../core/api/dispatch'
import type { Logger } from '../core/util/logger'
import { errorMessage } from '../core/util/result'
import { contentSecurityPolicy, hardenSession, hardenWebContents, isTrustedSender } from './security'
import { createInvokeHandler, forwardEvents, registerInvokeHandler } from './ipc'
import { createMainWindow } from './window'
import { isPermissionError } from './privilege/offer'
import { offerElevationInApp } from './privilege/in-app'
import type { AppLocation } from './app-location'

/** Starts the app; resolves true once the window is up, false when startup failed (the app then exits 1). */
export function runApp(location: AppLocation, logger: Logger): Promise<boolean> {
  let core: Rackboot | null = null
  let defaultImage: { stop(): Promise<void> } | null = null
  let window: BrowserWindow | null = null
  const disposers: (() => void)[] = []
  let shutdown: Promise<void> | null = null
  let closed = false

  const openExternal = (url: string) => void shell.openExternal(url)
  app.on('web-contents-created', (_event, contents) =>
    hardenWebContents(contents, location.appUrl, openExternal),
  )

  app.on('second-instance', () => {
    if (!window || window.isDestroyed()) return
    if (window.isMinimized()) window.restore()
    window.focus()
  })

  app.on('window-all-closed', () => app.quit())

  // Quitting waits for the core to close its sockets and flush its store.
  app.on('before-quit', (event) => {
    if (closed) return
    event.preventDefault()
    shutdown ??= stop().finally(() => {
      closed = true
      app.quit()
    })
  })

  async function start(): Promise<void> {
    hardenSession(session.defaultSession, contentSecurityPolicy({ dev: location.dev }))
    // The same data dir as `rackboot serve`, so the CLI and the desktop app share one inventory.
    const dataDir = defaultDataDir()
    core = await Rackboot.open({ dataDir, logger, headless: false })
    logger.info(`core open, data in ${dataDir}`)
    // The rescue image nodes boot when they have none: imported once per data dir, in the background.
    defaultImage = importDefaultImageInBackground(core)
    // The stack starts as the settings say; with no interface chosen that is loopback only, DHCP off.
    // A failure (privileges, interface gone) shows in the status bar instead of stopping the app.
    let stackError: unknown = null
    await core.startStack({ ipxeRoots: ipxeRoots() }).catch((e: unknown) => {
      stackError = e
      logger.warn(`boot stack not started: ${String(e)}`)
    })
    const handler = createInvokeHandler({
      handlers: core.handlers,
      dispatch: (handlers, channel, payload) => dispatch(handlers, channel, payload, logger),
      isTrustedSender: (event) => isTrustedSender(event, location.appUrl),
      logger,
    })
    disposers.push(registerInvokeHandler(ipcMain, handler))
    const win = createMainWindow({ appUrl: location.appUrl, preloadPath: location.preloadPath })
    window = win
    // Missing privileges: one sentence and one button that asks the OS once (privilege/offer.ts).
    if (isPermissionError(stackError))
      void offerElevationInApp(stackError, win, core.repo.settings(), dataDir, logger)
    disposers.push(
      forwardEvents(core.bus, {
        isDestroyed: () => win.isDestroyed(),
        send: (c, m) => win.webContents.send(c, m),
      }),
    )
  }

  async function stop(): Promise<void> {
    for (const dispose of disposers.splice(0).reverse()) dispose()
    const open = core
    core = null
    await defaultImage?.stop()
    defaultImage = null
    if (open) {
      try {
        await open.close()
      } catch (e) {
        logger.error(`closing the core failed: ${errorMessage(e)}`)
      }
    }
  }

  return app
    .whenReady()
    .then(start)
    .then(
      () => true,
      async (e: unknown) => {
        const message = `Rackboot could not start: ${errorMessage(e)}`
        logger.error(message)
        dialog.showErrorBox('Rackboot', message)
        closed = true
        await stop()
        app.exit(1)
        return false
      },
    )
}
