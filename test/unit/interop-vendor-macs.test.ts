import { describe, it, expect } from 'vitest'
import {
  parseVendorMacList,
  matchVendorEntries,
  type PlannedSlot,
  type VendorEntry,
} from '../../electron/core/interop/vendor-macs'

const macsOf = (text: string) => parseVendorMacList(text).entries.map((e) => e.mac)

describe('parseVendorMacList: bare lists', () => {
  it.each([
    ['colon lower', 'aa:bb:cc:dd:ee:f0', 'aa:bb:cc:dd:ee:f0'],
    ['colon upper', 'AA:BB:CC:DD:EE:F0', 'aa:bb:cc:dd:ee:f0'],
    ['dashes', 'AA-BB-CC-DD-EE-F0', 'aa:bb:cc:dd:ee:f0'],
    ['cisco dots', 'aabb.ccdd.eef0', 'aa:bb:cc:dd:ee:f0'],
    ['bare hex', 'AABBCCDDEEF0', 'aa:bb:cc:dd:ee:f0'],
    ['surrounding blanks', '  \taa:bb:cc:dd:ee:f0  ', 'aa:bb:cc:dd:ee:f0'],
    ['trailing comment', 'aa:bb:cc:dd:ee:f0   # node 7, left PSU dead', 'aa:bb:cc:dd:ee:f0'],
    ['other words around', '7  aa:bb:cc:dd:ee:f0  SN-1234', 'aa:bb:cc:dd:ee:f0'],
  ])('%s', (_name, line, mac) => {
    const r = parseVendorMacList(line)
    expect(r.errors).toEqual([])
    expect(r.entries).toEqual([{ line: 1, mac }])
    expect(r.columns).toBeNull()
  })

  it('skips blank lines and # comments, keeps line numbers, handles CRLF and a BOM', () => {
    const r = parseVendorMacList(
      '\uFEFF# rack A delivery\r\n\r\n52:54:00:00:00:01\r\n   \r\n# next\r\n52-54-00-00-00-02\r\n',
    )
    expect(r.entries).toEqual([
      { line: 3, mac: '52:54:00:00:00:01' },
      { line: 6, mac: '52:54:00:00:00:02' },
    ])
    expect(r.errors).toEqual([])
  })

  it.each([
    ['too short', '52:54:00:00:01', /not a MAC address/],
    ['too long', '52:54:00:00:00:01:02', /no MAC address|not a MAC/],
    ['not hex', 'zz:54:00:00:00:01', /not a MAC address/],
    ['mixed separators', '52:54-00:00:00:01', /mixes separators/],
    ['dots in the wrong place', '52.54.00.00.00.01', /mixes separators/],
    ['multicast', '01:00:5e:00:00:01', /multicast or broadcast/],
    ['broadcast', 'ff:ff:ff:ff:ff:ff', /multicast or broadcast/],
    ['all zero', '00:00:00:00:00:00', /all-zero/],
    ['prose', 'please find the MACs attached', /no MAC address on this line/],
    ['two MACs', '52:54:00:00:00:01 52:54:00:00:00:02', /2 MAC addresses on one line/],
    ['an IPv4', '198.18.0.10', /not a MAC address/],
  ])('garbage: %s', (_name, line, message) => {
    const r = parseVendorMacList(`52:54:00:00:00:09\n${line}\n`)
    expect(r.entries).toEqual([{ line: 1, mac: '52:54:00:00:00:09' }])
    expect(r.errors).toEqual([{ line: 2, text: line, message: expect.stringMatching(message) }])
  })

  it('reports duplicates with every line and keeps the first', () => {
    const r = parseVendorMacList('52:54:00:00:00:01\n52:54:00:00:00:02\n52-54-00-00-00-01\n525400000001\n')
    expect(r.entries.map((e) => [e.line, e.mac])).toEqual([
      [1, '52:54:00:00:00:01'],
      [2, '52:54:00:00:00:02'],
    ])
    expect(r.duplicates).toEqual([{ mac: '52:54:00:00:00:01', lines: [1, 3, 4] }])
  })

  it('an empty file or only comments gives nothing and no error', () => {
    expect(parseVendorMacList('')).toEqual({ entries: [], errors: [], duplicates: [], columns: null })
    expect(parseVendorMacList('# nothing yet\n\n')).toEqual({
      entries: [],
      errors: [],
      duplicates: [],
      columns: null,
    })
  })
})

