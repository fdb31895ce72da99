import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { contentSecurityPolicy } from '../../electron/core/api/headers'
import { contentTypeOf, resolveStaticPath } from '../../electron/core/api/static'

let base = ''
let root = ''

beforeAll(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'rackboot-api-static-')))
  root = join(base, 'www')
  await mkdir(join(root, 'assets'), { recursive: true })
  await writeFile(join(root, 'index.html'), '<!doctype html><title>rackboot</title>')
  await writeFile(join(root, 'assets', 'app-1234.js'), 'console.log(1)')
  await writeFile(join(root, '.env'), 'SECRET=1')
  await writeFile(join(base, 'secret.txt'), 'outside the root')
  await symlink(join(base, 'secret.txt'), join(root, 'leak.txt'))
  await symlink(join(root, 'assets', 'app-1234.js'), join(root, 'alias.js'))
})
afterAll(async () => {
  if (base) await rm(base, { recursive: true, force: true })
})

describe('resolveStaticPath', () => {
  it('serves files under the root and index.html for / and app routes', async () => {
    expect(await resolveStaticPath(root, '/assets/app-1234.js')).toEqual({
      ok: true,
      value: { file: join(root, 'assets/app-1234.js'), spa: false },
    })
    expect(await resolveStaticPath(root, '/')).toEqual({
      ok: true,
      value: { file: join(root, 'index.html'), spa: true },
    })
    expect(await resolveStaticPath(root, '/nodes/n1')).toEqual({
      ok: true,
      value: { file: join(root, 'index.html'), spa: true },
    })
    expect(await resolveStaticPath(root, '/alias.js')).toMatchObject({
      ok: true,
      value: { file: join(root, 'assets/app-1234.js') },
    })
  })

  it('answers 404, not index.html, for a missing asset, a directory and a dotfile', async () => {
    expect(await resolveStaticPath(root, '/assets/missing.js')).toMatchObject({
      ok: false,
      error: { status: 404 },
    })
    expect(await resolveStaticPath(root, '/assets')).toMatchObject({ ok: false, error: { status: 404 } })
    expect(await resolveStaticPath(root, '/.env')).toMatchObject({ ok: false, error: { status: 404 } })
  })

  it('refuses every spelling of an escape', async () => {
    for (const p of [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2E%2E/secret.txt',
      '/..%2fsecret.txt',
      '/assets/../../secret.txt',
      '/..%5csecret.txt',
      '/index.html%00.js',
      '/%00',
      '/%zz',
      'secret.txt',
    ]) {
      const r = await resolveStaticPath(root, p)
      expect(r.ok, p).toBe(false)
      if (!r.ok) expect(r.error.status, p).toBe(400)
    }
    expect(await resolveStaticPath(root, '/leak.txt')).toMatchObject({ ok: false, error: { status: 403 } })
  })
})

describe('static headers', () => {
  it('names content types and a CSP that allows only this server', () => {
    expect(contentTypeOf('a/b.JS')).toBe('text/javascript; charset=utf-8')
    expect(contentTypeOf('x.woff2')).toBe('font/woff2')
    expect(contentTypeOf('x.unknown')).toBe('application/octet-stream')
    const csp = contentSecurityPolicy(['ws://127.0.0.1:5000'])
    expect(csp).toContain("default-src 'self'")
    expect(csp).toContain("connect-src 'self' ws://127.0.0.1:5000")
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).not.toContain('unsafe')
  })
})
