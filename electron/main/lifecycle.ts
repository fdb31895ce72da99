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
import { elevationCommandInApp, offerElevationInApp } from './privilege/in-app'
import { elevateFromUi } from './elevate-from-ui'
import { startElevatedStack } from './privilege/elevated-stack'
import { startElevatedDetached } from './privilege/elevated-detached'
import { openInProcess } from './backend/in-process'
import { connectRemote } from './backend/remote'
import { openCoreHost, type CoreHost } from './core-host'
import type { AppLocation } from './app-location'
import { IPC_EVENT } from '../ipc/contract'
import { createFileOpener } from './open-file/file-opener'
import { macsPathsFromArgv, readMacsFile } from './open-file/macs-file'
import { startupFailureMessage } from './startup-message'

/** How this process was started: file arguments (a `.macs` list double-clicked) come in through argv. */
export interface LaunchContext {
  argv: readonly string[]
  cwd: string
}

/** Shown in the first window when Rackboot is started again (the second start quits at once). */
export const SECOND_INSTANCE_MESSAGE =
  'Rackboot is already running: this is its window (one Rackboot per machine owns the boot ports and the data dir).'

/** Starts the app; resolves true once the window is up, false when startup failed (the app then exits 1). */
export function runApp(
  location: AppLocation,
  logger: Logger,
  launch: LaunchContext = { argv: process.argv, cwd: process.cwd() },
): Promise<boolean> {
  let host: CoreHost | null = null
  // The same data dir as `rackboot serve`, so the CLI and the desktop app share one inventory.
  const dataDir = defaultDataDir()
  let window: BrowserWindow | null = null
  const disposers: (() => void)[] = []
  let shutdown: Promise<void> | null = null
  let closed = false

  const openExternal = (url: string) => void shell.openExternal(url)
  app.on('web-contents-created', (_event, contents) =>
    hardenWebContents(contents, location.appUrl, openExternal),
  )

  // Vendor MAC lists opened from the OS wait here until the window's page can show them for review.
  const opener = createFileOpener({
    read: (path) => readMacsFile(path),
    send: (e) => {
      if (e.event === 'app/notice') logger[e.payload.level](e.payload.message)
      if (window && !window.isDestroyed()) window.webContents.send(IPC_EVENT, e)
    },
  })
  for (const path of macsPathsFromArgv(launch.argv, launch.cwd)) opener.open(path)
  // macOS: double-clicked files, also before 'ready'; without preventDefault macOS reports a failure.
  app.on('open-file', (event, path) => {
    event.preventDefault()
    opener.open(path)
  })

  app.on('second-instance', (_event, argv, workingDirectory) => {
    const files = macsPathsFromArgv(argv, workingDirectory)
    for (const path of files) opener.open(path)
    if (!window || window.isDestroyed()) return
    if (window.isMinimized()) window.restore()
    window.focus()
    if (files.length === 0)
      window.webContents.send(IPC_EVENT, {
        event: 'app/notice',
        payload: { level: 'info', message: SECOND_INSTANCE_MESSAGE },
      })
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
    const opened = await openCoreHost({
      openLocal: () => openInProcess({ dataDir, logger, ipxeRoots: ipxeRoots() }),
      // Linux: pkexec keeps the stack on our pipe. Windows: UAC's PowerShell detaches it (elevated-detached.ts).
      startElevated: (command) =>
        process.platform === 'win32'
          ? startElevatedDetached(command, { dataDir, logger })
          : startElevatedStack(command, { logger }),
      connect: (stack, onLost) => connectRemote({ origin: stack.origin, token: stack.token, logger, onLost }),
      // The host also sends each notice to the window as an `app/notice` event.
      notify: (notice) => logger[notice.level](notice.message),
      logger,
    })
    host = opened.host
    const core = opened.host
    logger.info(`core open, data in ${dataDir}`)
    const handler = createInvokeHandler({
      // app/elevate is main's own: only this process can ask the OS and hand the data dir over.
      dispatch: (channel, payload) =>
        channel === 'app/elevate'
          ? elevateFromUi(core, payload, (settings) => elevationCommandInApp(settings, dataDir))
          : core.dispatch(channel, payload),
      isTrustedSender: (event) => isTrustedSender(event, location.appUrl),
      logger,
    })
    disposers.push(registerInvokeHandler(ipcMain, handler))
    const win = createMainWindow({ appUrl: location.appUrl, preloadPath: location.preloadPath })
    window = win
    win.webContents.on('did-finish-load', () => opener.windowReady())
    win.webContents.on('did-start-loading', () => opener.windowGone())
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
        const message = startupFailureMessage(e, dataDir)
        logger.error(message)
        dialog.showErrorBox('Rackboot', message)
        closed = true
        await stop()
        app.exit(1)
        return false
      },
    )
}
