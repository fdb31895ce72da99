/**
 * The OS image store: `<dataDir>/images/<name>/` holds `kernel`, `rootfs.cpio.gz` (or the supplied
 * `initrd`), optionally `modules.cpio.gz`, and `manifest.json`. An import builds everything in
 * `<root>/.tmp-<random>/` and renames it into place only when complete; any failure or cancel removes the
 * temp dir, so a failed import leaves nothing behind.
 */
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ensureDir } from '../inventory/durable-file'
import { silentLogger, type Logger } from '../util/logger'
import { RackbootError, errorMessage } from '../util/result'
import {
  ProgressReporter,
  buildKernelInitrd,
  buildOci,
  buildRootfs,
  type BuildContext,
  type Built,
  type ImportOptions,
  type KernelInitrdSpec,
  type OciSpec,
  type RootfsSpec,
} from './import'
import {
  ARTIFACT_FILES,
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  isValidImageName,
  parseManifest,
  type ImageManifest,
} from './manifest'

export type ArtifactKind = 'kernel' | 'image' | 'modules'
/** Everything a caller of the store needs, from one module. */
export type { ImportOptions, ImportProgress, KernelInitrdSpec, OciSpec, RootfsSpec } from './import'
export { toInventoryImage, type ImageManifest } from './manifest'

const TMP_PREFIX = '.tmp-'

export class ImageStore {
  private readonly root: string
  private readonly logger: Logger
  private readonly now: () => Date
  /** Temp dirs of imports running in this process, which `sweep()` must not touch. */
  private readonly active = new Set<string>()

  constructor(opts: { root: string; logger?: Logger; now?: () => Date }) {
    this.root = opts.root
    this.logger = opts.logger ?? silentLogger
    this.now = opts.now ?? (() => new Date())
  }

  async list(): Promise<ImageManifest[]> {
    let names: string[]
    try {
      names = await readdir(this.root)
    } catch {
      return []
    }
    const out: ImageManifest[] = []
    for (const name of names.sort()) {
      if (!isValidImageName(name)) continue
      const m = await this.readManifest(name)
      if (m !== null) out.push(m)
    }
    return out
  }

  async get(name: string): Promise<ImageManifest | null> {
    if (!isValidImageName(name)) return null
    return this.readManifest(name)
  }

  async remove(name: string): Promise<void> {
    this.checkName(name)
    const dir = join(this.root, name)
    if (!existsSync(dir))
      throw new RackbootError(`image '${name}' not found under ${this.root}`, 'image-not-found')
    // Rename first so a half-deleted image is never listed.
    const doomed = await mkdtemp(join(this.root, `${TMP_PREFIX}rm-`))
    await rename(dir, join(doomed, name))
    await rm(doomed, { recursive: true, force: true })
    this.logger.info(`image '${name}' removed`)
  }

  importKernelInitrd(name: string, spec: KernelInitrdSpec, o: ImportOptions = {}): Promise<ImageManifest> {
    return this.run(name, 'kernel-initrd', spec.args, o, (ctx) => buildKernelInitrd(ctx, spec))
  }

  importOci(name: string, spec: OciSpec, o: ImportOptions = {}): Promise<ImageManifest> {
    return this.run(name, 'oci', spec.args, o, (ctx) => buildOci(ctx, spec))
  }

  importRootfs(name: string, spec: RootfsSpec, o: ImportOptions = {}): Promise<ImageManifest> {
    return this.run(name, 'rootfs', spec.args, o, (ctx) => buildRootfs(ctx, spec))
  }

  /** Host path of an artifact for the HTTP server, or null when the image or artifact does not exist. */
  artifactPath(name: string, kind: ArtifactKind): string | null {
    if (!isValidImageName(name)) return null
    const dir = join(this.root, name)
    const candidates =
      kind === 'kernel'
        ? [ARTIFACT_FILES.kernel]
        : kind === 'modules'
          ? [ARTIFACT_FILES.modules]
          : [ARTIFACT_FILES.rootfs, ARTIFACT_FILES.initrd]
    for (const file of candidates) {
      const path = join(dir, file)
      if (existsSync(path)) return path
    }
    return null
  }

