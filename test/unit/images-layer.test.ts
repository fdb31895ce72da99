import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compareVersions, findKernel, readKernelInfo } from '../../electron/core/images/kernel'
import { applyTarLayer } from '../../electron/core/images/layer'
import { resolveImage, type SourceLookup } from '../../electron/core/images/oci'
import { FsTree, splitArchivePath } from '../../electron/core/images/tree'
import { buildTar, fakeKernel, type FixtureEntry } from '../support/oci-fixture'

let work: string
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'rackboot-layer-'))
})
afterAll(() => rmSync(work, { recursive: true, force: true }))

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b
}

async function apply(
  layers: FixtureEntry[][],
  whiteouts = true,
): Promise<{ tree: FsTree; warnings: string[] }> {
  const tree = new FsTree()
  const warnings: string[] = []
  const blobs = { next: 0 }
  for (const [i, entries] of layers.entries())
    await applyTarLayer(once(buildTar(entries)), tree, {
      layer: i + 1,
      label: `layer ${i + 1}`,
      whiteouts,
      blobDir: work,
      blobs,
      warnings,
    })
  return { tree, warnings }
}

const paths = (t: FsTree) => [...t.walk()].map(([p, n]) => (n.type === 'dir' ? `${p}/` : p))

describe('splitArchivePath', () => {
  it('drops ./ and trailing slashes, refuses absolute and ..', () => {
    expect(splitArchivePath('./usr/bin/')).toEqual({ ok: true, value: ['usr', 'bin'] })
    expect(splitArchivePath('./')).toEqual({ ok: true, value: [] })
    expect(splitArchivePath('/etc')).toEqual({ ok: false, error: 'absolute path' })
    expect(splitArchivePath('a/../../b').ok).toBe(false)
  })
})

describe('layers applied to the tree', () => {
  it('a whiteout deletes a lower entry and everything under it', async () => {
    const { tree } = await apply([
      [
        { path: 'a/b/c', data: 'x' },
        { path: 'a/keep', data: 'k' },
      ],
      [{ path: 'a/.wh.b' }, { path: 'a/.wh.never-existed' }],
    ])
    expect(paths(tree)).toEqual(['a/', 'a/keep'])
  })

  it('an opaque whiteout hides lower entries but keeps entries of its own layer, also in subdirectories', async () => {
    const { tree } = await apply([
      [
        { path: 'd/old', data: '1' },
        { path: 'd/x/old', data: '1' },
      ],
      [
        { path: 'd/x/', type: 'dir' },
        { path: 'd/x/new', data: '2' },
        { path: 'd/new', data: '2' },
        { path: 'd/.wh..wh..opq' },
      ],
    ])
    expect(paths(tree)).toEqual(['d/', 'd/new', 'd/x/', 'd/x/new'])
  })

  it('without OCI whiteouts, .wh. files are ordinary files', async () => {
    const { tree } = await apply([[{ path: 'a/x', data: '1' }, { path: 'a/.wh.x' }]], false)
    expect(paths(tree)).toEqual(['a/', 'a/.wh.x', 'a/x'])
  })

  it('a later entry through an in-image symlink lands at the target, as docker applies it', async () => {
    const { tree } = await apply([
      [
        { path: 'usr/lib/', type: 'dir' },
        { path: 'lib', type: 'symlink', linkpath: '/usr/lib' },
      ],
      [{ path: 'lib/firmware/x.bin', data: 'fw' }],
    ])
    expect(paths(tree)).toContain('usr/lib/firmware/x.bin')
    expect(paths(tree)).not.toContain('lib/firmware/x.bin')
  })

  it('a file replaces a directory, a directory over a directory merges', async () => {
    const { tree } = await apply([
      [
        { path: 'a/b/c', data: '1' },
        { path: 'm/one', data: '1' },
      ],
      [
        { path: 'a/b', data: 'now a file' },
        { path: 'm/', type: 'dir', mode: 0o700 },
        { path: 'm/two', data: '2' },
      ],
    ])
    expect(paths(tree)).toEqual(['a/', 'a/b', 'm/', 'm/one', 'm/two'])
    const m = tree.lookup(['m'])
    expect(m.ok && m.value?.mode).toBe(0o700)
  })

  it('skips device nodes and FIFOs with a warning', async () => {
    const { tree, warnings } = await apply([
      [
        { path: 'dev/', type: 'dir' },
        { path: 'dev/null', type: 'char' },
        { path: 'dev/sda', type: 'block' },
        { path: 'run/fifo', type: 'fifo' },
      ],
    ])
    expect(paths(tree)).toEqual(['dev/'])
    expect(warnings).toHaveLength(3)
    expect(warnings[0]).toMatch(/layer 1: skipped CharacterDevice 'dev\/null'/)
  })

  it('refuses more than 40 symlinks on the way', async () => {
    await expect(
      apply([
        [
          { path: 'loop', type: 'symlink', linkpath: 'loop' },
          { path: 'loop/x', data: '1' },
        ],
      ]),
    ).rejects.toThrow(/entry 'loop\/x': more than 40 symlinks/)
  })
})

