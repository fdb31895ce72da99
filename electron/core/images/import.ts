/**
 * The three import pipelines (kernel+initrd, OCI / docker archive, root file system). Each builds its
 * artifacts inside a temp dir given by the store; the store owns naming, renaming into place and cleanup.
 *
 * Kernel modules: when the image holds `/lib/modules/<ver>` for the kernel we boot, that directory is
 * moved out of the rootfs into `modules.cpio.gz`. The kernel unpacks every initrd iPXE hands it into one
 * root file system, so image + modules give the node the same tree, while the rootfs stays small and
 * a supplied modules initrd can pair the same rootfs with another kernel. The kernel file itself stays
 * in the rootfs's /boot (it is small and package managers expect it).
 */
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { RackbootError } from '../util/result'
import { findKernel, readKernelInfo } from './kernel'
import { applyTarLayer } from './layer'
import { ARTIFACT_FILES, type Artifact, type ImageManifest } from './manifest'
import { resolveImage, type SourceLookup } from './oci'
import { packTree, treeDataBytes } from './pack'
import { loadRootfsTar, scanDirectory } from './rootfs'
import { copyHashed, readDecompressed, sniffCompression } from './streams'
import { FsTree, splitArchivePath } from './tree'

export interface ImportProgress {
  phase: 'reading' | 'layers' | 'packing' | 'hashing' | 'done'
  bytes: number
  total: number | null
  entry?: string
}

export interface ImportOptions {
  signal?: AbortSignal
  onProgress?: (p: ImportProgress) => void
  /** Replace an existing image of the same name (atomically: the old one stays until the new is ready). */
  replace?: boolean
}

export interface KernelInitrdSpec {
  kernel: string
  initrd: string
  args?: string
}

export interface OciSpec {
  /** An OCI image layout directory, or a `docker save` / `podman save` tar (optionally gzip). */
  source: string
  /** Use this kernel instead of the image's /boot/vmlinuz-*. */
  kernel?: string
  /** A gzip cpio of kernel modules for a supplied kernel; stored as the `modules` artifact. */
  initrd?: string
  args?: string
}

export interface RootfsSpec {
  /** A directory, or a .tar / .tar.gz of a root file system. */
  source: string
  kernel?: string
  args?: string
}

/** What a pipeline built; the store adds name, kind, times and sizes. */
export type Built = Pick<ImageManifest, 'source' | 'kernelVersion' | 'arch' | 'artifacts'>

export interface BuildContext {
  /** The temp dir: artifacts go here under ARTIFACT_FILES names. */
  dir: string
  /** Scratch space inside `dir`, removed before the rename. */
  scratch: string
  signal?: AbortSignal
  warnings: string[]
  progress: ProgressReporter
}

/** Throttles progress to phase changes, every MiB and every 256 entries. */
export class ProgressReporter {
  private phase: ImportProgress['phase'] | null = null
  private lastBytes = 0
  private entries = 0

  constructor(private readonly sink?: (p: ImportProgress) => void) {}

  report(phase: ImportProgress['phase'], bytes: number, total: number | null, entry?: string): void {
    if (this.sink === undefined) return
    const changed = phase !== this.phase
    this.entries++
    if (!changed && bytes - this.lastBytes < 1 << 20 && this.entries < 256 && bytes !== total) return
    this.phase = phase
    this.lastBytes = bytes
    this.entries = 0
    this.sink(entry === undefined ? { phase, bytes, total } : { phase, bytes, total, entry })
  }
}

async function regularFile(path: string, what: string): Promise<number> {
  let info
  try {
    info = await stat(path)
  } catch {
    throw new RackbootError(`${what} ${path} does not exist`, 'source-missing')
  }
  if (!info.isFile()) throw new RackbootError(`${what} ${path} is not a regular file`, 'source-missing')
  if (info.size === 0) throw new RackbootError(`${what} ${path} is empty`, 'source-missing')
  return info.size
}

async function copyArtifact(
  ctx: BuildContext,
  from: string,
  file: Artifact['file'],
  origin: string,
  done: { bytes: number; total: number },
): Promise<Artifact> {
  const { size, sha256 } = await copyHashed(from, join(ctx.dir, file), {
    signal: ctx.signal,
    onBytes: (n) => {
      done.bytes += n
      ctx.progress.report('hashing', done.bytes, done.total)
    },
  })
  return { file, size, sha256, origin }
}

