/**
 * Stored image → docker-archive → imported again: the tree survives (files, modes, owners, symlinks, hard
 * links), GNU tar reads the layer, and malformed stored archives are refused leaving no output.
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  chownSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ImageStore } from '../../electron/core/images/store'
import {
  KERNEL_INITRD_NOTE,
  exportNodeImages,
  writeDockerArchive,
} from '../../electron/core/interop/oci-export'
import { dbSchema, nodeSchema, SCHEMA_VERSION } from '../../electron/core/inventory/schema'
import { isRoot, missing } from '../support/env'
import { fakeKernel, listTree } from '../support/oci-fixture'

const VERSION = '6.1.0-1-amd64'
const LONG = `opt/${'deep-directory-name/'.repeat(6)}file-with-a-name-beyond-the-ustar-limit.txt`
let work: string
let a: ImageStore
let kernel: string

/** Unpacks gzip cpio archives into `dir` with GNU cpio (owners kept when root). */
function unpack(dir: string, ...archives: string[]): void {
  mkdirSync(dir, { recursive: true })
  for (const archive of archives)
    execFileSync('sh', ['-c', 'gzip -dc "$1" | cpio -idm --quiet --no-absolute-filenames', 'sh', archive], {
      cwd: dir,
    })
}

const skip = missing({ commands: ['cpio', 'gzip', 'tar'] })

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'rackboot-oci-export-test-'))
  const src = join(work, 'src')
  for (const d of [
    'sbin',
    'usr/bin',
    'etc',
    'home/user',
    `lib/modules/${VERSION}/kernel`,
    LONG.replace(/\/[^/]+$/, ''),
  ])
    mkdirSync(join(src, d), { recursive: true })
  writeFileSync(join(src, 'sbin/init'), '#!/bin/sh\n', { mode: 0o755 })
  writeFileSync(join(src, 'usr/bin/busybox'), 'BUSYBOX', { mode: 0o755 })
  linkSync(join(src, 'usr/bin/busybox'), join(src, 'usr/bin/sh'))
  writeFileSync(join(src, 'usr/bin/passwd'), 'PASSWD', { mode: 0o4755 })
  symlinkSync('usr/bin', join(src, 'bin'))
  writeFileSync(join(src, 'etc/hostname'), 'node\n', { mode: 0o644 })
  writeFileSync(join(src, 'home/user/.profile'), 'PS1=x', { mode: 0o600 })
  writeFileSync(join(src, `lib/modules/${VERSION}/kernel/virtio_net.ko`), 'MODULE')
  writeFileSync(join(src, LONG), 'long')
  if (isRoot) {
    chownSync(join(src, 'home/user'), 1000, 1000)
    chownSync(join(src, 'home/user/.profile'), 1000, 1000)
  }
  kernel = join(work, 'vmlinuz')
  writeFileSync(kernel, fakeKernel(VERSION))
  a = new ImageStore({ root: join(work, 'a') })
  await a.importRootfs('node-os', { source: src, kernel })
})
afterAll(() => rmSync(work, { recursive: true, force: true }))

const stored = (store: ImageStore, name: string) => ({
  rootfs: store.artifactPath(name, 'image') as string,
  modules: store.artifactPath(name, 'modules') as string,
})

