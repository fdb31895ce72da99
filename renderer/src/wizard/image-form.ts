/**
 * The Image step's two forms: importing an image (which paths each kind needs) and choosing what a set of
 * nodes boots. Both check through the contract's own request schemas, so the step refuses exactly what the
 * core would, field by field. Pure, so it is tested alone.
 */
import { channels, type RequestOf } from '../../../electron/ipc/contract'
import type { Image, Node } from '../../../electron/core/inventory/schema'

export type ImageKind = RequestOf<'images/import'>['kind']
export type PathField = 'kernel' | 'initrd' | 'oci' | 'rootfs'

export interface ImportForm {
  name: string
  kind: ImageKind
  kernel: string
  initrd: string
  oci: string
  rootfs: string
  args: string
  replace: boolean
}
export type ImportField = PathField | 'name' | 'args'

export const emptyImportForm = (): ImportForm => ({
  name: '',
  kind: 'oci',
  kernel: '',
  initrd: '',
  oci: '',
  rootfs: '',
  args: '',
  replace: false,
})

export const KIND_LABELS: Record<ImageKind | Image['kind'], string> = {
  oci: 'Container image (OCI)',
  'kernel-initrd': 'Kernel + initrd',
  rootfs: 'Root file system',
  default: 'Built in',
}

/** The path fields each kind shows, in order, with what to put there. Paths are on the machine running the core. */
export const PATH_FIELDS: Record<ImageKind, { field: PathField; label: string; hint: string }[]> = {
  oci: [
    { field: 'oci', label: 'OCI layout or archive', hint: 'a directory, or a `docker save` / OCI .tar' },
    { field: 'kernel', label: 'Kernel (optional)', hint: "instead of the image's own /boot/vmlinuz" },
    { field: 'initrd', label: 'Modules initrd (optional)', hint: 'a gzip cpio of extra modules' },
  ],
  'kernel-initrd': [
    { field: 'kernel', label: 'Kernel', hint: 'e.g. /srv/images/vmlinuz' },
    { field: 'initrd', label: 'Initrd', hint: 'e.g. /srv/images/initrd.img' },
  ],
  rootfs: [
    { field: 'rootfs', label: 'Root file system', hint: 'a directory or a .tar / .tar.gz' },
    { field: 'kernel', label: 'Kernel (optional)', hint: "instead of the tree's own /boot/vmlinuz" },
  ],
}

type Checked<T, F extends string> = { ok: true; value: T } | { ok: false; errors: Partial<Record<F, string>> }

/** The first message per top-level field of a failed parse. */
function errorsByField<F extends string>(
  issues: { path: PropertyKey[]; message: string }[],
  fallback: F,
): Partial<Record<F, string>> {
  const errors: Partial<Record<F, string>> = {}
  for (const i of issues) {
    const f = (typeof i.path[0] === 'string' ? i.path[0] : fallback) as F
    errors[f] ??= i.message
  }
  return errors
}

export function importRequest(form: ImportForm): Checked<RequestOf<'images/import'>, ImportField> {
  const shown = new Set(PATH_FIELDS[form.kind].map((p) => p.field))
  const request: Record<string, unknown> = { name: form.name.trim(), kind: form.kind, replace: form.replace }
  for (const f of shown) if (form[f].trim() !== '') request[f] = form[f].trim()
  if (form.args.trim() !== '') request.args = form.args.trim()
  const parsed = channels['images/import'].request.safeParse(request)
  if (parsed.success) return { ok: true, value: parsed.data }
  return { ok: false, errors: errorsByField(parsed.error.issues, 'name') }
}

/** What the assignment form targets: every node, one rack's nodes, or one node. */
export type Scope = { all: true } | { rack: string } | { nodes: [string] }

export function scopeKey(s: Scope): string {
  return 'all' in s ? 'all' : 'rack' in s ? `rack:${s.rack}` : `node:${s.nodes[0]}`
}
export function scopeFromKey(key: string): Scope {
  if (key.startsWith('rack:')) return { rack: key.slice(5) }
  if (key.startsWith('node:')) return { nodes: [key.slice(5)] }
  return { all: true }
}

export interface BootForm {
  scope: string
  /** '' = no image. */
  image: string
  kernelArgs: string
}
export type BootField = 'image' | 'kernelArgs' | 'target'

export function bootRequest(form: BootForm): Checked<RequestOf<'nodes/set-boot'>, BootField> {
  const parsed = channels['nodes/set-boot'].request.safeParse({
    target: scopeFromKey(form.scope),
    image: form.image === '' ? null : form.image,
    kernelArgs: form.kernelArgs.trim(),
  })
  if (parsed.success) return { ok: true, value: parsed.data }
  return { ok: false, errors: errorsByField(parsed.error.issues, 'target') }
}

/** What the form shows for a scope: the targeted nodes' image and arguments when they all agree, else ''. */
export function formForScope(scope: string, nodes: readonly Node[]): BootForm {
  const s = scopeFromKey(scope)
  const chosen = nodes.filter((n) =>
    'all' in s ? true : 'rack' in s ? n.rack === s.rack : n.name === s.nodes[0],
  )
  const same = <T>(pick: (n: Node) => T): T | null =>
    chosen.length > 0 && chosen.every((n) => pick(n) === pick(chosen[0]!)) ? pick(chosen[0]!) : null
  return { scope, image: same((n) => n.image) ?? '', kernelArgs: same((n) => n.kernelArgs) ?? '' }
}

/** The kernel command line a node boots with: the image's arguments, then its own (core/boot/resolver.ts). */
export function effectiveArgs(node: Node, images: readonly Image[]): string {
  const own = images.find((i) => i.name === node.image)?.kernelArgs ?? ''
  return [node.image === null ? '' : own, node.kernelArgs].filter((a) => a !== '').join(' ')
}
