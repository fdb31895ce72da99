/**
 * Builds container image fixtures at test time: tar layers written entry by entry with the `tar`
 * package's Header (so a test can put exactly the hostile entry it needs: `../`, absolute paths,
 * devices), wrapped as an OCI image layout directory or a `docker save` archive.
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { lstatSync, readdirSync, readlinkSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { Header } from 'tar'

export interface FixtureEntry {
  path: string
  type?: 'file' | 'dir' | 'symlink' | 'link' | 'char' | 'block' | 'fifo'
  data?: string | Buffer
  mode?: number
  uid?: number
  gid?: number
  mtime?: Date
  /** Symlink target, or the archive path a hard link points at. */
  linkpath?: string
}

const TYPES = {
  file: 'File',
  dir: 'Directory',
  symlink: 'SymbolicLink',
  link: 'Link',
  char: 'CharacterDevice',
  block: 'BlockDevice',
  fifo: 'FIFO',
} as const

export const FIXTURE_MTIME = new Date('2024-05-01T12:00:00Z')

/** A complete tar (ustar headers, data padded to 512, two zero blocks at the end). */
export function buildTar(entries: FixtureEntry[]): Buffer {
  const blocks: Buffer[] = []
  for (const e of entries) {
    const type = e.type ?? 'file'
    const data = type === 'file' ? Buffer.from(e.data ?? '') : Buffer.alloc(0)
    const header = new Header({
      path: e.path,
      type: TYPES[type],
      mode: e.mode ?? (type === 'dir' ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      size: data.length,
      mtime: e.mtime ?? FIXTURE_MTIME,
      linkpath: e.linkpath,
      devmaj: type === 'char' || type === 'block' ? 1 : 0,
      devmin: type === 'char' || type === 'block' ? 3 : 0,
    })
    const block = Buffer.alloc(512)
    if (header.encode(block, 0)) throw new Error(`fixture path needs pax headers, keep it short: ${e.path}`)
    blocks.push(block, data, Buffer.alloc((512 - (data.length % 512)) % 512))
  }
  blocks.push(Buffer.alloc(1024))
  return Buffer.concat(blocks)
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

export interface FixtureLayer {
  entries: FixtureEntry[]
  gzip?: boolean
  /** Replace the stored layer bytes (e.g. truncate or corrupt them) after digests are computed from them. */
  raw?: Buffer
}

function layerBytes(l: FixtureLayer): Buffer {
  if (l.raw) return l.raw
  const tar = buildTar(l.entries)
  return l.gzip ? gzipSync(tar) : tar
}

/** An OCI image layout (index.json → manifest → config + layers) in `dir`. Returns the manifest digest. */
export async function writeOciLayout(
  dir: string,
  layers: FixtureLayer[],
  opts: { arch?: string; ref?: string; digestOf?: (stored: Buffer, i: number) => string } = {},
): Promise<string> {
  const blobs = join(dir, 'blobs', 'sha256')
  await mkdir(blobs, { recursive: true })
  const put = async (b: Buffer) => {
    const hex = sha256(b)
    await writeFile(join(blobs, hex), b)
    return { digest: `sha256:${hex}`, size: b.length }
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: opts.arch ?? 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [] },
    }),
  )
  const configDesc = { mediaType: 'application/vnd.oci.image.config.v1+json', ...(await put(config)) }
  const layerDescs = []
  for (const l of layers) {
    const bytes = layerBytes(l)
    layerDescs.push({
      mediaType: l.gzip
        ? 'application/vnd.oci.image.layer.v1.tar+gzip'
        : 'application/vnd.oci.image.layer.v1.tar',
      ...(await put(bytes)),
    })
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: configDesc,
      layers: layerDescs,
    }),
  )
  const m = await put(manifest)
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...m,
          platform: { architecture: opts.arch ?? 'amd64', os: 'linux' },
          annotations: { 'org.opencontainers.image.ref.name': opts.ref ?? 'fixture:latest' },
        },
      ],
    }),
  )
  return m.digest
}