  /** Removes temp dirs left by a crash or kill (not those of imports running now); returns how many. */
  async sweep(): Promise<number> {
    let names: string[]
    try {
      names = await readdir(this.root)
    } catch {
      return 0
    }
    let removed = 0
    for (const name of names) {
      const path = join(this.root, name)
      if (!name.startsWith(TMP_PREFIX) || this.active.has(path)) continue
      await rm(path, { recursive: true, force: true })
      removed++
    }
    if (removed > 0) this.logger.warn(`removed ${removed} unfinished import(s) under ${this.root}`)
    return removed
  }

  private checkName(name: string): void {
    if (!isValidImageName(name))
      throw new RackbootError(
        `'${name}' is not a valid image name`,
        'bad-name',
        'use 1-64 letters, digits, . _ - starting with a letter or digit',
      )
  }

  private async readManifest(name: string): Promise<ImageManifest | null> {
    const path = join(this.root, name, MANIFEST_FILE)
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch {
      return null
    }
    const parsed = parseManifest(text, path)
    if (!parsed.ok) {
      this.logger.warn(`ignoring image '${name}': ${parsed.error}`)
      return null
    }
    return parsed.value
  }

  private async run(
    name: string,
    kind: ImageManifest['kind'],
    args: string | undefined,
    o: ImportOptions,
    build: (ctx: BuildContext) => Promise<Built>,
  ): Promise<ImageManifest> {
    this.checkName(name)
    const final = join(this.root, name)
    const exists = () =>
      new RackbootError(
        `image '${name}' already exists`,
        'image-exists',
        'choose another name or import with replace',
      )
    if (!o.replace && existsSync(final)) throw exists()
    let dir: string
    try {
      await ensureDir(this.root)
      dir = await mkdtemp(join(this.root, TMP_PREFIX))
    } catch (e) {
      throw new RackbootError(
        `cannot create a temp dir under ${this.root}: ${errorMessage(e)}`,
        'store-unwritable',
      )
    }
    this.active.add(dir)
    const progress = new ProgressReporter(o.onProgress)
    try {
      const scratch = join(dir, 'scratch')
      await mkdir(scratch)
      const warnings: string[] = []
      const built = await build({ dir, scratch, signal: o.signal, warnings, progress })
      await rm(scratch, { recursive: true, force: true })
      o.signal?.throwIfAborted()
      const a = built.artifacts
      const manifest: ImageManifest = {
        format: MANIFEST_FORMAT,
        name,
        kind,
        createdAt: this.now().toISOString(),
        kernelArgs: args ?? '',
        ...built,
        sizeBytes: a.kernel.size + a.image.size + (a.modules?.size ?? 0),
        warnings,
      }
      await writeFile(join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n', { flag: 'wx' })
      await this.moveIntoPlace(dir, final, name, o.replace === true, exists)
      for (const w of warnings) this.logger.warn(`image '${name}': ${w}`)
      this.logger.info(`image '${name}' imported (${kind}, ${manifest.sizeBytes} bytes)`)
      progress.report('done', manifest.sizeBytes, manifest.sizeBytes)
      return manifest
    } catch (e) {
      await rm(dir, { recursive: true, force: true })
      if (o.signal?.aborted) throw new RackbootError(`import of image '${name}' cancelled`, 'cancelled')
      if (e instanceof RackbootError) throw e
      throw new RackbootError(`import of image '${name}' failed: ${errorMessage(e)}`, 'import-failed')
    } finally {
      this.active.delete(dir)
    }
  }

  private async moveIntoPlace(
    dir: string,
    final: string,
    name: string,
    replace: boolean,
    exists: () => RackbootError,
  ): Promise<void> {
    if (!replace || !existsSync(final)) {
      try {
        await rename(dir, final)
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        if (code === 'ENOTEMPTY' || code === 'EEXIST') throw exists()
        throw e
      }
      return
    }
    // Replace: the old image stays complete until the new one is in place.
    const holder = await mkdtemp(join(this.root, `${TMP_PREFIX}old-`))
    const old = join(holder, name)
    await rename(final, old)
    try {
      await rename(dir, final)
    } catch (e) {
      await rename(old, final)
      await rm(holder, { recursive: true, force: true })
      throw e
    }
    await rm(holder, { recursive: true, force: true })
  }
}