export async function buildKernelInitrd(ctx: BuildContext, spec: KernelInitrdSpec): Promise<Built> {
  const total = (await regularFile(spec.kernel, 'kernel')) + (await regularFile(spec.initrd, 'initrd'))
  const done = { bytes: 0, total }
  const kernel = await copyArtifact(ctx, spec.kernel, ARTIFACT_FILES.kernel, `supplied:${spec.kernel}`, done)
  const image = await copyArtifact(ctx, spec.initrd, ARTIFACT_FILES.initrd, `supplied:${spec.initrd}`, done)
  const info = await readKernelInfo(join(ctx.dir, ARTIFACT_FILES.kernel))
  return {
    source: { type: 'files', path: spec.kernel, digest: null, reference: null },
    kernelVersion: info.version,
    arch: info.arch,
    artifacts: { kernel, image, modules: null },
  }
}

function dirLookup(dir: string): SourceLookup {
  return async (rel) => {
    const parts = splitArchivePath(rel)
    if (!parts.ok) return null
    const path = join(dir, ...parts.value)
    try {
      return (await stat(path)).isFile() ? path : null
    } catch {
      return null
    }
  }
}

function treeLookup(tree: FsTree): SourceLookup {
  return async (rel) => {
    const parts = splitArchivePath(rel)
    if (!parts.ok) return null
    const node = tree.follow(parts.value)
    return node.ok && node.value?.type === 'file' ? node.value.data.source : null
  }
}

async function isDirectory(path: string, what: string): Promise<boolean> {
  try {
    const info = await stat(path)
    if (info.isDirectory()) return true
    if (info.isFile()) return false
  } catch {
    // fall through
  }
  throw new RackbootError(
    `${what} ${path} does not exist or is neither a directory nor a file`,
    'source-missing',
  )
}

export async function buildOci(ctx: BuildContext, spec: OciSpec): Promise<Built> {
  let lookup: SourceLookup
  if (await isDirectory(spec.source, 'image source')) lookup = dirLookup(spec.source)
  else {
    // A save archive is unpacked into blobs first: layers are read by name, in manifest order.
    const total = (await stat(spec.source)).size
    let bytes = 0
    const outer = new FsTree()
    await applyTarLayer(
      readDecompressed(spec.source, {
        label: spec.source,
        signal: ctx.signal,
        onBytes: (n) => ctx.progress.report('reading', (bytes += n), total),
      }),
      outer,
      {
        layer: 1,
        label: spec.source,
        whiteouts: false,
        blobDir: ctx.scratch,
        blobs: { next: 0 },
        warnings: [],
        signal: ctx.signal,
      },
    )
    lookup = treeLookup(outer)
  }
  const resolved = await resolveImage(lookup)
  if (!resolved.ok) throw new RackbootError(`${spec.source}: ${resolved.error}`, 'bad-image')
  const image = resolved.value
  const total = image.layers.reduce((sum, l) => sum + l.size, 0)
  let bytes = 0
  const tree = new FsTree()
  const blobs = { next: 1_000_000_000 }
  for (const [i, layer] of image.layers.entries()) {
    await applyTarLayer(
      readDecompressed(layer.path, {
        label: layer.label,
        digest: layer.digest,
        signal: ctx.signal,
        onBytes: (n) => ctx.progress.report('layers', (bytes += n), total),
      }),
      tree,
      {
        layer: i + 1,
        label: layer.label,
        whiteouts: true,
        blobDir: ctx.scratch,
        blobs,
        warnings: ctx.warnings,
        signal: ctx.signal,
        onEntry: (entry) => ctx.progress.report('layers', bytes, total, entry),
      },
    )
  }
  return finishRootfs(ctx, tree, spec, {
    source: { type: image.type, path: spec.source, digest: image.digest, reference: image.reference },
    arch: image.arch,
  })
}

export async function buildRootfs(ctx: BuildContext, spec: RootfsSpec): Promise<Built> {
  let tree: FsTree
  let type: 'directory' | 'tar'
  const scan = { warnings: ctx.warnings, signal: ctx.signal }
  if (await isDirectory(spec.source, 'root file system')) {
    type = 'directory'
    tree = await scanDirectory(spec.source, {
      ...scan,
      onEntry: (entry) => ctx.progress.report('reading', 0, null, entry),
    })
  } else {
    type = 'tar'
    const total = (await stat(spec.source)).size
    let bytes = 0
    tree = await loadRootfsTar(spec.source, {
      ...scan,
      blobDir: ctx.scratch,
      onBytes: (n) => ctx.progress.report('reading', (bytes += n), total),
    })
  }
  return finishRootfs(ctx, tree, spec, {
    source: { type, path: spec.source, digest: null, reference: null },
    arch: null,
  })
}

