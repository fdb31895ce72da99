/** The core inside the window's process: store, inventory, boot stack (unprivileged, so maybe loopback only). */
import { Rackboot, type StackOptions } from '../../core/rackboot'
import { importDefaultImageInBackground } from '../../core/images/default-image'
import { dispatch } from '../../core/api/dispatch'
import type { Logger } from '../../core/util/logger'
import type { CoreBackend } from './backend'

export interface InProcessOptions {
  dataDir: string
  logger: Logger
  ipxeRoots: string[]
  /** Overrides of the stack settings (tests: ephemeral ports). */
  stack?: Omit<StackOptions, 'ipxeRoots'>
  /** Import the rescue image in the background (default true). */
  importDefaultImage?: boolean
}

export interface InProcessCore {
  backend: CoreBackend
  core: Rackboot
  /** Why the boot stack did not start (privileges, interface gone), or null when it runs. */
  stackError: unknown
}

/** Opens the store (takes the data dir lock), imports the rescue image in the background, starts the stack. */
export async function openInProcess(options: InProcessOptions): Promise<InProcessCore> {
  const { logger } = options
  const core = await Rackboot.open({ dataDir: options.dataDir, logger, headless: false })
  // The rescue image nodes boot when they have none: imported once per data dir, in the background.
  const defaultImage =
    options.importDefaultImage === false ? { stop: async () => {} } : importDefaultImageInBackground(core)
  // A failure (privileges, interface gone) shows in the status bar instead of stopping the app.
  let stackError: unknown = null
  await core.startStack({ ...options.stack, ipxeRoots: options.ipxeRoots }).catch((e: unknown) => {
    stackError = e
    logger.warn(`boot stack not started: ${String(e)}`)
  })
  let closing: Promise<void> | null = null
  const backend: CoreBackend = {
    kind: 'in-process',
    dispatch: (channel, payload) => dispatch(core.handlers, channel, payload, logger),
    onAny: (listener) => core.bus.onAny(listener),
    close: () =>
      (closing ??= (async () => {
        await defaultImage.stop()
        await core.close()
      })()),
  }
  return { backend, core, stackError }
}
