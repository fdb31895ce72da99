/**
 * `rackboot images import|list|remove` as a user runs them (the real bin over the esbuild bundle): usage
 * errors, relative paths, the inventory record, refusals that name what is in the way, imports through a
 * running serve with progress on stderr, and Ctrl-C leaving nothing behind.
 */
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BIN, cliScratch, rackboot, serve } from '../support/cli'

const { tmp, keep } = cliScratch('rackboot-cli-images-')

function ok(args: string[], cwd?: string): { stdout: string; stderr: string } {
  const r = cwd
    ? spawnSync('node', [resolve(BIN), ...args], { cwd, encoding: 'utf8', timeout: 60_000 })
    : rackboot(args)
  if (r.status !== 0) throw new Error(`rackboot ${args.join(' ')} exited ${r.status}:\n${r.stderr}`)
  return { stdout: r.stdout, stderr: r.stderr }
}

/** A kernel and an initrd file (contents do not matter to a kernel-initrd import). */
function kernelInitrd(dir: string): void {
  writeFileSync(join(dir, 'vmlinuz'), randomBytes(4096))
  writeFileSync(join(dir, 'initrd.img'), randomBytes(2048))
}

type Listed = { name: string; kind: string; kernelArgs: string; sizeBytes: number }
/** The images this test made: a running serve also imports the rescue image in the background. */
const list = (dataDir: string) =>
  (JSON.parse(ok(['images', 'list', '--json', '--data-dir', dataDir]).stdout) as Listed[]).filter(
    (i) => i.name !== 'rackboot-rescue',
  )

describe('rackboot images: usage', () => {
  const cases: [string, string[], RegExp][] = [
    ['no source', [], /give one image source: --kernel FILE --initrd FILE, --oci/],
    ['two sources', ['--oci', 'a.tar', '--rootfs', 'b'], /--oci and --rootfs/],
    ['--kernel without --initrd', ['--kernel', 'k'], /--kernel needs --initrd/],
    ['--initrd with --rootfs', ['--rootfs', 'r', '--initrd', 'i'], /--initrd does not go with --rootfs/],
  ]
  it.each(cases)('%s exits 2 naming the flag', (_what, flags, message) => {
    const dataDir = join(tmp(), 'data')
    const r = rackboot(['images', 'import', 'img', ...flags, '--data-dir', dataDir])
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(message)
  })
})

