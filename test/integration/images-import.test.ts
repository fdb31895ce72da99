import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseManifest, toInventoryImage } from '../../electron/core/images/manifest'
import { ImageStore } from '../../electron/core/images/store'
import type { ImportProgress } from '../../electron/core/images/import'
import { RackbootError } from '../../electron/core/util/result'
import { isRoot, missing } from '../support/env'
import {
  buildDockerSave,
  buildTar,
  extractCpioGz,
  fakeKernel,
  listCpioGz,
  listTree,
  sampleExpected,
  sampleLayers,
  writeOciLayout,
  type FixtureEntry,
  type FixtureLayer,
} from '../support/oci-fixture'

const skip = missing({ commands: ['busybox', 'gzip'] })
const VERSION = '6.1.0-99-amd64'
const NOW = new Date('2026-01-02T03:04:05Z')

let work: string
let root: string
let store: ImageStore
let n = 0
const fresh = (prefix: string) => {
  const dir = join(work, `${prefix}-${n++}`)
  mkdirSync(dir)
  return dir
}
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex')
/** What a failed import may leave in the store: nothing but the images that were there before. */
const leftovers = () => readdirSync(root).filter((e) => e.startsWith('.'))

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'rackboot-images-'))
  root = join(work, 'images')
  store = new ImageStore({ root, now: () => NOW })
})
afterAll(() => rmSync(work, { recursive: true, force: true }))

/** Lines of the extracted tree; without root, ownership is checked from `cpio -tv` instead. */
function extracted(archive: string): { lines: string[]; links: string[][] } {
  const out = fresh('x')
  extractCpioGz(archive, out, 'busybox')
  return listTree(out, { owners: isRoot })
}
const expectedLines = () =>
  isRoot ? sampleExpected(VERSION) : sampleExpected(VERSION).map((l) => l.replace(/ \d+:\d+/, ''))