describe('kernel', () => {
  it('reads version and 64-bit flag from a bzImage header', async () => {
    const p = join(work, 'bz')
    writeFileSync(p, fakeKernel('6.1.0-13-amd64'))
    expect(await readKernelInfo(p)).toEqual({ version: '6.1.0-13-amd64', arch: 'amd64' })
    writeFileSync(p, Buffer.alloc(4096))
    expect(await readKernelInfo(p)).toEqual({ version: null, arch: null })
  })

  it('finds the newest /boot/vmlinuz-*, else /lib/modules/*/vmlinuz', async () => {
    const { tree } = await apply([
      [
        { path: 'boot/vmlinuz-6.1.0-9-amd64', data: 'k9' },
        { path: 'boot/vmlinuz-6.1.0-10-amd64', data: 'k10' },
        { path: 'boot/config-6.1.0-10-amd64', data: 'c' },
      ],
    ])
    const found = findKernel(tree)
    expect(found.kernel?.path).toBe('boot/vmlinuz-6.1.0-10-amd64')
    expect(found.others).toEqual(['boot/vmlinuz-6.1.0-9-amd64'])
    const fedora = await apply([
      [
        { path: 'usr/lib/modules/6.8.5-301.fc40.x86_64/vmlinuz', data: 'k' },
        { path: 'lib', type: 'symlink', linkpath: 'usr/lib' },
      ],
    ])
    expect(findKernel(fedora.tree).kernel).toMatchObject({
      path: 'lib/modules/6.8.5-301.fc40.x86_64/vmlinuz',
      versionFromName: '6.8.5-301.fc40.x86_64',
    })
    expect(compareVersions('6.10.0', '6.9.0')).toBeGreaterThan(0)
  })
})

describe('resolveImage', () => {
  /** A lookup over an in-memory set of JSON files written to disk. */
  function source(files: Record<string, unknown>): SourceLookup {
    const dir = mkdtempSync(join(work, 'src-'))
    const map = new Map<string, string>()
    for (const [rel, body] of Object.entries(files)) {
      const p = join(dir, rel.replace(/\//g, '_'))
      writeFileSync(p, typeof body === 'string' ? body : JSON.stringify(body))
      map.set(rel, p)
    }
    return async (rel) => map.get(rel) ?? null
  }
  const d = (c: string) => `sha256:${c.repeat(64)}`

  it('picks linux/amd64 from a multi-platform index and skips attestations', async () => {
    const manifest = {
      config: { digest: d('c'), size: 2 },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d('e'), size: 1 }],
    }
    const r = await resolveImage(
      source({
        'index.json': {
          manifests: [
            {
              mediaType: 'application/vnd.oci.image.index.v1+json',
              digest: d('1'),
              annotations: { 'org.opencontainers.image.ref.name': 'deb:12' },
            },
          ],
        },
        [`blobs/sha256/${'1'.repeat(64)}`]: {
          manifests: [
            {
              mediaType: 'application/vnd.oci.image.manifest.v1+json',
              digest: d('a'),
              platform: { architecture: 'arm64', os: 'linux' },
            },
            {
              mediaType: 'application/vnd.oci.image.manifest.v1+json',
              digest: d('b'),
              platform: { architecture: 'amd64', os: 'linux' },
            },
            {
              mediaType: 'application/vnd.oci.image.manifest.v1+json',
              digest: d('f'),
              platform: { architecture: 'unknown', os: 'unknown' },
            },
          ],
        },
        [`blobs/sha256/${'b'.repeat(64)}`]: manifest,
        [`blobs/sha256/${'c'.repeat(64)}`]: { architecture: 'amd64' },
        [`blobs/sha256/${'e'.repeat(64)}`]: 'layer',
      }),
    )
    expect(r).toMatchObject({
      ok: true,
      value: { type: 'oci-layout', digest: d('b'), reference: 'deb:12', arch: 'amd64' },
    })
    expect(r.ok && r.value.layers.map((l) => l.digest)).toEqual([d('e')])
  })

  it('refuses docker archives with several images or paths that climb out', async () => {
    const many = await resolveImage(
      source({
        'manifest.json': [
          { Config: 'a.json', RepoTags: ['a:1'], Layers: [] },
          { Config: 'b.json', RepoTags: ['b:1'], Layers: [] },
        ],
      }),
    )
    expect(many).toEqual({ ok: false, error: expect.stringMatching(/holds 2 images \(a:1, b:1\)/) })
    const evil = await resolveImage(
      source({ 'manifest.json': [{ Config: 'c.json', Layers: ['../../etc/shadow'] }], 'c.json': {} }),
    )
    expect(evil).toEqual({
      ok: false,
      error: expect.stringMatching(/names '..\/..\/etc\/shadow': path contains '..'/),
    })
  })

  it('reports bad JSON with the file name', async () => {
    const r = await resolveImage(source({ 'index.json': '{ nope' }))
    expect(r).toEqual({ ok: false, error: expect.stringMatching(/^'index.json' is not JSON/) })
    const r2 = await resolveImage(source({ 'index.json': { manifests: [{ digest: 'sha256:../../x' }] } }))
    expect(r2.ok).toBe(false)
  })
})
