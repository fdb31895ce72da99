/**
 * `manifest.json` of one stored image: where it came from, what each artifact is, and the sha256 of
 * each, so the HTTP server and `rackboot doctor` can check what they send.
 */
import { z } from 'zod'
import { imageSchema, type Image } from '../inventory/schema'
import { err, ok, type Result } from '../util/result'

export const MANIFEST_FILE = 'manifest.json'
export const MANIFEST_FORMAT = 1

/** File names inside `<root>/<name>/`. */
export const ARTIFACT_FILES = {
  kernel: 'kernel',
  rootfs: 'rootfs.cpio.gz',
  initrd: 'initrd',
  modules: 'modules.cpio.gz',
} as const

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 in hex')

export const artifactSchema = z.object({
  /** File name inside the image directory (one of ARTIFACT_FILES). */
  file: z.enum([ARTIFACT_FILES.kernel, ARTIFACT_FILES.rootfs, ARTIFACT_FILES.initrd, ARTIFACT_FILES.modules]),
  size: z.number().int().min(0),
  sha256: sha256Hex,
  /** Where it came from: `supplied:/path`, `image:/boot/vmlinuz-6.1.0`, `built` (packed by us). */
  origin: z.string(),
})
export type Artifact = z.infer<typeof artifactSchema>

export const imageSourceSchema = z.object({
  type: z.enum(['files', 'oci-layout', 'docker-archive', 'directory', 'tar']),
  /** The path the user gave, as given. */
  path: z.string(),
  /** OCI/docker: digest of the image manifest used, and the tag when known. */
  digest: z.string().nullable().default(null),
  reference: z.string().nullable().default(null),
})

export const imageManifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  name: imageSchema.shape.name,
  kind: imageSchema.shape.kind,
  source: imageSourceSchema,
  createdAt: z.string(),
  kernelArgs: z.string().default(''),
  /** From the kernel's own header (x86 bzImage) or its /boot file name; null when unknown. */
  kernelVersion: z.string().nullable(),
  /** OCI names: amd64, arm64, 386; null when unknown. */
  arch: z.string().nullable(),
  artifacts: z.object({
    kernel: artifactSchema,
    /** rootfs.cpio.gz (oci, rootfs) or the supplied initrd as is (kernel-initrd). */
    image: artifactSchema,
    /** Kernel modules as gzip cpio, loaded after the image; null when the image keeps its own. */
    modules: artifactSchema.nullable().default(null),
  }),
  /** Sum of the artifact sizes: what one node downloads. */
  sizeBytes: z.number().int().min(0),
  /** Things skipped on the way (device nodes, sockets), for the UI to show. */
  warnings: z.array(z.string()).default([]),
})
export type ImageManifest = z.infer<typeof imageManifestSchema>

export function parseManifest(text: string, where: string): Result<ImageManifest> {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (e) {
    return err(`${where}: not JSON (${(e as Error).message})`)
  }
  const parsed = imageManifestSchema.safeParse(raw)
  if (!parsed.success) return err(`${where}: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`)
  return ok(parsed.data)
}

/** The inventory's record of an image (what the lead keeps in the db). */
export function toInventoryImage(m: ImageManifest): Image {
  return {
    name: m.name,
    kind: m.kind,
    kernelArgs: m.kernelArgs,
    createdAt: m.createdAt,
    sizeBytes: m.sizeBytes,
  }
}

export function isValidImageName(name: string): boolean {
  return imageSchema.shape.name.safeParse(name).success
}