describe.skipIf(skip !== null)('ImageStore imports', () => {
  it('imports an OCI layout: layers merged with whiteouts, opaque dir, hard links, symlinks, setuid', async () => {
    const layout = fresh('oci')
    const digest = await writeOciLayout(layout, sampleLayers(VERSION))
    const progress: ImportProgress[] = []
    const m = await store.importOci(
      'debian',
      { source: layout, args: 'console=ttyS0' },
      { onProgress: (p) => progress.push(p) },
    )

    expect(m).toMatchObject({
      name: 'debian',
      kind: 'oci',
      kernelArgs: 'console=ttyS0',
      kernelVersion: VERSION,
      arch: 'amd64',
      createdAt: NOW.toISOString(),
      source: { type: 'oci-layout', path: layout, digest, reference: 'fixture:latest' },
    })
    expect(m.artifacts.kernel).toMatchObject({ origin: `image:/boot/vmlinuz-${VERSION}`, size: 8192 })
    expect(m.artifacts.kernel.sha256).toBe(createHash('sha256').update(fakeKernel(VERSION)).digest('hex'))
    expect(m.warnings.join('\n')).toMatch(/skipped CharacterDevice 'dev\/null'/)

    const rootfs = store.artifactPath('debian', 'image') as string
    expect(rootfs).toBe(join(root, 'debian', 'rootfs.cpio.gz'))
    expect(sha(rootfs)).toBe(m.artifacts.image.sha256)
    const tree = extracted(rootfs)
    expect(tree.lines).toEqual(expectedLines())
    expect(tree.links).toEqual([['usr/bin/busybox', 'usr/bin/ls', 'usr/sbin/init']])
    const owners = listCpioGz(rootfs)
    expect(owners.find((l) => l.endsWith(' home/user/.profile'))).toMatch(/^-rw------- 1000\/1000 /)
    expect(owners.find((l) => l.endsWith(' etc/new.conf'))).toMatch(/^-rw-r----- 0\/42 /)
    expect(owners.find((l) => l.endsWith(' usr/bin/passwd'))).toMatch(/^-rwsr-xr-x 0\/0 /)

    // Modules moved into their own archive, under the real (usr-merged) path.
    const modules = store.artifactPath('debian', 'modules') as string
    expect(m.artifacts.modules).toMatchObject({
      origin: `image:/usr/lib/modules/${VERSION}`,
      sha256: sha(modules),
    })
    expect(extracted(modules).lines.map((l) => l.split(' ')[0])).toEqual([
      'usr',
      'usr/lib',
      'usr/lib/modules',
      `usr/lib/modules/${VERSION}`,
      `usr/lib/modules/${VERSION}/virtio_net.ko`,
    ])

    expect(m.sizeBytes).toBe(
      m.artifacts.kernel.size + m.artifacts.image.size + (m.artifacts.modules?.size ?? 0),
    )
    const onDisk = parseManifest(readFileSync(join(root, 'debian', 'manifest.json'), 'utf8'), 'manifest.json')
    expect(onDisk).toEqual({ ok: true, value: m })
    expect(toInventoryImage(m)).toEqual({
      name: 'debian',
      kind: 'oci',
      kernelArgs: 'console=ttyS0',
      createdAt: NOW.toISOString(),
      sizeBytes: m.sizeBytes,
    })
    expect(progress.map((p) => p.phase)).toContain('layers')
    expect(progress.map((p) => p.phase)).toContain('packing')
    expect(progress.at(-1)?.phase).toBe('done')
    expect(await store.get('debian')).toEqual(m)
    expect(leftovers()).toEqual([])
  })

  it.each([
    ['debian-save', false],
    ['debian-save-gz', true],
  ] as const)('imports a docker save archive to the same tree (%s)', async (name, gzip) => {
    const file = join(fresh('save'), 'image.tar')
    const tar = buildDockerSave(sampleLayers(VERSION), { tag: 'debian:12' })
    writeFileSync(file, gzip ? gzipSync(tar) : tar)
    const m = await store.importOci(name, { source: file })
    expect(m.source).toMatchObject({ type: 'docker-archive', reference: 'debian:12' })
    expect(extracted(store.artifactPath(name, 'image') as string).lines).toEqual(expectedLines())
  })

  it.skipIf(missing({ commands: ['cpio'] }) !== null)('GNU cpio extracts the same merged tree', () => {
    const out = fresh('gnu')
    extractCpioGz(store.artifactPath('debian', 'image') as string, out, 'gnu')
    const tree = listTree(out, { owners: isRoot })
    expect(tree.lines).toEqual(expectedLines())
    expect(tree.links).toEqual([['usr/bin/busybox', 'usr/bin/ls', 'usr/sbin/init']])
  })

  it('takes a supplied kernel and modules initrd instead of the image’s own', async () => {
    const layout = fresh('oci-supplied')
    await writeOciLayout(layout, sampleLayers(VERSION))
    const dir = fresh('supplied')
    writeFileSync(join(dir, 'vmlinuz'), fakeKernel('6.12.9-amd64'))
    writeFileSync(join(dir, 'modules.cpio.gz'), gzipSync(Buffer.from('070701')))
    writeFileSync(join(dir, 'modules.cpio'), '070701')
    const m = await store.importOci('supplied', {
      source: layout,
      kernel: join(dir, 'vmlinuz'),
      initrd: join(dir, 'modules.cpio.gz'),
    })
    expect(m.kernelVersion).toBe('6.12.9-amd64')
    expect(m.artifacts.modules).toMatchObject({ origin: `supplied:${join(dir, 'modules.cpio.gz')}` })
    // The image's own modules stay in its rootfs: they belong to a kernel we do not boot.
    const names = extracted(store.artifactPath('supplied', 'image') as string).lines.map(
      (l) => l.split(' ')[0],
    )
    expect(names).toContain(`usr/lib/modules/${VERSION}/virtio_net.ko`)
    await expect(
      store.importOci('supplied2', {
        source: layout,
        kernel: join(dir, 'vmlinuz'),
        initrd: join(dir, 'modules.cpio'),
      }),
    ).rejects.toThrow(/must be a gzip-compressed cpio/)
    expect(leftovers()).toEqual([])
  })

  it('imports a root file system tar.gz made by GNU tar, with a supplied kernel', async () => {
    const src = fresh('rootfs-src')
    mkdirSync(join(src, 'sbin'))
    mkdirSync(join(src, 'etc'))
    writeFileSync(join(src, 'sbin/init'), '#!/bin/sh\n', { mode: 0o755 })
    writeFileSync(join(src, 'etc/.wh.kept'), 'not a whiteout outside OCI layers')
    const tgz = join(work, 'rootfs.tar.gz')
    const { execFileSync } = await import('node:child_process')
    execFileSync('tar', ['czf', tgz, '--numeric-owner', '-C', src, '.'])
    const kernel = join(work, 'vmlinuz-supplied')
    writeFileSync(kernel, fakeKernel('6.12.0-1-amd64'))
    const m = await store.importRootfs('plain', { source: tgz, kernel })
    expect(m).toMatchObject({ kind: 'rootfs', kernelVersion: '6.12.0-1-amd64', source: { type: 'tar' } })
    expect(m.artifacts.kernel.origin).toBe(`supplied:${kernel}`)
    expect(m.artifacts.modules).toBeNull()
    const lines = extracted(store.artifactPath('plain', 'image') as string).lines.map((l) => l.split(' ')[0])
    expect(lines).toEqual(['etc', 'etc/.wh.kept', 'sbin', 'sbin/init'])
  })

  it('imports kernel + initrd as is, with sha256 of each in the manifest', async () => {
    const dir = fresh('ki')
    writeFileSync(join(dir, 'vmlinuz'), fakeKernel('6.1.0-7-amd64'))
    writeFileSync(join(dir, 'initrd.img'), Buffer.from('initrd bytes, any format'))
    const m = await store.importKernelInitrd('ki', {
      kernel: join(dir, 'vmlinuz'),
      initrd: join(dir, 'initrd.img'),
      args: 'quiet',
    })
    expect(m).toMatchObject({
      kind: 'kernel-initrd',
      kernelVersion: '6.1.0-7-amd64',
      arch: 'amd64',
      kernelArgs: 'quiet',
    })
    expect(m.artifacts.kernel.sha256).toBe(sha(join(dir, 'vmlinuz')))
    expect(m.artifacts.image).toMatchObject({
      file: 'initrd',
      sha256: sha(join(dir, 'initrd.img')),
      size: 24,
    })
    expect(readFileSync(store.artifactPath('ki', 'image') as string)).toEqual(
      readFileSync(join(dir, 'initrd.img')),
    )
    expect(store.artifactPath('ki', 'modules')).toBeNull()
  })

  it('refuses a name collision unless replace, and replaces atomically', async () => {
    const dir = fresh('collide')
    writeFileSync(join(dir, 'k'), fakeKernel('1.0.0'))
    writeFileSync(join(dir, 'i'), 'one')
    await store.importKernelInitrd('twice', { kernel: join(dir, 'k'), initrd: join(dir, 'i') })
    writeFileSync(join(dir, 'i'), 'two')
    await expect(
      store.importKernelInitrd('twice', { kernel: join(dir, 'k'), initrd: join(dir, 'i') }),
    ).rejects.toMatchObject({
      code: 'image-exists',
      message: "image 'twice' already exists",
    })
    const m = await store.importKernelInitrd(
      'twice',
      { kernel: join(dir, 'k'), initrd: join(dir, 'i') },
      { replace: true },
    )
    expect(readFileSync(store.artifactPath('twice', 'image') as string, 'utf8')).toBe('two')
    expect((await store.get('twice'))?.artifacts.image.sha256).toBe(m.artifacts.image.sha256)
    await expect(store.importKernelInitrd('../etc', { kernel: 'k', initrd: 'i' })).rejects.toMatchObject({
      code: 'bad-name',
    })
    await store.remove('twice')
    expect(await store.get('twice')).toBeNull()
    expect(store.artifactPath('twice', 'kernel')).toBeNull()
    expect(leftovers()).toEqual([])
  })

  it('lists every image', async () => {
    const names = (await store.list()).map((m) => m.name)
    expect(names).toEqual(
      expect.arrayContaining(['debian', 'debian-save', 'debian-save-gz', 'ki', 'plain', 'supplied']),
    )
  })
})

