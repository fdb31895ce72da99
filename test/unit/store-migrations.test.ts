import { describe, expect, it } from 'vitest'
import { MIGRATIONS, migrate } from '../../electron/core/inventory/migrations'
import { decodeDb } from '../../electron/core/inventory/codec'
import { SCHEMA_VERSION, dbSchema } from '../../electron/core/inventory/schema'

const bytes = (o: unknown) => new TextEncoder().encode(typeof o === 'string' ? o : JSON.stringify(o))

describe('migrate', () => {
  it('has one step per version up to SCHEMA_VERSION', () => {
    expect(MIGRATIONS).toHaveLength(SCHEMA_VERSION)
  })

  it('turns an unversioned (v0) object into a valid v1 store with the same fields', () => {
    const v0 = {
      settings: { httpPort: 8080 },
      racks: [{ name: 'r1' }],
      nodes: [{ name: 'a1', macs: ['52:54:00:00:00:01'] }],
    }
    const r = migrate(v0)
    expect(r).toEqual({ ok: true, value: { from: 0, value: { ...v0, version: 1 } } })
    const parsed = dbSchema.parse(r.ok && r.value.value)
    expect(parsed.settings.httpPort).toBe(8080)
    expect(parsed.nodes[0]!.macs).toEqual(['52:54:00:00:00:01'])
  })

  it('leaves a current file alone', () => {
    expect(migrate({ version: 1, nodes: [] })).toEqual({
      ok: true,
      value: { from: 1, value: { version: 1, nodes: [] } },
    })
  })

  it('runs steps in order from the stored version', () => {
    const steps = [
      (o: Record<string, unknown>) => ({ ...o, version: 1, a: 1 }),
      (o: Record<string, unknown>) => ({ ...o, version: 2, b: o.a }),
    ]
    expect(migrate({}, 2, steps)).toEqual({ ok: true, value: { from: 0, value: { version: 2, a: 1, b: 1 } } })
    expect(migrate({ version: 1 }, 2, steps)).toEqual({
      ok: true,
      value: { from: 1, value: { version: 2, b: undefined } },
    })
  })

  it('refuses without throwing: arrays, scalars, bad and newer versions, missing steps', () => {
    expect(migrate([])).toMatchObject({ ok: false, error: { kind: 'not-an-object' } })
    expect(migrate(null)).toMatchObject({ ok: false, error: { kind: 'not-an-object' } })
    expect(migrate({ version: '1' })).toMatchObject({ ok: false, error: { kind: 'bad-version' } })
    expect(migrate({ version: 1.5 })).toMatchObject({ ok: false, error: { kind: 'bad-version' } })
    expect(migrate({ version: 7 })).toMatchObject({ ok: false, error: { kind: 'newer', version: 7 } })
    expect(migrate({}, 3, [])).toMatchObject({
      ok: false,
      error: { kind: 'bad-version', message: 'no migration from schema version 0 to 1' },
    })
  })
})

describe('decodeDb', () => {
  it('says which stage failed', () => {
    expect(decodeDb(new Uint8Array([0xc3, 0x28]))).toMatchObject({
      ok: false,
      error: { kind: 'corrupt', details: ['not UTF-8 text'] },
    })
    expect(decodeDb(bytes('  \n'))).toMatchObject({
      ok: false,
      error: { kind: 'corrupt', details: ['the file is empty'] },
    })
    expect(decodeDb(bytes('{"version":1,'))).toMatchObject({ ok: false, error: { kind: 'corrupt' } })
    expect(decodeDb(bytes({ version: 1, nodes: [{ name: 'a', macs: ['nope'] }] }))).toMatchObject({
      ok: false,
      error: { kind: 'invalid', details: [expect.stringContaining('nodes[0].macs[0]')] },
    })
    expect(decodeDb(bytes({ version: 2 }))).toMatchObject({ ok: false, error: { kind: 'newer' } })
    expect(decodeDb(bytes({}))).toMatchObject({ ok: true, value: { fromVersion: 0 } })
  })
})
