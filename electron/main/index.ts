/** Electron entry: one instance, sandbox everywhere, then the app lifecycle. */
import { app } from 'electron'
import { stderrLogger } from '../core/util/logger'
import { resolveAppLocation } from './app-location'
import { runApp } from './lifecycle'

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
