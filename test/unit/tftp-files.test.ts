import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  compositeProvider,
  diskProvider,
  memoryProvider,
  normaliseTftpPath,
} from '../../electron/core/boot/tftp/files'

const client = { address: '198.18.20.7', port: 2000 }
let base: string
let root: string
let overlay: string

beforeAll(() => {
  base = mkdtempSync(path.join(tmpdir(), 'rbtf-files-'))
  root = path.join(base, 'root')
  overlay = path.join(base, 'overlay')
  mkdirSync(path.join(root, 'boot', 'efi'), { recursive: true })
  mkdirSync(overlay)
  writeFileSync(path.join(base, 'secret'), 'outside the root')
  writeFileSync(path.join(root, 'boot', 'efi', 'ipxe.efi'), 'IPXE')
  writeFileSync(path.join(root, 'pxelinux.0'), 'PXELINUX')
  writeFileSync(path.join(overlay, 'pxelinux.0'), 'OVERLAY')
  symlinkSync(path.join(base, 'secret'), path.join(root, 'escape'))
  symlinkSync(base, path.join(root, 'updir'))
  symlinkSync('boot/efi/ipxe.efi', path.join(root, 'inside-link'))
})
afterAll(() => rmSync(base, { recursive: true, force: true }))

async function readAll(p: ReturnType<typeof diskProvider>, name: string) {
  const r = await p.open(name, client)
  if (!r.ok) return r
  const data = await r.value.read(0, r.value.size)
  await r.value.close()
  return { ok: true as const, value: data.toString() }
}

describe('normaliseTftpPath', () => {
  it.each([
    ['/pxelinux.0', 'pxelinux.0'],
    ['\\boot\\efi\\ipxe.efi', 'boot/efi/ipxe.efi'],
    ['./a/./b', 'a/b'],
    ['//a//b', 'a/b'],
    ['/..%2fsecret', '..%2fsecret'],
  ])('%s -> %s', (input, out) => expect(normaliseTftpPath(input)).toEqual({ ok: true, value: out }))
  it.each(['../../etc/passwd', '\\..\\secret', 'a/../../b', 'boot/../pxelinux.0', '..'])(
    'refuses %s',
    (input) => {
      const r = normaliseTftpPath(input)
      expect(r.ok).toBe(false)
      expect(!r.ok && r.error.code).toBe(2)
      expect(!r.ok && r.error.message).toContain(input)
    },
  )
  it('refuses NUL', () => expect(normaliseTftpPath('a\0b')).toMatchObject({ ok: false, error: { code: 2 } }))
})

describe('diskProvider', () => {
  it('serves files under the root, whatever the slashes', async () => {
    const p = diskProvider(root)
    expect(await readAll(p, '/boot/efi/ipxe.efi')).toEqual({ ok: true, value: 'IPXE' })
    expect(await readAll(p, '\\boot\\efi\\ipxe.efi')).toEqual({ ok: true, value: 'IPXE' })
    expect(await readAll(p, 'inside-link')).toEqual({ ok: true, value: 'IPXE' })
  })
  it.each([
    ['../secret', 2],
    ['../../etc/passwd', 2],
    ['\\..\\secret', 2],
    ['escape', 2],
    ['updir/secret', 2],
    ['/..%2fsecret', 1],
    ['/etc/passwd', 1],
    ['a\0b', 2],
    ['boot', 2],
    ['/', 1],
  ])('%s is refused with error %i', async (name, code) => {
    const r = await diskProvider(root).open(name, client)
    expect(r.ok).toBe(false)
    expect(!r.ok && r.error.code).toBe(code)
  })
  it('names the path and the root in not-found errors', async () => {
    const r = await diskProvider(root).open('nope.efi', client)
    expect(!r.ok && r.error.message).toBe(`'nope.efi' not found under ${root}`)
  })
  it('reads ranges and past the end', async () => {
    const r = await diskProvider(root).open('pxelinux.0', client)
    if (!r.ok) throw new Error(r.error.message)
    expect((await r.value.read(2, 3)).toString()).toBe('ELI')
    expect((await r.value.read(100, 3)).length).toBe(0)
    await r.value.close()
    await r.value.close()
  })
})

describe('compositeProvider and memoryProvider', () => {
  it('first layer with the file wins; not-found falls through; access violations do not', async () => {
    const gen = memoryProvider((name, c) =>
      name === 'node.ipxe' ? Buffer.from(`for ${c.address}`) : undefined,
    )
    const p = compositeProvider([gen, diskProvider(overlay), diskProvider(root)])
    expect(await readAll(p, 'node.ipxe')).toEqual({ ok: true, value: 'for 198.18.20.7' })
    expect(await readAll(p, 'pxelinux.0')).toEqual({ ok: true, value: 'OVERLAY' })
    expect(await readAll(p, 'boot/efi/ipxe.efi')).toEqual({ ok: true, value: 'IPXE' })
    expect(await p.open('../secret', client)).toMatchObject({ ok: false, error: { code: 2 } })
    const miss = await p.open('nothing', client)
    expect(!miss.ok && miss.error.code).toBe(1)
    expect(!miss.ok && miss.error.message).toContain(root)
  })
})
