import { describe, expect, it } from 'vitest'
import { decideRange } from '../../electron/core/boot/http/range'
import { notModified, rangeStillValid, validatorsFor } from '../../electron/core/boot/http/validators'
import { baseUrlFromHost, macFromSegment, parseTarget } from '../../electron/core/boot/http/request'

describe('decideRange (RFC 9110 §14.1.2, single range only)', () => {
  const size = 1000
  it.each([
    [undefined, { kind: 'whole' }],
    ['bytes=0-99', { kind: 'partial', start: 0, end: 99 }],
    ['bytes=500-', { kind: 'partial', start: 500, end: 999 }],
    ['bytes=-100', { kind: 'partial', start: 900, end: 999 }],
    ['bytes=-5000', { kind: 'partial', start: 0, end: 999 }],
    ['bytes=990-5000', { kind: 'partial', start: 990, end: 999 }],
    ['BYTES = 1 - 2', { kind: 'partial', start: 1, end: 2 }],
    ['bytes=999-999', { kind: 'partial', start: 999, end: 999 }],
    ['bytes=1000-', { kind: 'unsatisfiable' }],
    ['bytes=1000-2000', { kind: 'unsatisfiable' }],
    ['bytes=-0', { kind: 'unsatisfiable' }],
    ['bytes=99999999999999999999-', { kind: 'unsatisfiable' }],
    // ignored (whole file): invalid, other unit, several ranges
    ['bytes=5-1', { kind: 'whole' }],
    ['bytes=-', { kind: 'whole' }],
    ['bytes=a-b', { kind: 'whole' }],
    ['items=0-1', { kind: 'whole' }],
    ['bytes=0-1,5-9', { kind: 'whole' }],
    ['', { kind: 'whole' }],
  ])('%s', (header, want) => {
    expect(decideRange(header, size)).toEqual(want)
  })
  it('any range of an empty file is unsatisfiable', () => {
    expect(decideRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' })
    expect(decideRange('bytes=-1', 0)).toEqual({ kind: 'unsatisfiable' })
  })
})

describe('validators and conditional requests', () => {
  const mtimeNs = 1_700_000_000_123_456_789n
  const v = validatorsFor(4096, mtimeNs)
  it('strong etag from size and mtime, Last-Modified in HTTP date form', () => {
    expect(v.etag).toBe(`"1000-${mtimeNs.toString(16)}"`)
    expect(v.lastModified).toBe(new Date(1_700_000_000_123).toUTCString())
    expect(validatorsFor(4096, mtimeNs + 1n).etag).not.toBe(v.etag)
  })
  it('If-None-Match: weak comparison, lists and *', () => {
    expect(notModified(v, v.etag, undefined)).toBe(true)
    expect(notModified(v, `W/${v.etag}`, undefined)).toBe(true)
    expect(notModified(v, `"x", ${v.etag}`, undefined)).toBe(true)
    expect(notModified(v, '*', undefined)).toBe(true)
    expect(notModified(v, '"other"', undefined)).toBe(false)
  })
  it('If-Modified-Since only without If-None-Match', () => {
    expect(notModified(v, undefined, v.lastModified)).toBe(true)
    expect(notModified(v, undefined, new Date(1_600_000_000_000).toUTCString())).toBe(false)
    expect(notModified(v, undefined, 'not a date')).toBe(false)
    expect(notModified(v, '"other"', v.lastModified)).toBe(false)
  })
  it('If-Range: strong etag or exact date', () => {
    expect(rangeStillValid(v, undefined)).toBe(true)
    expect(rangeStillValid(v, v.etag)).toBe(true)
    expect(rangeStillValid(v, `W/${v.etag}`)).toBe(false)
    expect(rangeStillValid(v, '"other"')).toBe(false)
    expect(rangeStillValid(v, v.lastModified)).toBe(true)
    expect(rangeStillValid(v, new Date(1_600_000_000_000).toUTCString())).toBe(false)
  })
})

describe('request parsing', () => {
  it('splits the target without treating //host as a host', () => {
    const t = parseTarget('//evil/x?a=1')
    expect(t.ok && t.value.segments).toEqual(['', 'evil', 'x'])
    expect(parseTarget('http://x/').ok).toBe(false)
    expect(parseTarget('/a/%zz').ok).toBe(false)
    const enc = parseTarget('/files/a%2F..%2Fb')
    expect(enc.ok && enc.value.segments).toEqual(['files', 'a/../b'])
  })
  it.each(['52:54:00:AA:bb:01', '52-54-00-aa-bb-01', '525400aabb01', '5254.00aa.bb01'])('MAC %s', (m) => {
    expect(macFromSegment(m)).toEqual({ ok: true, value: '52:54:00:aa:bb:01' })
  })
  it('refuses bad MACs with a reason', () => {
    const r = macFromSegment('52:54:00:aa:bb')
    expect(r.ok).toBe(false)
    expect(macFromSegment(undefined).ok).toBe(false)
  })
  it('takes the base URL from a plain Host header only', () => {
    expect(baseUrlFromHost('198.18.0.1:9873')).toBe('http://198.18.0.1:9873')
    expect(baseUrlFromHost('[::1]:80')).toBe('http://[::1]:80')
    expect(baseUrlFromHost('x y')).toBeNull()
    expect(baseUrlFromHost('a/${b}')).toBeNull()
    expect(baseUrlFromHost(undefined)).toBeNull()
  })
})
