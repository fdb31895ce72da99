import { createHash } from 'node:crypto'
import {
  chmodSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CpioWriter, checkArchivePath } from '../../electron/core/images/cpio'
import { packTree } from '../../electron/core/images/pack'
import { scanDirectory } from '../../electron/core/images/rootfs'
import { extractCpioGz, listCpioGz, listTree } from '../support/oci-fixture'
import { isRoot, missing } from '../support/env'

let work: string
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'rackboot-cpio-'))
})
afterAll(() => rmSync(work, { recursive: true, force: true }))

/** Collects what a CpioWriter writes. */
function collector(): { sink: PassThrough; bytes: () => Buffer } {
  const sink = new PassThrough()
  const chunks: Buffer[] = []
  sink.on('data', (c: Buffer) => chunks.push(c))
  return { sink, bytes: () => Buffer.concat(chunks) }
}

const meta = { mode: 0o644, uid: 0, gid: 0, mtime: 1_700_000_000 }

describe('CpioWriter (newc)', () => {
  it('writes 070701 headers, 4-byte alignment and the trailer', async () => {
    const { sink, bytes } = collector()
    const w = new CpioWriter(sink)
    await w.directory({ ...meta, path: 'etc', mode: 0o755 })
    await w.file({ ...meta, path: 'etc/hostname', size: 5, data: Buffer.from('node1') })
    await w.symlink({ ...meta, path: 'etc/alias', target: 'hostname' })
    await w.finish()
    const out = bytes()
    expect(out.subarray(0, 6).toString()).toBe('070701')
    expect(out.length % 4).toBe(0)
    const text = out.toString('latin1')
    expect(text).toContain('etc/hostname\0')
    expect(text).toContain('node1')
    // The trailer is the last entry and is followed only by padding.
    expect(text.lastIndexOf('TRAILER!!!\0')).toBeGreaterThan(text.lastIndexOf('hostname'))
    // c_mode of the directory: S_IFDIR | 0755, 8 hex digits after magic and c_ino.
    expect(text.slice(14, 22)).toBe((0o040755).toString(16).padStart(8, '0'))
    // c_namesize counts the NUL.
    expect(parseInt(text.slice(94, 102), 16)).toBe('etc'.length + 1)
  })

  it('refuses paths that are absolute, climb out or are not normalised', async () => {
    for (const bad of ['/etc/passwd', '../x', 'a/../../b', 'a//b', './a', '']) {
      expect(checkArchivePath(bad)).not.toBeNull()
      const w = new CpioWriter(new PassThrough())
      await expect(w.file({ ...meta, path: bad, size: 0, data: Buffer.alloc(0) })).rejects.toThrow(
        /refusing entry/,
      )
    }
    expect(checkArchivePath('usr/lib/x')).toBeNull()
  })

  it('refuses device nodes unless allowed', async () => {
    const dev = { ...meta, path: 'dev/console', type: 'char' as const, major: 5, minor: 1 }
    await expect(new CpioWriter(new PassThrough()).device(dev)).rejects.toThrow(
      /refusing char device 'dev\/console'/,
    )
    const { sink, bytes } = collector()
    const w = new CpioWriter(sink, { allowDevices: true })
    await w.device(dev)
    await w.finish()
    const text = bytes().toString('latin1')
    expect(text.slice(14, 22)).toBe((0o020644).toString(16).padStart(8, '0'))
    expect(parseInt(text.slice(78, 86), 16)).toBe(5) // c_rdevmajor
  })

  it('fails when a stream gives fewer bytes than declared, and refuses files of 4 GiB or more', async () => {
    const w = new CpioWriter(new PassThrough())
    await expect(
      w.file({ ...meta, path: 'short', size: 10, data: Readable.from([Buffer.from('abc')]) }),
    ).rejects.toThrow(/gave 3 bytes, expected 10/)
    await expect(
      new CpioWriter(new PassThrough()).file({ ...meta, path: 'big', size: 2 ** 32, data: Buffer.alloc(0) }),
    ).rejects.toThrow(/under 4 GiB/)
  })

  it('stops at an aborted signal', async () => {
    const ac = new AbortController()
    const w = new CpioWriter(new PassThrough(), { signal: ac.signal })
    ac.abort(new Error('stop'))
    await expect(w.directory({ ...meta, path: 'x' })).rejects.toThrow('stop')
  })
})