describe('rackboot images without a running serve', () => {
  it('imports with relative paths, lists, refuses unknown images on nodes and removing images in use', () => {
    const dir = tmp()
    const dataDir = join(dir, 'data')
    kernelInitrd(dir)
    // Relative to the working directory of the command, not of the core.
    const imported = ok(
      [
        'images',
        'import',
        'k1',
        '--kernel',
        'vmlinuz',
        '--initrd',
        'initrd.img',
        '--args',
        'console=ttyS0',
        '--data-dir',
        dataDir,
      ],
      dir,
    )
    expect(imported.stdout).toMatch(/^imported k1 \(kernel-initrd, /)
    expect(imported.stderr).toMatch(/importing k1: hashing 100% \(/)
    expect(list(dataDir)).toEqual([
      expect.objectContaining({
        name: 'k1',
        kind: 'kernel-initrd',
        kernelArgs: 'console=ttyS0',
        sizeBytes: 6144,
      }),
    ])
    expect(ok(['images', 'list', '--data-dir', dataDir]).stdout).toMatch(
      /^NAME +KIND +SIZE[^\n]*\nk1 +kernel-initrd /,
    )

    const same = rackboot([
      'images',
      'import',
      'k1',
      '--kernel',
      join(dir, 'vmlinuz'),
      '--initrd',
      join(dir, 'initrd.img'),
      '--data-dir',
      dataDir,
    ])
    expect(same.status).toBe(1)
    expect(same.stderr).toContain("image 'k1' already exists")

    const unknown = rackboot([
      'nodes',
      'add',
      'n1',
      '--mac',
      '52:54:00:00:00:01',
      '--image',
      'nope',
      '--data-dir',
      dataDir,
    ])
    expect(unknown.status).toBe(1)
    expect(unknown.stderr).toContain("image 'nope' does not exist (images: k1)")

    ok(['nodes', 'add', 'n1', '--mac', '52:54:00:00:00:01', '--image', 'k1', '--data-dir', dataDir])
    ok(['nodes', 'add', 'n2', '--mac', '52:54:00:00:00:02', '--image', 'k1', '--data-dir', dataDir])
    const inUse = rackboot(['images', 'remove', 'k1', '--data-dir', dataDir])
    expect(inUse.status).toBe(1)
    expect(inUse.stderr).toContain("image 'k1' is used by nodes n1, n2")
    expect(readdirSync(join(dataDir, 'images'))).toEqual(['k1'])

    ok(['nodes', 'remove', 'n1', '--data-dir', dataDir])
    ok(['nodes', 'remove', 'n2', '--data-dir', dataDir])
    expect(ok(['images', 'remove', 'k1', '--data-dir', dataDir]).stdout).toBe('removed k1\n')
    expect(list(dataDir)).toEqual([])
    expect(readdirSync(join(dataDir, 'images'))).toEqual([])
    const gone = rackboot(['images', 'remove', 'k1', '--data-dir', dataDir])
    expect(gone.status).toBe(1)
    expect(gone.stderr).toContain("no image named 'k1' (images: none)")
  }, 60_000)

  it('a missing source file is a runtime error naming the path, and leaves nothing behind', () => {
    const dir = tmp()
    const dataDir = join(dir, 'data')
    const r = rackboot([
      'images',
      'import',
      'k1',
      '--kernel',
      join(dir, 'absent'),
      '--initrd',
      join(dir, 'absent2'),
      '--data-dir',
      dataDir,
    ])
    expect(r.status).toBe(1)
    expect(r.stderr).toContain(join(dir, 'absent'))
    expect(readdirSync(join(dataDir, 'images'))).toEqual([])
    expect(list(dataDir)).toEqual([])
  }, 30_000)

  it('Ctrl-C cancels an import: exit 1 saying so, no image, no temp dir', async () => {
    const dir = tmp()
    const dataDir = join(dir, 'data')
    const root = join(dir, 'rootfs')
    mkdirSync(join(root, 'sbin'), { recursive: true })
    writeFileSync(join(root, 'sbin', 'init'), '#!/bin/sh\n', { mode: 0o755 })
    // Random data does not compress, so packing it takes long enough to interrupt.
    for (let i = 0; i < 6; i++) writeFileSync(join(root, `blob${i}`), randomBytes(32 * 1024 * 1024))
    writeFileSync(join(dir, 'vmlinuz'), randomBytes(4096))
    const child = spawn(
      'node',
      [
        BIN,
        'images',
        'import',
        'big',
        '--rootfs',
        root,
        '--kernel',
        join(dir, 'vmlinuz'),
        '--data-dir',
        dataDir,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let stderr = ''
    let interrupted = false
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString()
      if (!interrupted && /importing big: packing/.test(stderr)) {
        interrupted = true
        child.kill('SIGINT')
      }
    })
    const code = await exited
    expect(interrupted).toBe(true)
    expect(code).toBe(1)
    expect(stderr).toContain("import of image 'big' cancelled; nothing was kept")
    expect(readdirSync(join(dataDir, 'images'))).toEqual([])
    expect(list(dataDir)).toEqual([])
  }, 120_000)
})

describe('rackboot images next to a running serve', () => {
  it('imports through the serve (progress on stderr), which then lists and removes it', async () => {
    const dir = tmp()
    const dataDir = join(dir, 'data')
    kernelInitrd(dir)
    // Big enough that progress events arrive while the import runs, not only around its answer.
    writeFileSync(join(dir, 'initrd.img'), randomBytes(48 * 1024 * 1024))
    const served = await serve(['--data-dir', dataDir, '--http-port', '0', '--tftp-port', '0'])
    keep(served)
    const r = ok([
      'images',
      'import',
      'k2',
      '--kernel',
      join(dir, 'vmlinuz'),
      '--initrd',
      join(dir, 'initrd.img'),
      '--data-dir',
      dataDir,
    ])
    expect(r.stdout).toMatch(/^imported k2 /)
    expect(r.stderr).toMatch(/importing k2: hashing [1-9]0% \(/)
    expect(list(dataDir).map((i) => i.name)).toEqual(['k2'])
    // The serve holds the store: the node add goes through it and sees the new image.
    ok(['nodes', 'add', 'n1', '--mac', '52:54:00:00:00:01', '--image', 'k2', '--data-dir', dataDir])
    expect(rackboot(['images', 'remove', 'k2', '--data-dir', dataDir]).stderr).toContain('is used by node n1')
    ok(['nodes', 'remove', 'n1', '--data-dir', dataDir])
    expect(ok(['images', 'remove', 'k2', '--data-dir', dataDir]).stdout).toBe('removed k2\n')
    expect(list(dataDir)).toEqual([])
  }, 90_000)
})