describe('parseVendorMacList: spreadsheets with a header', () => {
  it('finds serial, MAC and slot columns in any order and case', () => {
    const r = parseVendorMacList(
      'Serial Number,MAC Address,Slot\nSN001,52:54:00:00:00:01,1\nSN002,52-54-00-00-00-02,U2\n',
    )
    expect(r.columns).toEqual({ mac: 'MAC Address', serial: 'Serial Number', slot: 'Slot' })
    expect(r.entries).toEqual([
      { line: 2, mac: '52:54:00:00:00:01', serial: 'SN001', slot: 1 },
      { line: 3, mac: '52:54:00:00:00:02', serial: 'SN002', slot: 2 },
    ])
  })

  it.each([
    ['lower case, slot first', 'slot,mac,serial', '3,aabbccddee01,X1'],
    ['semicolons (European spreadsheets)', 'SLOT;HW Address;S/N', '3;aa:bb:cc:dd:ee:01;X1'],
    ['tabs', 'Position\tEthernet\tService Tag', '3\taabb.ccdd.ee01\tX1'],
    ['quoted cells', '"Slot","MAC Address","Serial"', '"3","AA:BB:CC:DD:EE:01","X1"'],
  ])('%s', (_name, header, row) => {
    const r = parseVendorMacList(`${header}\n${row}\n`)
    expect(r.errors).toEqual([])
    expect(r.entries).toEqual([{ line: 2, mac: 'aa:bb:cc:dd:ee:01', serial: 'X1', slot: 3 }])
  })

  it('prefers the host NIC over the BMC column, and reads a rack column', () => {
    const r = parseVendorMacList('Rack,BMC MAC,LAN1 MAC,Slot\nr1,52:54:00:ff:00:01,52:54:00:00:00:01,4\n')
    expect(r.columns).toEqual({ mac: 'LAN1 MAC', slot: 'Slot', rack: 'Rack' })
    expect(r.entries).toEqual([{ line: 2, mac: '52:54:00:00:00:01', slot: 4, rack: 'r1' }])
  })

  it('lists bad rows with their text, keeps the good ones', () => {
    const text = [
      'Serial,MAC,Slot',
      '# shipped 2026-11-20',
      'S1,52:54:00:00:00:01,1',
      'S2,,2',
      'S3,52:54:00:00:00:0x,3',
      'S4,52:54:00:00:00:04,61',
      'S5,52:54:00:00:00:05,top',
      'S6,"52:54:00:00:00:06,7',
      '',
      'S7,52:54:00:00:00:07',
    ].join('\n')
    const r = parseVendorMacList(text)
    expect(r.entries).toEqual([
      { line: 3, mac: '52:54:00:00:00:01', serial: 'S1', slot: 1 },
      { line: 10, mac: '52:54:00:00:00:07', serial: 'S7' },
    ])
    expect(r.errors.map((e) => [e.line, e.message])).toEqual([
      [4, "no value in the MAC column 'MAC'"],
      [5, expect.stringContaining('is not a MAC address')],
      [6, "slot '61' is not a slot number 1..60"],
      [7, "slot 'top' is not a slot number 1..60"],
      [8, 'unbalanced quotes in this row'],
    ])
    expect(r.errors[0]!.text).toBe('S2,,2')
  })

  it('a first line that is data, not a header, is read as data', () => {
    const r = parseVendorMacList('52:54:00:00:00:01,SN1\n52:54:00:00:00:02,SN2\n')
    expect(r.columns).toBeNull()
    expect(r.entries.map((e) => e.mac)).toEqual(['52:54:00:00:00:01', '52:54:00:00:00:02'])
  })

  it('duplicates across spreadsheet rows are reported', () => {
    const r = parseVendorMacList('MAC,Slot\n52:54:00:00:00:01,1\n52:54:00:00:00:01,2\n')
    expect(r.duplicates).toEqual([{ mac: '52:54:00:00:00:01', lines: [2, 3] }])
    expect(macsOf('MAC,Slot\n52:54:00:00:00:01,1\n52:54:00:00:00:01,2\n')).toEqual(['52:54:00:00:00:01'])
  })
})

describe('matchVendorEntries', () => {
  const slots = (rack: string, ...n: number[]): PlannedSlot[] => n.map((slot) => ({ rack, slot }))
  const entry = (line: number, extra: Partial<VendorEntry> = {}): VendorEntry => ({
    line,
    mac: `52:54:00:00:00:${String(line).padStart(2, '0')}`,
    ...extra,
  })

  it('a bare list fills the empty slots in order; equal counts give no message', () => {
    const m = matchVendorEntries([entry(1), entry(2)], slots('r1', 3, 4))
    expect(m.assignments.map((a) => [a.slot.slot, a.entry.line])).toEqual([
      [3, 1],
      [4, 2],
    ])
    expect(m.countMessage).toBeNull()
    expect(m.problems).toEqual([])
  })

  it('says how many slots stay empty', () => {
    const m = matchVendorEntries([entry(1)], slots('r1', 1, 2, 3))
    expect(m.countMessage).toBe(
      'the list has 1 MAC address but 3 empty slots are planned: 2 slots will stay empty',
    )
    expect(m.emptySlots).toEqual(slots('r1', 2, 3))
  })

  it('says how many MACs have no slot', () => {
    const m = matchVendorEntries([entry(1), entry(2), entry(3)], slots('r1', 1))
    expect(m.countMessage).toBe(
      'the list has 3 MAC addresses but 1 empty slot is planned: 2 MAC addresses have no slot',
    )
    expect(m.unassigned.map((e) => e.line)).toEqual([2, 3])
  })

  it('entries naming a slot go there, in any order; the rest fill what is left', () => {
    const m = matchVendorEntries(
      [entry(1, { slot: 4 }), entry(2), entry(3, { slot: 2 })],
      slots('r1', 2, 3, 4),
    )
    expect(m.assignments.map((a) => [a.slot.slot, a.entry.line])).toEqual([
      [4, 1],
      [2, 3],
      [3, 2],
    ])
  })

  it('a slot that is not planned empty, or is in two racks without a rack column, is a problem', () => {
    const plan = [...slots('r1', 1, 2), ...slots('r2', 1)]
    const m = matchVendorEntries(
      [entry(1, { slot: 9 }), entry(2, { slot: 1 }), entry(3, { slot: 1, rack: 'r2' })],
      plan,
    )
    expect(m.problems).toEqual([
      { line: 1, message: '52:54:00:00:00:01: slot 9 is not an empty planned slot' },
      { line: 2, message: '52:54:00:00:00:02: slot 1 is planned in 2 racks; add a rack column to the list' },
    ])
    expect(m.assignments.map((a) => [a.slot.rack, a.slot.slot, a.entry.line])).toEqual([['r2', 1, 3]])
  })
})