/** A source tree with every kind of entry the writer must carry. */
function makeSource(dir: string): void {
  mkdirSync(join(dir, 'bin'), { recursive: true })
  mkdirSync(join(dir, 'etc/deep/er/still'), { recursive: true })
  mkdirSync(join(dir, 'sbin'))
  mkdirSync(join(dir, 'secret'), { mode: 0o700 })
  writeFileSync(join(dir, 'bin/busybox'), Buffer.alloc(70_001, 7))
  chmodSync(join(dir, 'bin/busybox'), 0o755)
  writeFileSync(join(dir, 'bin/su'), 'setuid')
  chmodSync(join(dir, 'bin/su'), 0o4755)
  writeFileSync(join(dir, 'etc/empty'), '')
  writeFileSync(join(dir, 'etc/odd'), 'abc') // size not a multiple of 4
  writeFileSync(join(dir, 'etc/deep/er/still/ünïcode ñame'), 'utf8')
  writeFileSync(join(dir, 'secret/key'), 'k')
  chmodSync(join(dir, 'secret/key'), 0o600)
  chmodSync(join(dir, 'secret'), 0o700)
  symlinkSync('../bin/busybox', join(dir, 'sbin/init'))
  symlinkSync('/does/not/exist', join(dir, 'etc/dangling'))
  linkSync(join(dir, 'bin/busybox'), join(dir, 'bin/sh'))
  linkSync(join(dir, 'bin/busybox'), join(dir, 'sbin/ls'))
  utimesSync(join(dir, 'etc/odd'), 1_600_000_000, 1_600_000_000)
}

const digest = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex')

describe.each([
  ['busybox', 'busybox cpio -idm', 'busybox'],
  ['gnu', 'cpio -idm --no-absolute-filenames', 'cpio'],
] as const)('archive extracted by %s', (tool, _cmd, command) => {
  const skip = missing({ commands: [command, 'gzip'] })
  it.skipIf(skip !== null)(
    'matches the source tree: contents, modes, symlinks, hard links, mtimes',
    async () => {
      const src = join(work, `src-${tool}`)
      const out = join(work, `out-${tool}`)
      mkdirSync(src)
      mkdirSync(out)
      makeSource(src)
      const warnings: string[] = []
      const tree = await scanDirectory(src, { warnings })
      const archive = join(work, `${tool}.cpio.gz`)
      const packed = await packTree(tree, archive)
      expect(packed.sha256).toBe(digest(archive))
      extractCpioGz(archive, out, tool)

      const want = listTree(src, { owners: isRoot })
      const got = listTree(out, { owners: isRoot })
      expect(got.lines).toEqual(want.lines)
      expect(got.links).toEqual([['bin/busybox', 'bin/sh', 'sbin/ls']])
      for (const f of ['bin/busybox', 'etc/odd', 'etc/deep/er/still/ünïcode ñame', 'secret/key'])
        expect(digest(join(out, f))).toBe(digest(join(src, f)))
      const { mtimeMs } = await import('node:fs').then((fs) => fs.statSync(join(out, 'etc/odd')))
      expect(mtimeMs).toBe(1_600_000_000_000)
      expect(warnings).toEqual([])
    },
  )
})

describe('ownership is recorded whoever packs', () => {
  const skip = missing({ commands: ['busybox', 'gzip'] })
  it.skipIf(skip !== null)('keeps uid/gid from the index, not from the running user', async () => {
    const { sink, bytes } = collector()
    const archive = join(work, 'owners.cpio.gz')
    const zlib = await import('node:zlib')
    const w = new CpioWriter(sink)
    await w.directory({ ...meta, path: 'home', mode: 0o755 })
    await w.directory({ ...meta, path: 'home/u', mode: 0o700, uid: 1234, gid: 5678 })
    await w.file({ ...meta, path: 'home/u/f', uid: 1234, gid: 5678, size: 2, data: Buffer.from('hi') })
    await w.finish()
    writeFileSync(archive, zlib.gzipSync(bytes()))
    const lines = listCpioGz(archive)
    expect(lines.find((l) => l.endsWith(' home/u'))).toMatch(/^drwx------ 1234\/5678 /)
    expect(lines.find((l) => l.endsWith(' home/u/f'))).toMatch(/^-rw-r--r-- 1234\/5678 +2 /)
  })
})
