/**
 * The app's life: harden, open the core, wire IPC, show the window, and close the core before quitting.
 * Everything here is glue; decisions live in the pure modules next to it.
 */
import { app, dialog, ipcMain, session, shell, type BrowserWindow } from 'electron'
import type { Settings } from '../core/inventory/schema'
import { defaultDataDir, ipxeRoots } from '../core/paths'
import type { Logger } from '../core/util/logger'
import { errorMessage } from '../core/util/result'
import { contentSecurityPolicy, hardenSession, hardenWebContents, isTrustedSender } from './security'
import { createInvokeHandler, forwardEvents, registerInvokeHandler } from './ipc'
import { createMainWindow } from './window'
import { isPermissionError } from './privilege/offer'
import { offerElevationInApp } from './privilege/in-app'
import { startElevatedStack } from './privilege/elevated-stack'
import { openInProcess } from './backend/in-process'
import { connectRemote } from './backend/remote'
import { openCoreHost, type CoreHost } from './core-host'
import type { AppLocation } from './app-location'

/** Starts the app; resolves true once the window is up, false when startup failed (the app then exits 1). */
export function runApp(location: AppLocation, logger: Logger): Promise<boolean> {
  let host: CoreHost | null = null
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
    const opened = await openCoreHost({
      openLocal: () => openInProcess({ dataDir, logger, ipxeRoots: ipxeRoots() }),
      startElevated: (command) => startElevatedStack(command, { logger }),
      connect: (stack, onLost) => connectRemote({ origin: stack.origin, token: stack.token, logger, onLost }),
      // The host also sends each notice to the window as an `app/notice` event.
      notify: (notice) => logger[notice.level](notice.message),
      logger,
    })
    host = opened.host
    const core = opened.host
    logger.info(`core open, data in ${dataDir}`)
    const handler = createInvokeHandler({
      dispatch: (channel, payload) => core.dispatch(channel, payload),
      isTrustedSender: (event) => isTrustedSender(event, location.appUrl),
      logger,
    })
    disposers.push(registerInvokeHandler(ipcMain, handler))
    const win = createMainWindow({ appUrl: location.appUrl, preloadPath: location.preloadPath })
    window = win
    disposers.push(
      forwardEvents(core, {
        isDestroyed: () => win.isDestroyed(),
        send: (c, m) => win.webContents.send(c, m),
      }),
    )
    // Missing privileges: one sentence and one button that asks the OS once (privilege/offer.ts); yes hands
    // the data dir to the elevated stack (core-host.ts).
    if (isPermissionError(opened.stackError)) {
      const settings = await core.dispatch('settings/get', {})
      if (settings.ok)
        void offerElevationInApp(opened.stackError, win, settings.value as Settings, dataDir, logger, (c) =>
          core.elevate(c),
        )
    }
  }

  async function stop(): Promise<void> {
    for (const dispose of disposers.splice(0).reverse()) dispose()
    const open = host
    host = null
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