/** A base layer that passes every check, to which a bad layer is added. */
function baseLayer(): FixtureLayer {
  return {
    entries: [
      { path: 'sbin/', type: 'dir' },
      { path: 'sbin/init', data: 'init', mode: 0o755 },
      { path: 'boot/', type: 'dir' },
      { path: 'boot/vmlinuz-6.1.0-1-amd64', data: fakeKernel('6.1.0-1-amd64') },
    ],
  }
}

async function importLayers(name: string, layers: FixtureLayer[]): Promise<RackbootError> {
  const layout = fresh('bad')
  await writeOciLayout(layout, layers)
  const before = readdirSync(root).filter((e) => !e.startsWith('.'))
  const e = await store.importOci(name, { source: layout }).then(
    () => null,
    (x: unknown) => x,
  )
  expect(e).toBeInstanceOf(RackbootError)
  // A failed import leaves nothing behind.
  expect(readdirSync(root).filter((x) => !x.startsWith('.'))).toEqual(before)
  expect(leftovers()).toEqual([])
  return e as RackbootError
}

const layerOf = (entries: FixtureEntry[]): FixtureLayer => ({ entries })

describe.skipIf(skip !== null)('bad input gives a clear error and leaves nothing behind', () => {
  it.each([
    ['a ../ entry', [{ path: '../etc/passwd', data: 'x' }], /entry '..\/etc\/passwd': path contains '..'/],
    ['an absolute entry', [{ path: '/etc/passwd', data: 'x' }], /entry '\/etc\/passwd': absolute path/],
    [
      'a symlink escaping the root used as a parent',
      [
        { path: 'escape', type: 'symlink', linkpath: '../../..' },
        { path: 'escape/etc/cron.d/x', data: 'x' },
      ],
      /entry 'escape\/etc\/cron.d\/x': a symlink on the way climbs above the image root/,
    ],
    [
      'a hard link to nothing',
      [{ path: 'x', type: 'link', linkpath: 'missing' }],
      /entry 'x': hard link to 'missing', which is not a regular file/,
    ],
  ] as [string, FixtureEntry[], RegExp][])('%s', async (_what, entries, message) => {
    const e = await importLayers('evil', [baseLayer(), layerOf(entries)])
    expect(e.message).toMatch(/^layer 2\/2 \(sha256:/)
    expect(e.message).toMatch(message)
  })

  it('a truncated layer names the last entry read', async () => {
    const whole = buildTar([
      { path: 'a.txt', data: 'A'.repeat(600) },
      { path: 'b.txt', data: 'B'.repeat(600) },
    ])
    const e = await importLayers('trunc', [baseLayer(), { entries: [], raw: whole.subarray(0, 1536) }])
    expect(e.message).toMatch(/layer 2\/2 .*truncated or corrupt after entry 'a.txt'/)
  })

  it('a truncated gzip layer', async () => {
    const { gzipSync } = await import('node:zlib')
    const gz = gzipSync(buildTar([{ path: 'a.txt', data: 'A'.repeat(5000) }]))
    const e = await importLayers('truncgz', [
      baseLayer(),
      { entries: [], raw: gz.subarray(0, gz.length - 10) },
    ])
    expect(e.message).toMatch(/layer 2\/2 .*gzip data truncated or corrupt/)
  })

  it('a blob that does not match its digest', async () => {
    const layout = fresh('corrupt')
    await writeOciLayout(layout, [baseLayer()])
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'))
    const manifest = JSON.parse(
      readFileSync(join(layout, 'blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8'),
    )
    const blob = join(layout, 'blobs/sha256', manifest.layers[0].digest.slice(7))
    const bytes = readFileSync(blob)
    bytes.writeUInt8(bytes.readUInt8(5000) ^ 0xff, 5000) // inside the kernel's data: the tar still parses, only the digest can tell
    writeFileSync(blob, bytes)
    await expect(store.importOci('corrupt', { source: layout })).rejects.toThrow(
      /layer 1\/1 .*content is sha256:.*expected/,
    )
    expect(leftovers()).toEqual([])
  })

  it('a layer that is not an archive', async () => {
    const e = await importLayers('garbage', [
      baseLayer(),
      { entries: [], raw: Buffer.from('hello, not a tar'.repeat(64)) },
    ])
    expect(e.message).toMatch(/layer 2\/2 .*not a tar archive/)
  })

  it('a zstd layer on a Node without zstd', async () => {
    const zstd = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(100)])
    const e = await importLayers('zstd', [baseLayer(), { entries: [], raw: zstd }])
    if (e.code === 'unsupported-compression') expect(e.message).toMatch(/zstd-compressed and this Node.js/)
    else expect(e.message).toMatch(/zstd data truncated or corrupt/) // a Node with zstd decodes and rejects it
  })

  it('a directory that is no image', async () => {
    await expect(store.importOci('nothing', { source: fresh('empty') })).rejects.toThrow(
      /neither an OCI image layout \(no index.json\) nor a docker\/podman save archive/,
    )
  })

  it('no /sbin/init', async () => {
    const e = await importLayers('noinit', [
      layerOf([{ path: 'boot/vmlinuz-6.1.0-1-amd64', data: fakeKernel('6.1.0-1-amd64') }]),
    ])
    expect(e.code).toBe('no-init')
    expect(e.message).toMatch(/has no \/sbin\/init/)
  })

  it('a dangling /sbin/init symlink', async () => {
    const e = await importLayers('dangling', [
      layerOf([
        { path: 'sbin/init', type: 'symlink', linkpath: '/lib/systemd/systemd' },
        { path: 'boot/vmlinuz-6.1.0-1-amd64', data: fakeKernel('6.1.0-1-amd64') },
      ]),
    ])
    expect(e.code).toBe('no-init')
  })

  it('no kernel in the image and none supplied', async () => {
    const e = await importLayers('nokernel', [layerOf([{ path: 'sbin/init', data: 'init', mode: 0o755 }])])
    expect(e.code).toBe('no-kernel')
    expect(e.message).toMatch(/no kernel in the image .* and none supplied/)
  })

  it('a missing kernel file', async () => {
    await expect(
      store.importKernelInitrd('k', { kernel: join(work, 'nope'), initrd: join(work, 'nope2') }),
    ).rejects.toThrow(/kernel .*nope does not exist/)
    expect(leftovers()).toEqual([])
  })
})

