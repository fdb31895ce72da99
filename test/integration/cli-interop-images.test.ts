/**
 * `rackboot export warewulf --out DIR` also writes DIR/images/<name>.tar (docker-archive) for every image a
 * node uses, and the README names the wwctl import command; alone and next to a running serve.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cliScratch, rackboot, serve } from '../support/cli'
import { missing } from '../support/env'
import { fakeKernel } from '../support/oci-fixture'

const { tmp, keep } = cliScratch('rackboot-interop-images-')

const VERSION = '6.1.0-7-amd64'

function ok(args: string[]): { stdout: string; stderr: string } {
  const r = rackboot(args)
  if (r.status !== 0) throw new Error(`rackboot ${args.join(' ')} exited ${r.status}:\n${r.stderr}`)
  return r
}

/** A data dir with image `node-os` (a rootfs with a supplied kernel) used by node c01; c02 has no image. */
function dataDirWithImage(): { dir: string; dataDir: string } {
  const dir = tmp()
  const src = join(dir, 'src')
  mkdirSync(join(src, 'sbin'), { recursive: true })
  mkdirSync(join(src, 'etc'))
  mkdirSync(join(src, 'lib/modules', VERSION), { recursive: true })
  writeFileSync(join(src, 'sbin/init'), '#!/bin/sh\n', { mode: 0o755 })
  writeFileSync(join(src, 'etc/hostname'), 'node\n')
  writeFileSync(join(src, 'lib/modules', VERSION, 'virtio_net.ko'), 'MODULE')
  writeFileSync(join(dir, 'vmlinuz'), fakeKernel(VERSION))
  const dataDir = join(dir, 'data')
  ok([
    'images',
    'import',
    'node-os',
    '--rootfs',
    src,
    '--kernel',
    join(dir, 'vmlinuz'),
    '--data-dir',
    dataDir,
  ])
  writeFileSync(
    join(dir, 'nodes.yaml'),
    [
      'nodes:',
      '  c01:',
      '    image name: node-os',
      '    network devices: {default: {ipaddr: 198.18.0.11}}',
      '  c02:',
      '    network devices: {default: {ipaddr: 198.18.0.12}}',
      '',
    ].join('\n'),
  )
  ok(['import', 'warewulf', join(dir, 'nodes.yaml'), '--data-dir', dataDir])
  return { dir, dataDir }
}

function checkExport(out: string, version: '4.5' | '4.6'): void {
  expect(readdirSync(join(out, 'images'))).toEqual(['node-os.tar'])
  const tar = join(out, 'images', 'node-os.tar')
  const listing = execFileSync('tar', ['-tf', tar], { encoding: 'utf8' }).split('\n')
  expect(listing).toContain('manifest.json')
  expect(listing.some((l) => /^[0-9a-f]{64}\/layer\.tar$/.test(l))).toBe(true)
  const readme = readFileSync(join(out, 'README.md'), 'utf8')
  const noun = version === '4.6' ? 'image' : 'container'
  expect(readme).toContain(`wwctl ${noun} import docker-archive:images/node-os.tar node-os`)
  expect(readme).not.toContain('Images are not exported yet')
}

describe.skipIf(missing({ commands: ['tar'] }) !== null)('rackboot export warewulf: images', () => {
  it('writes DIR/images/<name>.tar that `rackboot images import --oci` reads back, and names the wwctl command', () => {
    const { dir, dataDir } = dataDirWithImage()
    const out = join(dir, 'out')
    const r = ok(['export', 'warewulf', '--out', out, '--data-dir', dataDir])
    expect(r.stdout).toContain(`wrote ${join(out, 'images', 'node-os.tar')} (image 'node-os'`)
    checkExport(out, '4.6')
    const out45 = join(dir, 'out45')
    ok(['export', 'warewulf', '--out', out45, '--version', '4.5', '--data-dir', dataDir])
    checkExport(out45, '4.5')

    const again = join(dir, 'again')
    const imported = ok([
      'images',
      'import',
      'node-os',
      '--oci',
      join(out, 'images', 'node-os.tar'),
      '--data-dir',
      again,
    ])
    expect(imported.stdout).toMatch(/^imported node-os \(oci, /)
    const listed = JSON.parse(ok(['images', 'list', '--json', '--data-dir', again]).stdout) as {
      name: string
      kernelVersion?: string | null
    }[]
    expect(listed.map((i) => i.name)).toEqual(['node-os'])
  })

  it('through a running serve: the serve writes the archives', async () => {
    const { dir, dataDir } = dataDirWithImage()
    const served = await serve([
      '--data-dir',
      dataDir,
      '--http-port',
      '0',
      '--tftp-port',
      '0',
      '--ui-port',
      '0',
    ])
    keep(served)
    const out = join(dir, 'out')
    const r = ok(['export', 'warewulf', '--out', out, '--data-dir', dataDir])
    expect(r.stdout).toContain(join(out, 'images', 'node-os.tar'))
    checkExport(out, '4.6')
  })

  it('no node uses an image: no images dir, the README says so', () => {
    const dir = tmp()
    writeFileSync(
      join(dir, 'nodes.yaml'),
      'nodes:\n  c01:\n    network devices: {default: {ipaddr: 198.18.0.11}}\n',
    )
    const dataDir = join(dir, 'data')
    ok(['import', 'warewulf', join(dir, 'nodes.yaml'), '--data-dir', dataDir])
    const out = join(dir, 'out')
    ok(['export', 'warewulf', '--out', out, '--data-dir', dataDir])
    expect(existsSync(join(out, 'images'))).toBe(false)
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toContain('No node names an image')
  })
})
