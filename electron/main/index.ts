/** Electron entry: one instance, sandbox everywhere, then the app lifecycle (or the headless stack). */
import { app } from 'electron'
import { stderrLogger } from '../core/util/logger'
import { run as runCli } from '../cli/main'
import { resolveAppLocation } from './app-location'
import { runApp } from './lifecycle'
import { packagedResourcesEnv } from './resources'
import { serveModeArgv } from './serve-mode'

// A packaged app's iPXE, default image and templates live outside app.asar (electron-builder extraResources).
const resources = packagedResourcesEnv(app.isPackaged, process.resourcesPath, process.env)
if (resources) process.env[resources.name] = resources.value

const serveArgv = serveModeArgv(process.argv)
if (serveArgv) {
  // Headless boot stack started by the privilege prompt: no window, no single-instance lock (the window
  // holds it), the store's own lock keeps one writer per data dir.
  runCli(serveArgv).then(
    (code) => app.exit(code),
    (e: unknown) => {
      process.stderr.write(`rackboot: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
      app.exit(1)
    },
  )
} else {
  // Every renderer sandboxed, whatever a window's options say.
  app.enableSandbox()

  if (app.requestSingleInstanceLock()) {
    void runApp(resolveAppLocation(import.meta.url, process.env), stderrLogger('rackboot'))
    // `npm start` forwards Ctrl-C and SIGTERM here: quit through before-quit so the core closes cleanly.
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => app.quit())
  } else {
    // Another Rackboot owns the boot ports and the data dir; it gets focus via 'second-instance'.
    app.quit()
  }
}
