/**
 * The embedded default image, `rackboot-rescue`: a Debian kernel, NIC and disk drivers and busybox, built by
 * build/default-image.sh into resources/default-image/rackboot-rescue.tar.gz. ensureDefaultImage() imports it
 * into the image store (and the inventory, as kind 'default') when it is absent, so a fresh install can boot
 * a node, and unknown MACs under the 'default-image' policy, without the user importing anything.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Image } from '../inventory/schema'
import type { Store } from '../inventory/store'
import type { Logger } from '../util/logger'
import { shippedResourcesDir } from '../paths'
import { recordImage } from './contract-handlers'
import type { ImageStore, ImportOptions } from './store'

export const DEFAULT_IMAGE_NAME = 'rackboot-rescue'
/** Output of build/default-image.sh, under the shipped resources: the root file system and its kernel. */
export const DEFAULT_IMAGE_ARCHIVE = join('default-image', 'rackboot-rescue.tar.gz')
export const DEFAULT_IMAGE_KERNEL = join('default-image', 'vmlinuz')
/** Console on the first serial port too (last console= is /dev/console): a rack's view is a serial console. */
export const DEFAULT_IMAGE_ARGS = 'console=tty0 console=ttyS0,115200'

export interface DefaultImageCore {
  images: ImageStore
  store: Store
  logger: Logger
}

export type DefaultImageOutcome =
  | { status: 'present'; image: Image }
  | { status: 'imported'; image: Image }
  /** The archive was not built: `npm run build:default-image` (or .ci/install) makes it. */
  | { status: 'no-archive'; path: string }

/** Where the built default image is looked for. */
export function defaultImageFiles(resourcesDir: string = shippedResourcesDir()): {
  archive: string
  kernel: string
} {
  return {
    archive: join(resourcesDir, DEFAULT_IMAGE_ARCHIVE),
    kernel: join(resourcesDir, DEFAULT_IMAGE_KERNEL),
  }
}

/**
 * Imports `rackboot-rescue` when the store lacks it, and makes sure the inventory lists it as kind 'default'.
 * Never replaces an existing image of that name. A missing archive is logged and reported, not thrown: the
 * core runs without a default image (unknown nodes then wait).
 */
export async function ensureDefaultImage(
  core: DefaultImageCore,
  o: { resourcesDir?: string; signal?: AbortSignal; onProgress?: ImportOptions['onProgress'] } = {},
): Promise<DefaultImageOutcome> {
  const stored = await core.images.get(DEFAULT_IMAGE_NAME)
  if (stored !== null) {
    const listed = core.store.data.images.find((i) => i.name === DEFAULT_IMAGE_NAME)
    const image = listed ?? (await recordImage(core.store, stored, 'default'))
    return { status: 'present', image }
  }
  const { archive, kernel } = defaultImageFiles(o.resourcesDir)
  const absent = [archive, kernel].find((f) => !existsSync(f))
  if (absent !== undefined) {
    core.logger.warn(
      `default image '${DEFAULT_IMAGE_NAME}' not available: ${absent} is missing; build it with \`npm run build:default-image\``,
    )
    return { status: 'no-archive', path: absent }
  }
  const manifest = await core.images.importRootfs(
    DEFAULT_IMAGE_NAME,
    { source: archive, kernel, args: DEFAULT_IMAGE_ARGS },
    { signal: o.signal, onProgress: o.onProgress },
  )
  const image = await recordImage(core.store, manifest, 'default')
  core.logger.info(`default image '${DEFAULT_IMAGE_NAME}' imported from ${archive}`)
  return { status: 'imported', image }
}

/**
 * Makes sure the default image is in the store without delaying start-up: the import (a few seconds, once
 * per data dir) runs in the background; stop() cancels it (nothing half-written stays) and waits for it, so
 * the caller can close the store afterwards.
 */
export function importDefaultImageInBackground(core: DefaultImageCore): { stop(): Promise<void> } {
  const abort = new AbortController()
  const running = ensureDefaultImage(core, { signal: abort.signal }).then(
    () => undefined,
    (e: unknown) => {
      if (!abort.signal.aborted)
        core.logger.warn(
          `default image '${DEFAULT_IMAGE_NAME}' not imported: ${e instanceof Error ? e.message : String(e)}`,
        )
    },
  )
  return {
    stop: async () => {
      abort.abort()
      await running
    },
  }
}