describe.skipIf(skip !== null)('writeDockerArchive', () => {
  it('round-trips through ImageStore.importOci: same tree, modules and kernel', async () => {
    const out = join(work, 'node-os.tar')
    const { rootfs, modules } = stored(a, 'node-os')
    expect(modules).not.toBeNull()
    const r = await writeDockerArchive(
      { name: 'node-os', rootfs, modules, kernel, kernelVersion: VERSION },
      out,
    )
    const bytes = readFileSync(out)
    expect(r.bytes).toBe(bytes.length)
    expect(r.sha256).toBe(createHash('sha256').update(bytes).digest('hex'))

    const b = new ImageStore({ root: join(work, 'b') })
    // No kernel given: the import must find the /boot/vmlinuz-<version> the export added.
    const m = await b.importOci('again', { source: out })
    expect(m.kernelVersion).toBe(VERSION)
    expect(m.artifacts.kernel.sha256).toBe(createHash('sha256').update(readFileSync(kernel)).digest('hex'))
    expect(m.artifacts.modules?.origin).toBe(`image:/lib/modules/${VERSION}`)

    const before = stored(a, 'node-os')
    const after = stored(b, 'again')
    unpack(join(work, 'tree-a'), before.rootfs, before.modules)
    unpack(join(work, 'tree-b'), after.rootfs, after.modules)
    const ta = listTree(join(work, 'tree-a'), { owners: isRoot })
    const tb = listTree(join(work, 'tree-b'), { owners: isRoot })
    const owner = isRoot ? ' 0:0' : ''
    expect(tb.lines).toContain(`boot/vmlinuz-${VERSION} f644${owner} ${fakeKernel(VERSION).length}`)
    expect(tb.lines.filter((l) => !l.startsWith('boot'))).toEqual(ta.lines)
    expect(tb.links).toEqual(ta.links)
    expect(ta.links).toEqual([['usr/bin/busybox', 'usr/bin/sh']])
    expect(ta.lines).toContain(`bin l777${owner} ->usr/bin`)
    expect(ta.lines).toContain(`usr/bin/passwd f4755${owner} 6`)
    if (isRoot) expect(ta.lines).toContain('home/user/.profile f600 1000:1000 5')
    expect(ta.lines).toContain(`${LONG} f644${owner} 4`)
  })

  it('writes a docker-archive GNU tar lists, with a layer whose digest the config names', async () => {
    const out = join(work, 'listed.tar')
    const { rootfs, modules } = stored(a, 'node-os')
    await writeDockerArchive(
      { name: 'node-os', rootfs, modules, created: new Date('2024-05-01T12:00:00Z') },
      out,
    )
    const manifest = JSON.parse(
      execFileSync('tar', ['-xOf', out, 'manifest.json'], { encoding: 'utf8' }),
    ) as {
      Config: string
      RepoTags: string[]
      Layers: string[]
    }[]
    expect(manifest).toHaveLength(1)
    const [entry] = manifest
    expect(entry!.RepoTags).toEqual(['node-os:latest'])
    const layer = execFileSync('tar', ['-xOf', out, entry!.Layers[0]!], { maxBuffer: 64 << 20 })
    const layerSha = createHash('sha256').update(layer).digest('hex')
    expect(entry!.Layers[0]).toBe(`${layerSha}/layer.tar`)
    const config = JSON.parse(execFileSync('tar', ['-xOf', out, entry!.Config], { encoding: 'utf8' })) as {
      architecture: string
      os: string
      config: { Cmd: string[] }
      rootfs: { diff_ids: string[] }
    }
    expect(config).toMatchObject({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/sbin/init'] } })
    expect(config.rootfs.diff_ids).toEqual([`sha256:${layerSha}`])

    const listing = execFileSync('tar', ['-tvf', '-'], { input: layer, encoding: 'utf8' })
    expect(listing).toMatch(/^lrwxrwxrwx \S+ .* bin -> usr\/bin$/m)
    expect(listing).toMatch(/^-rwsr-xr-x \S+ .* usr\/bin\/passwd$/m)
    expect(listing).toMatch(/^hrwxr-xr-x \S+ .* usr\/bin\/(busybox|sh) link to usr\/bin\/(busybox|sh)$/m)
    expect(listing).toContain(LONG)
    expect(listing).toContain(`lib/modules/${VERSION}/kernel/virtio_net.ko`)
    // No kernel given: nothing added under /boot.
    expect(listing).not.toContain('boot/')
  })

  describe('malformed stored archives are refused, leaving no output', () => {
    const cases: [string, () => Buffer, RegExp][] = [
      [
        'not cpio at all',
        () => gzipSync(Buffer.from('this is not a cpio archive, '.repeat(10))),
        /no cpio newc header at offset 0/,
      ],
      [
        'a bad hex field',
        () => gzipSync(Buffer.from('070701' + 'zz'.repeat(52))),
        /offset 0: field ino is not 8 hex digits/,
      ],
      [
        'truncated in the middle',
        () => {
          const whole = gunzipSync(readFileSync(stored(a, 'node-os').rootfs))
          return gzipSync(whole.subarray(0, Math.floor(whole.length / 2)))
        },
        /ends early at offset \d+/,
      ],
    ]
    for (const [what, make, message] of cases)
      it(what, async () => {
        const dir = mkdtempSync(join(work, 'bad-'))
        const rootfs = join(dir, 'rootfs.cpio.gz')
        writeFileSync(rootfs, make())
        const outDir = join(dir, 'out')
        mkdirSync(outDir)
        await expect(writeDockerArchive({ name: 'bad', rootfs }, join(outDir, 'bad.tar'))).rejects.toThrow(
          message,
        )
        expect(readdirSync(outDir)).toEqual([])
      })
  })

  it('exportNodeImages writes the images nodes use and skips kernel+initrd and unknown ones', async () => {
    await a.importKernelInitrd('plain', { kernel, initrd: join(work, 'vmlinuz') })
    const db = dbSchema.parse({ version: SCHEMA_VERSION })
    const node = (name: string, image: string | null, kept?: string) =>
      nodeSchema.parse({
        name,
        image,
        extra: kept ? { warewulf: { fields: { 'image name': kept }, netdevs: [], primary: null } } : {},
      })
    db.nodes.push(
      node('n1', 'node-os'),
      node('n2', 'node-os'),
      node('n3', 'plain'),
      node('n4', 'ghost'),
      node('n5', null),
      node('n6', null, 'rocky-9'),
    )
    const dir = join(work, 'images-out')
    mkdirSync(dir)
    const r = await exportNodeImages(db, a, dir)
    expect(r.written.map((w) => w.name)).toEqual(['node-os'])
    expect(r.written[0]!.path).toBe(join(dir, 'node-os.tar'))
    expect(r.skipped).toEqual([
      { name: 'rocky-9', reason: expect.stringMatching(/server must already have it/) as unknown as string },
      { name: 'ghost', reason: expect.stringMatching(/not in the image store/) as unknown as string },
      { name: 'plain', reason: KERNEL_INITRD_NOTE },
    ])
    expect(readdirSync(dir)).toEqual(['node-os.tar'])
  })
})
