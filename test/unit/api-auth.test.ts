import { describe, expect, it } from 'vitest'
import {
  bearerToken,
  checkHostAndOrigin,
  isLoopbackHost,
  loopbackGuard,
  newToken,
  tokenMatches,
} from '../../electron/core/api/auth'

describe('api token', () => {
  it('is 32 random bytes in hex', () => {
    expect(newToken((n) => Buffer.alloc(n, 0xab))).toBe('ab'.repeat(32))
    expect(newToken()).toMatch(/^[0-9a-f]{64}$/)
  })

  it('matches only the exact token', () => {
    const t = 'a'.repeat(64)
    expect(tokenMatches(t, t)).toBe(true)
    expect(tokenMatches(t, `${t}a`)).toBe(false)
    expect(tokenMatches(t, 'a'.repeat(63))).toBe(false)
    expect(tokenMatches(t, 'A'.repeat(64))).toBe(false)
    expect(tokenMatches(t, '')).toBe(false)
    expect(tokenMatches(t, null)).toBe(false)
    expect(tokenMatches(t, undefined)).toBe(false)
  })

  it('reads a Bearer header and nothing else', () => {
    expect(bearerToken('Bearer abc123')).toBe('abc123')
    expect(bearerToken('bearer abc123')).toBe('abc123')
    expect(bearerToken('Basic YWJjOmRlZg==')).toBeNull()
    expect(bearerToken('Bearer')).toBeNull()
    expect(bearerToken('Bearer a b')).toBeNull()
    expect(bearerToken(undefined)).toBeNull()
  })
})

describe('loopback guard', () => {
  it('knows loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) expect(isLoopbackHost(h), h).toBe(true)
    for (const h of ['0.0.0.0', '::', '198.18.0.1', '10.0.0.1', 'example.com', '128.0.0.1', ''])
      expect(isLoopbackHost(h), h).toBe(false)
  })

  it('accepts its own host:port and origin, refuses others', () => {
    const g = loopbackGuard(['127.0.0.1'], 4321)
    expect(checkHostAndOrigin(g, '127.0.0.1:4321', undefined)).toEqual({ ok: true })
    expect(checkHostAndOrigin(g, 'LOCALHOST:4321', 'http://localhost:4321')).toEqual({ ok: true })
    expect(checkHostAndOrigin(g, '127.0.0.1:4321', 'http://127.0.0.1:4321')).toEqual({ ok: true })
    // DNS rebinding: the attacker's name resolves to us, but the Host header still names the attacker.
    expect(checkHostAndOrigin(g, 'evil.example:4321', undefined)).toMatchObject({ ok: false, status: 421 })
    expect(checkHostAndOrigin(g, '127.0.0.1:4322', undefined)).toMatchObject({ ok: false, status: 421 })
    expect(checkHostAndOrigin(g, '127.0.0.1', undefined)).toMatchObject({ ok: false, status: 421 })
    expect(checkHostAndOrigin(g, undefined, undefined)).toMatchObject({ ok: false, status: 421 })
    for (const o of ['http://evil.example', 'null', 'https://127.0.0.1:4321', 'http://127.0.0.1:4322', ''])
      expect(checkHostAndOrigin(g, '127.0.0.1:4321', o), o).toMatchObject({ ok: false, status: 403 })
  })

  it('brackets IPv6 and allows a bare host on port 80', () => {
    const v6 = loopbackGuard(['::1'], 8080)
    expect(v6.hosts.has('[::1]:8080')).toBe(true)
    expect(v6.origins.has('http://[::1]:8080')).toBe(true)
    expect(loopbackGuard(['127.0.0.1'], 80).hosts.has('127.0.0.1')).toBe(true)
  })
})