/** A classic `docker save` archive: manifest.json, <id>.json config, <n>/layer.tar per layer. */
export function buildDockerSave(layers: FixtureLayer[], opts: { tag?: string } = {}): Buffer {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux' }))
  const configName = `${sha256(config)}.json`
  const entries: FixtureEntry[] = [{ path: configName, data: config }]
  const names: string[] = []
  layers.forEach((l, i) => {
    const id = sha256(Buffer.from(`layer${i}`))
    names.push(`${id}/layer.tar`)
    entries.push({ path: `${id}/`, type: 'dir' }, { path: `${id}/layer.tar`, data: layerBytes(l) })
  })
  entries.push({
    path: 'manifest.json',
    data: JSON.stringify([{ Config: configName, RepoTags: [opts.tag ?? 'fixture:latest'], Layers: names }]),
  })
  return buildTar(entries)
}

/** A minimal bzImage-shaped kernel: "HdrS" boot header naming `version`, 64-bit flag set. */
export function fakeKernel(version: string, size = 8192): Buffer {
  const k = Buffer.alloc(size)
  k.write('HdrS', 0x202, 'latin1')
  k.writeUInt16LE(0x20f, 0x206) // boot protocol 2.15
  k.writeUInt16LE(0x1000 - 0x200, 0x20e) // kernel_version pointer
  k.writeUInt16LE(1, 0x236) // XLF_KERNEL_64
  k.write(`${version} (fixture@rackboot) #1 SMP\0`, 0x1000, 'latin1')
  return k
}

/** Layers of a small Debian-like image: base, an update with whiteouts, an opaque directory. */
export function sampleLayers(kernelVersion = '6.1.0-99-amd64'): FixtureLayer[] {
  const kernel = fakeKernel(kernelVersion)
  return [
    {
      gzip: true,
      entries: [
        { path: './', type: 'dir' },
        { path: 'usr/', type: 'dir' },
        { path: 'usr/bin/', type: 'dir' },
        { path: 'usr/bin/busybox', data: 'BUSYBOX', mode: 0o755 },
        { path: 'usr/bin/passwd', data: 'PASSWD', mode: 0o4755 },
        { path: 'usr/sbin/', type: 'dir' },
        { path: 'usr/sbin/init', type: 'link', linkpath: 'usr/bin/busybox' },
        { path: 'usr/lib/', type: 'dir' },
        { path: 'usr/lib/modules/', type: 'dir' },
        { path: `usr/lib/modules/${kernelVersion}/`, type: 'dir' },
        { path: `usr/lib/modules/${kernelVersion}/virtio_net.ko`, data: 'MODULE' },
        { path: 'sbin', type: 'symlink', linkpath: 'usr/sbin' },
        { path: 'lib', type: 'symlink', linkpath: 'usr/lib' },
        { path: 'boot/', type: 'dir' },
        { path: `boot/vmlinuz-${kernelVersion}`, data: kernel },
        { path: 'etc/', type: 'dir' },
        { path: 'etc/old.conf', data: 'old' },
        { path: 'etc/keep.conf', data: 'keep' },
        { path: 'opt/', type: 'dir' },
        { path: 'opt/app/', type: 'dir' },
        { path: 'opt/app/lower.txt', data: 'lower' },
        { path: 'opt/app/sub/', type: 'dir' },
        { path: 'opt/app/sub/deep.txt', data: 'deep' },
        { path: 'home/', type: 'dir' },
        { path: 'home/user/', type: 'dir', uid: 1000, gid: 1000, mode: 0o700 },
        { path: 'home/user/.profile', data: 'PS1=x', uid: 1000, gid: 1000, mode: 0o600 },
        { path: 'dev/', type: 'dir' },
        { path: 'dev/null', type: 'char', mode: 0o666 },
      ],
    },
    {
      entries: [
        { path: 'etc/', type: 'dir' },
        { path: 'etc/.wh.old.conf' },
        { path: 'etc/new.conf', data: 'new', mode: 0o640, gid: 42 },
        { path: 'usr/bin/', type: 'dir' },
        { path: 'usr/bin/sh', type: 'symlink', linkpath: 'busybox' },
        { path: 'usr/bin/ls', type: 'link', linkpath: 'usr/bin/busybox' },
      ],
    },
    {
      gzip: true,
      entries: [
        { path: 'opt/app/', type: 'dir', mode: 0o750 },
        { path: 'opt/app/upper.txt', data: 'upper' },
        { path: 'opt/app/.wh..wh..opq' },
        { path: 'etc/keep.conf', data: 'kept, changed' },
      ],
    },
  ]
}

