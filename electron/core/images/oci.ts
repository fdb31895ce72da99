/**
 * Finding the ordered layers of a container image, from either
 *  - an OCI image layout (image-spec image-layout.md: `index.json` → manifest → layers under
 *    `blobs/<alg>/<hex>`), as written by `skopeo copy oci:`, `podman save --format oci-dir`, buildah,
 *    and inside `docker save` tars since Docker 25; or
 *  - a `docker save` / `podman save` archive (`manifest.json`: `[{Config, RepoTags, Layers}]`).
 * Pure decoding over a file lookup: every JSON file is validated with zod and decoding returns Result.
 */
import { readFile, stat } from 'node:fs/promises'
import { z } from 'zod'
import { err, ok, type Result } from '../util/result'
import { splitArchivePath } from './tree'

/** Host path of a regular file at a relative path in the source, or null when there is none. */
export type SourceLookup = (relPath: string) => Promise<string | null>

export interface LayerRef {
  /** Host path of the layer blob. */
  path: string
  /** `sha256:<hex>` of the stored bytes when known, for verification. */
  digest: string | null
  size: number
  label: string
}

export interface ResolvedImage {
  type: 'oci-layout' | 'docker-archive'
  layers: LayerRef[]
  arch: string | null
  /** Digest of the image manifest (OCI), or of the config (docker archive). */
  digest: string | null
  reference: string | null
}

const MAX_JSON = 8 << 20
const DEFAULT_ARCH = 'amd64'

const MT = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
}

const digestSchema = z
  .string()
  .regex(/^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/, 'a sha256 or sha512 digest')

const descriptorSchema = z.object({
  mediaType: z.string().optional(),
  digest: digestSchema,
  size: z.number().int().min(0).optional(),
  platform: z.object({ architecture: z.string(), os: z.string(), variant: z.string().optional() }).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
})
type Descriptor = z.infer<typeof descriptorSchema>

const indexSchema = z.object({ mediaType: z.string().optional(), manifests: z.array(descriptorSchema) })
const manifestSchema = z.object({
  mediaType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
})
const configSchema = z.object({ architecture: z.string().optional(), os: z.string().optional() }).loose()
const dockerManifestSchema = z
  .array(
    z.object({
      Config: z.string(),
      RepoTags: z.array(z.string()).nullable().optional(),
      Layers: z.array(z.string()),
    }),
  )
  .min(1)

async function readJson<T>(lookup: SourceLookup, rel: string, schema: z.ZodType<T>): Promise<Result<T>> {
  const path = await lookup(rel)
  if (path === null) return err(`'${rel}' is missing`)
  const info = await stat(path)
  if (info.size > MAX_JSON) return err(`'${rel}' is ${info.size} bytes, too large for image metadata`)
  let raw: unknown
  try {
    raw = JSON.parse(await readFile(path, 'utf8'))
  } catch (e) {
    return err(`'${rel}' is not JSON (${(e as Error).message})`)
  }
  const parsed = schema.safeParse(raw)
  if (!parsed.success) return err(`'${rel}': ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`)
  return ok(parsed.data)
}

const blobPath = (digest: string) => `blobs/${digest.replace(':', '/')}`

export async function resolveImage(lookup: SourceLookup): Promise<Result<ResolvedImage>> {
  if ((await lookup('index.json')) !== null) return resolveOciLayout(lookup)
  if ((await lookup('manifest.json')) !== null) return resolveDockerArchive(lookup)
  return err(
    'neither an OCI image layout (no index.json) nor a docker/podman save archive (no manifest.json)',
  )
}