/** /sbin/init check, kernel and modules, then the rootfs archive. */
async function finishRootfs(
  ctx: BuildContext,
  tree: FsTree,
  spec: { source: string; kernel?: string; initrd?: string },
  from: Pick<Built, 'source' | 'arch'>,
): Promise<Built> {
  const init = tree.follow(['sbin', 'init'])
  if (!init.ok || init.value === null || init.value.type !== 'file')
    throw new RackbootError(
      `${spec.source}: the image has no /sbin/init${init.ok ? '' : ` (${init.error})`}, so a node could not start it`,
      'no-init',
      'install an init (systemd-sysv, or busybox with a /sbin/init link) in the image, or import a kernel and initrd instead',
    )

  const done = { bytes: 0, total: 0 }
  let kernel: Artifact
  let versionFromName: string | null = null
  if (spec.kernel !== undefined) {
    done.total = await regularFile(spec.kernel, 'kernel')
    kernel = await copyArtifact(ctx, spec.kernel, ARTIFACT_FILES.kernel, `supplied:${spec.kernel}`, done)
  } else {
    const found = findKernel(tree)
    if (found.kernel === null)
      throw new RackbootError(
        `${spec.source}: no kernel in the image (looked for /boot/vmlinuz-*, /lib/modules/*/vmlinuz, /vmlinuz) and none supplied`,
        'no-kernel',
        'install a kernel package in the image (e.g. linux-image-amd64) or pass a kernel file',
      )
    if (found.others.length > 0)
      ctx.warnings.push(
        `several kernels in the image; using /${found.kernel.path}, not /${found.others.join(', /')}`,
      )
    done.total = found.kernel.node.data.size
    versionFromName = found.kernel.versionFromName
    const src = found.kernel.node.data.source
    kernel = await copyArtifact(ctx, src, ARTIFACT_FILES.kernel, `image:/${found.kernel.path}`, done)
  }
  const info = await readKernelInfo(join(ctx.dir, ARTIFACT_FILES.kernel))
  const kernelVersion = info.version ?? versionFromName

  let modules: Artifact | null = null
  let modulesTree: FsTree | null = null
  let modulesPath = ''
  if (spec.initrd !== undefined) {
    await regularFile(spec.initrd, 'modules initrd')
    if ((await sniffCompression(spec.initrd)) !== 'gzip')
      throw new RackbootError(
        `${spec.initrd}: a modules initrd must be a gzip-compressed cpio (newc) archive`,
        'bad-archive',
        'e.g. `find lib/modules | cpio -o -H newc | gzip > modules.cpio.gz`',
      )
    done.total += (await stat(spec.initrd)).size
    modules = await copyArtifact(ctx, spec.initrd, ARTIFACT_FILES.modules, `supplied:${spec.initrd}`, done)
  } else if (kernelVersion !== null) {
    const real = tree.realDirPath(['lib', 'modules', kernelVersion])
    if (real !== null) {
      modulesTree = tree.detach(real)
      modulesPath = real.join('/')
    }
  }

  const total = treeDataBytes(tree) + (modulesTree ? treeDataBytes(modulesTree) : 0)
  let base = 0
  const packOpts = {
    signal: ctx.signal,
    onData: (bytes: number, entry: string) => ctx.progress.report('packing', base + bytes, total, entry),
  }
  if (modulesTree !== null) {
    const packed = await packTree(modulesTree, join(ctx.dir, ARTIFACT_FILES.modules), packOpts)
    modules = { file: ARTIFACT_FILES.modules, ...packed, origin: `image:/${modulesPath}` }
    base = treeDataBytes(modulesTree)
  }
  const packed = await packTree(tree, join(ctx.dir, ARTIFACT_FILES.rootfs), packOpts)
  return {
    source: from.source,
    kernelVersion,
    arch: from.arch ?? info.arch,
    artifacts: { kernel, image: { file: ARTIFACT_FILES.rootfs, ...packed, origin: 'built' }, modules },
  }
}
