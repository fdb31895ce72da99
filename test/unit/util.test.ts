import { describe, it, expect } from 'vitest'
import { parseMac } from '../../electron/core/util/mac'
import { ipToInt, intToIp, parseCidr, cidrContains } from '../../electron/core/util/ipv4'
import { EventBus } from '../../electron/core/util/bus'

describe('parseMac', () => {
  it.each([
    ['52:54:00:AB:cd:01', '52:54:00:ab:cd:01'],
    ['52-54-00-ab-cd-01', '52:54:00:ab:cd:01'],
    ['5254.00ab.cd01', '52:54:00:ab:cd:01'],
    ['525400ABCD01', '52:54:00:ab:cd:01'],
    ['  52:54:00:ab:cd:01\t', '52:54:00:ab:cd:01'],
  ])('accepts %s', (input, want) => {
    expect(parseMac(input)).toEqual({ ok: true, value: want })
  })
  it.each([
    '',
    '52:54:00:ab:cd',
    '52:54:00:ab:cd:01:02',
    'zz:54:00:ab:cd:01',
    '52:54-00:ab:cd:01',
    '5254:00ab:cd01',
    '52.54.00.ab.cd.01',
  ])('rejects %j with a reason naming it', (input) => {
    const r = parseMac(input)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error).toContain(`'${input}'`)
  })
})

describe('ipv4', () => {
  it('round-trips and rejects sloppy dotted quads', () => {
    expect(intToIp(ipToInt('198.18.0.255')!)).toBe('198.18.0.255')
    for (const bad of ['1.2.3', '1.2.3.256', '01.2.3.4', '1.2.3.4.5', 'a.b.c.d', ''])
      expect(ipToInt(bad)).toBeNull()
  })
  it('parses CIDRs and refuses host bits', () => {
    const c = parseCidr('198.18.0.0/24')
    expect(c.ok).toBe(true)
    if (c.ok) {
      expect(cidrContains(c.value, ipToInt('198.18.0.77')!)).toBe(true)
      expect(cidrContains(c.value, ipToInt('198.18.1.1')!)).toBe(false)
    }
    const bad = parseCidr('198.18.0.1/24')
    expect(bad.ok).toBe(false)
    if (!bad.ok) expect(bad.error).toContain('198.18.0.0/24')
    expect(parseCidr('198.18.0.0/33').ok).toBe(false)
  })
})

describe('EventBus', () => {
  it('delivers to named and catch-all listeners and disposes them', () => {
    const bus = new EventBus<{ a: number; b: string }>()
    const seen: string[] = []
    const offA = bus.on('a', (n) => seen.push(`a${n}`))
    const offAny = bus.onAny((name, p) => seen.push(`*${String(name)}${String(p)}`))
    bus.emit('a', 1)
    bus.emit('b', 'x')
    offA()
    offAny()
    bus.emit('a', 2)
    expect(seen).toEqual(['a1', '*a1', '*bx'])
    expect(bus.listenerCount()).toBe(0)
  })
})