async function resolveOciLayout(lookup: SourceLookup): Promise<Result<ResolvedImage>> {
  const index = await readJson(lookup, 'index.json', indexSchema)
  if (!index.ok) return index
  const candidates: Descriptor[] = []
  const visit = async (descs: Descriptor[], depth: number): Promise<Result<void>> => {
    for (const d of descs) {
      if (d.mediaType === MT.ociIndex || d.mediaType === MT.dockerList) {
        if (depth >= 3) return err('image indexes nested too deep')
        const inner = await readJson(lookup, blobPath(d.digest), indexSchema)
        if (!inner.ok) return inner
        const r = await visit(
          inner.value.manifests.map((m) => ({ ...m, annotations: { ...d.annotations, ...m.annotations } })),
          depth + 1,
        )
        if (!r.ok) return r
      } else if (
        d.mediaType === undefined ||
        d.mediaType === MT.ociManifest ||
        d.mediaType === MT.dockerManifest
      ) {
        // Docker's attestation manifests (SBOM, provenance) sit next to the image with platform unknown/unknown.
        if (
          d.platform?.os === 'unknown' ||
          d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest'
        )
          continue
        candidates.push(d)
      }
    }
    return ok(undefined)
  }
  const visited = await visit(index.value.manifests, 0)
  if (!visited.ok) return visited
  if (candidates.length === 0) return err('index.json lists no image manifest')
  let chosen = candidates[0] as Descriptor
  if (candidates.length > 1) {
    const matching = candidates.filter(
      (c) => c.platform?.architecture === DEFAULT_ARCH && c.platform.os === 'linux',
    )
    if (matching.length !== 1)
      return err(
        `index.json lists ${candidates.length} images (${candidates
          .map(
            (c) =>
              c.annotations?.['org.opencontainers.image.ref.name'] ?? c.platform?.architecture ?? c.digest,
          )
          .join(', ')}); export just one, e.g. \`skopeo copy --override-arch amd64\``,
      )
    chosen = matching[0] as Descriptor
  }
  const manifest = await readJson(lookup, blobPath(chosen.digest), manifestSchema)
  if (!manifest.ok) return manifest
  const config = await readJson(lookup, blobPath(manifest.value.config.digest), configSchema)
  const layers: LayerRef[] = []
  const count = manifest.value.layers.length
  for (const [i, l] of manifest.value.layers.entries()) {
    const label = `layer ${i + 1}/${count} (${l.digest.slice(0, 19)}…)`
    if (l.mediaType !== undefined && !/tar/.test(l.mediaType))
      return err(`${label} has media type '${l.mediaType}', not a tar layer`)
    if (l.mediaType?.includes('encrypted')) return err(`${label} is encrypted; decrypt it first`)
    const path = await lookup(blobPath(l.digest))
    if (path === null) return err(`${label}: blob '${blobPath(l.digest)}' is missing`)
    layers.push({ path, digest: l.digest, size: (await stat(path)).size, label })
  }
  return ok({
    type: 'oci-layout',
    layers,
    arch: config.ok ? (config.value.architecture ?? null) : (chosen.platform?.architecture ?? null),
    digest: chosen.digest,
    reference: chosen.annotations?.['org.opencontainers.image.ref.name'] ?? null,
  })
}

async function resolveDockerArchive(lookup: SourceLookup): Promise<Result<ResolvedImage>> {
  const manifest = await readJson(lookup, 'manifest.json', dockerManifestSchema)
  if (!manifest.ok) return manifest
  if (manifest.value.length > 1)
    return err(
      `manifest.json holds ${manifest.value.length} images (${manifest.value
        .map((m) => (m.RepoTags ?? []).join(' ') || m.Config)
        .join(', ')}); save one image per archive`,
    )
  const image = manifest.value[0] as z.infer<typeof dockerManifestSchema>[number]
  const checkRel = (rel: string): Result<string> => {
    const parts = splitArchivePath(rel)
    return parts.ok ? ok(parts.value.join('/')) : err(`manifest.json names '${rel}': ${parts.error}`)
  }
  const configRel = checkRel(image.Config)
  if (!configRel.ok) return configRel
  const config = await readJson(lookup, configRel.value, configSchema)
  const layers: LayerRef[] = []
  for (const [i, rel] of image.Layers.entries()) {
    const checked = checkRel(rel)
    if (!checked.ok) return checked
    const label = `layer ${i + 1}/${image.Layers.length} (${rel})`
    const path = await lookup(checked.value)
    if (path === null) return err(`${label} is missing from the archive`)
    // Since Docker 25 layers sit at blobs/sha256/<hex>, which names their digest.
    const m = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(checked.value)
    layers.push({ path, digest: m ? `sha256:${m[1]}` : null, size: (await stat(path)).size, label })
  }
  const configDigest = /([0-9a-f]{64})(\.json)?$/.exec(configRel.value)
  return ok({
    type: 'docker-archive',
    layers,
    arch: config.ok ? (config.value.architecture ?? null) : null,
    digest: configDigest ? `sha256:${configDigest[1]}` : null,
    reference: image.RepoTags?.[0] ?? null,
  })
}