/** The merged tree `sampleLayers` must produce (rootfs only: modules are split out), as `ls`-like lines. */
export function sampleExpected(kernelVersion = '6.1.0-99-amd64'): string[] {
  return [
    'boot d755 0:0',
    `boot/vmlinuz-${kernelVersion} f644 0:0 8192`,
    'dev d755 0:0',
    'etc d755 0:0',
    'etc/keep.conf f644 0:0 13',
    'etc/new.conf f640 0:42 3',
    'home d755 0:0',
    'home/user d700 1000:1000',
    'home/user/.profile f600 1000:1000 5',
    'lib l777 0:0 ->usr/lib',
    'opt d755 0:0',
    'opt/app d750 0:0',
    'opt/app/upper.txt f644 0:0 5',
    'sbin l777 0:0 ->usr/sbin',
    'usr d755 0:0',
    'usr/bin d755 0:0',
    'usr/bin/busybox f755 0:0 7',
    'usr/bin/ls f755 0:0 7',
    'usr/bin/passwd f4755 0:0 6',
    'usr/bin/sh l777 0:0 ->busybox',
    'usr/lib d755 0:0',
    'usr/lib/modules d755 0:0',
    'usr/sbin d755 0:0',
    'usr/sbin/init f755 0:0 7',
  ]
}

/** Unpacks a gzip cpio with a real cpio (`busybox cpio -idm` or GNU `cpio -idm --no-absolute-filenames`). */
export function extractCpioGz(archive: string, into: string, tool: 'busybox' | 'gnu'): void {
  const cpio = tool === 'busybox' ? 'busybox cpio -idm' : 'cpio -idm --no-absolute-filenames --quiet'
  execFileSync('sh', ['-c', `gzip -dc "$1" | ${cpio}`, 'sh', archive], {
    cwd: into,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
}

/** `busybox cpio -tv` of a gzip cpio: `mode uid/gid size path[ -> target]` lines, as a real reader sees them. */
export function listCpioGz(archive: string): string[] {
  const out = execFileSync('sh', ['-c', 'gzip -dc "$1" | busybox cpio -tv', 'sh', archive], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  return out.split('\n').filter((l) => l.length > 0)
}

/** A directory tree as sorted `path <type><mode> uid:gid <size | ->target>` lines, plus hard link groups. */
export function listTree(
  root: string,
  opts: { owners?: boolean } = {},
): { lines: string[]; links: string[][] } {
  const lines: string[] = []
  const inodes = new Map<number, string[]>()
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const path = rel === '' ? name : `${rel}/${name}`
      const st = lstatSync(join(root, path))
      const owner = opts.owners === false ? '' : ` ${st.uid}:${st.gid}`
      const perm = (st.mode & 0o7777).toString(8)
      if (st.isDirectory()) {
        lines.push(`${path} d${perm}${owner}`)
        walk(path)
      } else if (st.isSymbolicLink()) lines.push(`${path} l777${owner} ->${readlinkSync(join(root, path))}`)
      else {
        lines.push(`${path} f${perm}${owner} ${st.size}`)
        if (st.nlink > 1) inodes.set(st.ino, [...(inodes.get(st.ino) ?? []), path])
      }
    }
  }
  walk('')
  return { lines, links: [...inodes.values()].map((g) => g.sort()).sort() }
}
