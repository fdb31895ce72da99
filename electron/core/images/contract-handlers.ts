/**
 * The images channels of the contract (images/list, images/import, images/remove) over the image store and
 * the inventory. The store holds the artifacts; the inventory holds one Image record per stored image, which
 * is what nodes refer to. An import in flight can be cancelled by removing its name.
 */
import type { Handlers, ImageProgressEvent } from '../../ipc/contract'
import type { Image } from '../inventory/schema'
import type { Store } from '../inventory/store'
import { RackbootError } from '../util/result'
import { toInventoryImage, type ImageManifest, type ImageStore, type ImportOptions } from './store'

export type ImagesChannel = 'images/list' | 'images/import' | 'images/remove'

export interface ImagesHandlerDeps {
  images: ImageStore
  /** The inventory store, to record and forget Image entries. */
  inventory: Store
  /** Told of every progress step of every import (the core forwards these as `images/progress`). */
  onProgress?: (p: ImageProgressEvent) => void
}

/** Records (or replaces) the inventory entry of a stored image. */
export function recordImage(inventory: Store, manifest: ImageManifest, kind?: Image['kind']): Promise<Image> {
  const image = { ...toInventoryImage(manifest), ...(kind ? { kind } : {}) }
  return inventory.update((db) => {
    const i = db.images.findIndex((x) => x.name === image.name)
    if (i >= 0) db.images[i] = image
    else db.images.push(image)
    return image
  })
}

export function createImagesHandlers(deps: ImagesHandlerDeps): Pick<Handlers, ImagesChannel> {
  const { images, inventory } = deps
  /** Imports running in this process, by image name: removing the name aborts the import. */
  const running = new Map<string, { abort: AbortController; finished: Promise<unknown> }>()

  return {
    'images/list': async () => [...inventory.data.images].sort((a, b) => a.name.localeCompare(b.name)),

    'images/import': async (req) => {
      if (running.has(req.name))
        throw new RackbootError(`image '${req.name}' is being imported already`, 'conflict')
      const abort = new AbortController()
      const o: ImportOptions = {
        signal: abort.signal,
        replace: req.replace,
        onProgress: (p) => deps.onProgress?.({ name: req.name, ...p }),
      }
      const work = (async () => {
        const manifest =
          req.kind === 'kernel-initrd'
            ? await images.importKernelInitrd(
                req.name,
                { kernel: req.kernel!, initrd: req.initrd!, args: req.args },
                o,
              )
            : req.kind === 'oci'
              ? await images.importOci(
                  req.name,
                  { source: req.oci!, kernel: req.kernel, initrd: req.initrd, args: req.args },
                  o,
                )
              : await images.importRootfs(
                  req.name,
                  { source: req.rootfs!, kernel: req.kernel, args: req.args },
                  o,
                )
        return recordImage(inventory, manifest)
      })()
      running.set(req.name, { abort, finished: work.catch(() => undefined) })
      try {
        return await work
      } catch (e) {
        if (e instanceof RackbootError && e.code === 'image-exists')
          throw new RackbootError(e.message, 'conflict', e.hint)
        if (e instanceof RackbootError && (e.code === 'source-missing' || e.code === 'bad-name'))
          throw new RackbootError(e.message, 'bad-request', e.hint)
        throw e
      } finally {
        running.delete(req.name)
      }
    },

    'images/remove': async ({ name }) => {
      const inFlight = running.get(name)
      if (inFlight) {
        inFlight.abort.abort()
        await inFlight.finished
        return { removed: name, cancelled: true }
      }
      const users = inventory.data.nodes.filter((n) => n.image === name).map((n) => n.name)
      if (users.length > 0)
        throw new RackbootError(
          `image '${name}' is used by node${users.length === 1 ? '' : 's'} ${users.join(', ')}`,
          'conflict',
          'give those nodes another image first (or remove them)',
        )
      const known = inventory.data.images.some((i) => i.name === name)
      const stored = (await images.get(name)) !== null
      if (!known && !stored) {
        const names = inventory.data.images.map((i) => i.name)
        throw new RackbootError(
          `no image named '${name}' (images: ${names.join(', ') || 'none'})`,
          'not-found',
        )
      }
      if (stored) await images.remove(name)
      if (known)
        await inventory.update((db) => {
          db.images = db.images.filter((i) => i.name !== name)
        })
      return { removed: name, cancelled: false }
    },
  }
}