describe.skipIf(skip !== null)('cancel', () => {
  it.each(['layers', 'packing', 'hashing'] as const)(
    'an abort during %s leaves no temp dir and no image',
    async (phase) => {
      const layout = fresh('cancel')
      const big: FixtureLayer = {
        gzip: true,
        entries: Array.from({ length: 40 }, (_, i) => ({
          path: `data/f${i}`,
          data: Buffer.alloc(300_000, i),
        })),
      }
      await writeOciLayout(layout, [...sampleLayers(VERSION), big])
      const ac = new AbortController()
      const seen: string[] = []
      const e = await store
        .importOci(
          `cancel-${phase}`,
          { source: layout },
          {
            signal: ac.signal,
            onProgress: (p) => {
              seen.push(p.phase)
              if (p.phase === phase) ac.abort()
            },
          },
        )
        .then(
          () => null,
          (x: unknown) => x,
        )
      expect(seen).toContain(phase)
      expect(e).toMatchObject({ code: 'cancelled', message: `import of image 'cancel-${phase}' cancelled` })
      expect(leftovers()).toEqual([])
      expect(await store.get(`cancel-${phase}`)).toBeNull()
    },
  )

  it('sweep() removes temp dirs left by a crash', async () => {
    mkdirSync(join(root, '.tmp-crashed'), { recursive: true })
    writeFileSync(join(root, '.tmp-crashed', 'kernel'), 'x')
    expect(await store.sweep()).toBe(1)
    expect(leftovers()).toEqual([])
  })
})
