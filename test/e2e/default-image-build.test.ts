/**
 * What build/default-image.sh produced, checked without booting it (default-image-boot.test.ts boots it): the
 * scripts parse, init is busybox, every driver comes after the modules its .modinfo `depends=` names, and
 * ensureDefaultImage() imports it once, as kind 'default', with kernel, rootfs and modules artifacts.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { missing } from '../support/env'
import { Rackboot } from '../../electron/core/rackboot'
import {
  DEFAULT_IMAGE_ARGS,
  DEFAULT_IMAGE_NAME,
  defaultImageFiles,
  ensureDefaultImage,
} from '../../electron/core/images/default-image'

const RESOURCES = join(__dirname, '..', '..', 'resources')
const files = defaultImageFiles(RESOURCES)
const skip = missing({ commands: ['tar', 'sh'], files: [files.archive, files.kernel] })

/** A module's name as the kernel spells it in depends= (dashes and underscores are the same to it). */
const modName = (path: string) => path.split('/').pop()!.replace(/\.ko$/, '').replace(/-/g, '_')

/** `depends=` of a .ko: the .modinfo section is NUL-separated key=value strings. */
function dependsOf(ko: Buffer): string[] {
  const entry = ko
    .toString('latin1')
    .split('\0')
    .find((s) => s.startsWith('depends='))
  const list = entry?.slice('depends='.length) ?? ''
  return list === '' ? [] : list.split(',').map((d) => d.replace(/-/g, '_'))
}

describe.skipIf(skip !== null)('the built default image', () => {
  let dir: string
  let root: string
  let kver: string

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rb-default-build-'))
    root = join(dir, 'root')
    execFileSync('mkdir', ['-p', root])
    execFileSync('tar', ['-xzf', files.archive, '-C', root])
    kver = /kernel-version: (\S+)/.exec(
      readFileSync(join(RESOURCES, 'default-image', 'build-info.txt'), 'utf8'),
    )![1]!
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('has busybox init, parseable scripts and the marker', () => {
    expect(readlinkSync(join(root, 'sbin', 'init'))).toBe('/bin/busybox')
    for (const script of ['init', 'etc/init.d/rcS', 'etc/udhcpc/default.script'])
      execFileSync('sh', ['-n', join(root, script)])
    expect(readFileSync(join(root, 'etc', 'inittab'), 'utf8')).toContain('::sysinit:/etc/init.d/rcS')
    expect(readFileSync(join(root, 'etc', 'init.d', 'rcS'), 'utf8')).toContain(
      'echo "RACKBOOT-DEFAULT-IMAGE-UP"',
    )
  })

  it('loads every driver after the modules it depends on', () => {
    const mods = join(root, 'lib', 'modules', kver)
    const order = readFileSync(join(mods, 'rackboot.order'), 'utf8').trim().split('\n')
    const names = order.map(modName)
    for (const wanted of [
      'virtio_pci',
      'virtio_net',
      'net_failover',
      'failover',
      'e1000',
      'virtio_blk',
      'ahci',
      'nvme',
    ])
      expect(names).toContain(wanted)
    for (const [i, rel] of order.entries()) {
      const deps = dependsOf(readFileSync(join(mods, rel)))
      for (const d of deps) {
        const at = names.indexOf(d)
        expect(at, `${rel} depends on ${d}`).toBeGreaterThanOrEqual(0)
        expect(at, `${d} must load before ${rel}`).toBeLessThan(i)
      }
    }
    // virtio_net really has dependencies, so the check above is not vacuous.
    expect(dependsOf(readFileSync(join(mods, order[names.indexOf('virtio_net')]!)))).toContain('net_failover')
  })

  it('ensureDefaultImage imports it once as kind default, and reports a missing build', async () => {
    const core = await Rackboot.open({ dataDir: join(dir, 'data') })
    try {
      const first = await ensureDefaultImage(core, { resourcesDir: RESOURCES })
      expect(first).toMatchObject({
        status: 'imported',
        image: { name: DEFAULT_IMAGE_NAME, kind: 'default', kernelArgs: DEFAULT_IMAGE_ARGS },
      })
      const m = (await core.images.get(DEFAULT_IMAGE_NAME))!
      expect(m.kernelVersion).toBe(kver)
      expect(m.artifacts.modules).not.toBeNull()
      const second = await ensureDefaultImage(core, { resourcesDir: join(dir, 'nowhere') })
      expect(second).toEqual({ status: 'present', image: first.status === 'imported' ? first.image : null })
      expect(core.repo.db.images.map((i) => i.name)).toEqual([DEFAULT_IMAGE_NAME])
    } finally {
      await core.close()
    }
    const empty = await Rackboot.open({ dataDir: join(dir, 'data-empty') })
    try {
      expect(await ensureDefaultImage(empty, { resourcesDir: join(dir, 'nowhere') })).toEqual({
        status: 'no-archive',
        path: join(dir, 'nowhere', 'default-image', 'rackboot-rescue.tar.gz'),
      })
      expect(empty.repo.db.images).toEqual([])
    } finally {
      await empty.close()
    }
  }, 60_000)
})
