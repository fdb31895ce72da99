/** Finding the kernel inside an image, and reading its version and architecture from its header. */
import { open } from 'node:fs/promises'
import type { FileNode, FsTree } from './tree'

export interface FoundKernel {
  /** Path inside the image, e.g. `boot/vmlinuz-6.1.0-13-amd64`. */
  path: string
  node: FileNode
  /** From the file name (`vmlinuz-<ver>` or `lib/modules/<ver>/vmlinuz`), or null. */
  versionFromName: string | null
}

/**
 * Debian/Ubuntu keep `/boot/vmlinuz-<ver>`; Fedora/RHEL containers keep `/lib/modules/<ver>/vmlinuz`
 * with an empty /boot. When several versions are present the newest wins (by version order).
 */
export function findKernel(tree: FsTree): { kernel: FoundKernel | null; others: string[] } {
  const found: FoundKernel[] = []
  const add = (parts: string[], version: string | null) => {
    const node = tree.follow(parts)
    if (node.ok && node.value?.type === 'file' && node.value.data.size > 0)
      found.push({ path: parts.join('/'), node: node.value, versionFromName: version })
  }
  const boot = tree.resolveDir(['boot'], null)
  if (boot.ok && boot.value !== null)
    for (const name of boot.value.children.keys())
      // Not vmlinux-*: an uncompressed ELF vmlinux is not something iPXE can boot.
      if (name.startsWith('vmlinuz-')) add(['boot', name], name.slice('vmlinuz-'.length))
  if (found.length === 0) {
    const modules = tree.resolveDir(['lib', 'modules'], null)
    if (modules.ok && modules.value !== null)
      for (const ver of modules.value.children.keys()) add(['lib', 'modules', ver, 'vmlinuz'], ver)
  }
  if (found.length === 0) {
    add(['boot', 'vmlinuz'], null)
    if (found.length === 0) add(['vmlinuz'], null)
  }
  found.sort((a, b) => compareVersions(b.versionFromName ?? '', a.versionFromName ?? ''))
  return { kernel: found[0] ?? null, others: found.slice(1).map((k) => k.path) }
}

/** `6.1.0-13` < `6.10.0-1`: numeric runs compare as numbers. */
export function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true })
}

export interface KernelInfo {
  version: string | null
  /** OCI architecture name, or null when the format is not recognised. */
  arch: string | null
}

/**
 * x86 boot protocol (Documentation/arch/x86/boot.rst): "HdrS" at 0x202, protocol version at 0x206,
 * kernel_version pointer at 0x20E (offset from 0x200), xloadflags at 0x236 (bit 0 XLF_KERNEL_64).
 * arm64 Image (Documentation/arch/arm64/booting.rst): magic "ARM\x64" at 0x38.
 */
export async function readKernelInfo(path: string): Promise<KernelInfo> {
  const fh = await open(path, 'r')
  try {
    // The version string sits in the setup code, up to 64 setup sectors in: Debian 6.1 has it at 0x44c0.
    const head = Buffer.alloc(0x10000)
    const { bytesRead } = await fh.read(head, 0, head.length, 0)
    const b = head.subarray(0, bytesRead)
    if (b.length >= 0x240 && b.toString('latin1', 0x202, 0x206) === 'HdrS') {
      const protocol = b.readUInt16LE(0x206)
      const ptr = b.readUInt16LE(0x20e)
      let version: string | null = null
      if (ptr !== 0 && ptr + 0x200 < b.length) {
        const start = ptr + 0x200
        const end = b.indexOf(0, start)
        const text = b.toString('latin1', start, end === -1 ? Math.min(b.length, start + 256) : end)
        version = text.split(' ')[0] || null
      }
      const is64 = protocol >= 0x20c && (b.readUInt16LE(0x236) & 1) === 1
      return { version, arch: is64 ? 'amd64' : '386' }
    }
    if (b.length >= 0x40 && b.toString('latin1', 0x38, 0x3c) === 'ARM\x64')
      return { version: null, arch: 'arm64' }
    return { version: null, arch: null }
  } finally {
    await fh.close()
  }
}
