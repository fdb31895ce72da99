/**
 * The MAC list a vendor ships with a rack (a bare list, or a spreadsheet export with a header), read for the
 * wizard's "assign MACs to planned slots" step. Pure; never throws: bad lines become errors with their text.
 */
import { parseMac } from '../util/mac'
import { ipToInt } from '../util/ipv4'
import { parseCsv } from './csv'

export interface VendorEntry {
  /** 1-based line in the file. */
  line: number
  mac: string
  serial?: string
  slot?: number
  rack?: string
  /** The BMC's IPv4 address, from a BMC address column (the `bmc` column of Rackboot's CSV export). */
  bmc?: string
}
export interface VendorError {
  line: number
  text: string
  message: string
}
export interface VendorDuplicate {
  mac: string
  /** Every line carrying it; `entries` keeps only the first. */
  lines: number[]
}
export interface VendorMacList {
  entries: VendorEntry[]
  errors: VendorError[]
  duplicates: VendorDuplicate[]
  /** The header's column names as found, when the file had a header. */
  columns: { mac: string; serial?: string; slot?: string; rack?: string; bmc?: string } | null
}

const MAC_COL = /\bmac\b|mac[ _-]?addr|hw[ _-]?addr|hardware[ _-]?addr|ethernet/i
/** A MAC column for the BMC is the management port, not the one that PXE-boots. */
const BMC_COL = /bmc|ipmi|idrac|ilo|xcc|imm|mgmt|management/i
const SLOT_COL = /slot|position|^pos\.?$|^u$|rack ?unit|^ru$|^bay$/i
const SERIAL_COL = /serial|^s\/?n$|service ?tag|^sn$/i
const RACK_COL = /^rack( ?(name|id))?$/i
/** The BMC's address: `bmc` alone (our CSV export) or with ip/address; a BMC MAC column is not this one. */
const BMC_IP_COL = /^(bmc|ipmi|idrac|ilo|xcc|imm|oob)([ _-]?(ip|ipv4|ip ?addr(ess)?|addr(ess)?))?$/i

interface Header {
  delimiter: string
  mac: number
  serial: number
  slot: number
  rack: number
  bmc: number
}

export function parseVendorMacList(text: string): VendorMacList {
  const lines = (text.startsWith('\uFEFF') ? text.slice(1) : text).split(/\r?\n|\r/)
  const entries: VendorEntry[] = []
  const errors: VendorError[] = []
  let header: Header | null = null
  let columns: VendorMacList['columns'] = null
  let first = true

  lines.forEach((raw, i) => {
    const line = i + 1
    const text = raw.trim()
    if (text === '' || text.startsWith('#')) return
    const error = (message: string) => errors.push({ line, text: raw, message })

    if (first) {
      first = false
      const delimiter = pickDelimiter(text)
      const cells = splitCells(text, delimiter)
      if (cells && cells.some((c) => MAC_COL.test(c)) && !cells.some((c) => parseMac(c).ok)) {
        const macCols = cells.map((c, k) => [c, k] as const).filter(([c]) => MAC_COL.test(c))
        const mac = (macCols.find(([c]) => !BMC_COL.test(c)) ?? macCols[0]!)[1]
        const find = (re: RegExp) => cells.findIndex((c, k) => k !== mac && re.test(c))
        const slot = find(SLOT_COL)
        const serial = cells.findIndex((c, k) => k !== mac && k !== slot && SERIAL_COL.test(c))
        const rack = cells.findIndex((c, k) => k !== mac && k !== slot && k !== serial && RACK_COL.test(c))
        const bmc = cells.findIndex((c, k) => k !== mac && BMC_IP_COL.test(c) && !MAC_COL.test(c))
        header = { delimiter, mac, serial, slot, rack, bmc }
        columns = { mac: cells[mac]! }
        if (serial >= 0) columns.serial = cells[serial]!
        if (slot >= 0) columns.slot = cells[slot]!
        if (rack >= 0) columns.rack = cells[rack]!
        if (bmc >= 0) columns.bmc = cells[bmc]!
        return
      }
    }

    if (header) {
      const h: Header = header
      const cells = splitCells(text, h.delimiter)
      if (!cells) return error('unbalanced quotes in this row')
      const macCell = cells[h.mac]?.trim() ?? ''
      if (macCell === '') return error(`no value in the MAC column '${columns!.mac}'`)
      const mac = nicMac(macCell)
      if (!mac.ok) return error(mac.error)
      const entry: VendorEntry = { line, mac: mac.value }
      const serial = h.serial >= 0 ? cells[h.serial]?.trim() : undefined
      if (serial) entry.serial = serial
      const rack = h.rack >= 0 ? cells[h.rack]?.trim() : undefined
      if (rack) entry.rack = rack
      const slotCell = h.slot >= 0 ? (cells[h.slot]?.trim() ?? '') : ''
      if (slotCell !== '') {
        const slot = parseSlot(slotCell)
        if (slot === null) return error(`slot '${slotCell}' is not a slot number 1..60`)
        entry.slot = slot
      }
      const bmcCell = h.bmc >= 0 ? (cells[h.bmc]?.trim() ?? '') : ''
      if (bmcCell !== '') {
        if (ipToInt(bmcCell) === null)
          return error(
            `bmc '${bmcCell}' in column '${columns!.bmc}' is not an IPv4 address (e.g. 198.18.1.11)`,
          )
        entry.bmc = bmcCell
      }
      entries.push(entry)
      return
    }

    // No header: one MAC per line, perhaps with other words and a trailing `# comment`.
    const body = text.replace(/(^|\s)#.*$/, '').trim()
    const tokens = body.split(/[\s,;]+/).filter((t) => t !== '')
    const macs = tokens.map((t) => nicMac(t)).filter((r) => r.ok)
    if (macs.length === 1) entries.push({ line, mac: macs[0]!.value })
    else if (macs.length > 1)
      error(
        `${macs.length} MAC addresses on one line; put one per line, or add a header naming the MAC column`,
      )
    else if (tokens.length === 1) error(errorOf(tokens[0]!))
    else error('no MAC address on this line (expected e.g. 52:54:00:12:34:56)')
  })

  // Duplicates: keep the first, report every line.
  const seen = new Map<string, number[]>()
  for (const e of entries) seen.set(e.mac, [...(seen.get(e.mac) ?? []), e.line])
  const duplicates = [...seen].filter(([, l]) => l.length > 1).map(([mac, l]) => ({ mac, lines: l }))
  const firstLine = new Map([...seen].map(([mac, l]) => [mac, l[0]!]))
  return {
    entries: entries.filter((e) => firstLine.get(e.mac) === e.line),
    errors,
    duplicates,
    columns,
  }
}

/** A MAC a NIC can have: parseMac's spellings, and neither multicast/broadcast nor all zeros. */
function nicMac(s: string): { ok: true; value: string } | { ok: false; error: string } {
  const m = parseMac(s)
  if (!m.ok) return m
  if (m.value === '00:00:00:00:00:00')
    return { ok: false, error: `${m.value} is the all-zero address, not a NIC's` }
  if (parseInt(m.value.slice(0, 2), 16) & 1)
    return { ok: false, error: `${m.value} is a multicast or broadcast address, not a NIC's` }
  return m
}
function errorOf(token: string): string {
  const r = nicMac(token)
  return r.ok ? '' : r.error
}

function parseSlot(s: string): number | null {
  const m = /^(?:u|slot)?\s*([0-9]{1,2})$/i.exec(s)
  if (!m) return null
  const n = Number(m[1])
  return n >= 1 && n <= 60 ? n : null
}

/** The header's delimiter: the most frequent of comma, semicolon (European spreadsheets) and tab. */
function pickDelimiter(line: string): string {
  const counts = [',', ';', '\t'].map((d) => [d, line.split(d).length - 1] as const)
  const best = counts.reduce((a, b) => (b[1] > a[1] ? b : a))
  return best[1] > 0 ? best[0] : ','
}

function splitCells(line: string, delimiter: string): string[] | null {
  const r = parseCsv(line, delimiter)
  if (!r.ok) return null
  return (r.value[0]?.fields ?? []).map((c) => c.trim())
}

export interface PlannedSlot {
  rack: string | null
  slot: number | null
  /** The planned node's name, when the plan has one. */
  node?: string
}
export interface SlotAssignment {
  slot: PlannedSlot
  entry: VendorEntry
}
export interface SlotMatch {
  assignments: SlotAssignment[]
  /** Entries that found no slot. */
  unassigned: VendorEntry[]
  /** Planned empty slots that got no MAC. */
  emptySlots: PlannedSlot[]
  /** The count mismatch said for a person, or null when counts agree. */
  countMessage: string | null
  /** Entries whose slot number matches no empty slot, or more than one (several racks, no rack column). */
  problems: { line: number; message: string }[]
}

/**
 * Pairs list entries with the planned empty slots. Entries naming a slot go to that slot (and rack, when the
 * list names one); the rest fill the remaining slots in order, so a bare list follows rack order.
 */
export function matchVendorEntries(
  entries: readonly VendorEntry[],
  slots: readonly PlannedSlot[],
): SlotMatch {
  const free = [...slots]
  const assignments: SlotAssignment[] = []
  const unassigned: VendorEntry[] = []
  const problems: SlotMatch['problems'] = []
  const take = (i: number) => free.splice(i, 1)[0]!
  for (const e of entries.filter((x) => x.slot !== undefined)) {
    const hits = free
      .map((s, i) => [s, i] as const)
      .filter(([s]) => s.slot === e.slot && (e.rack === undefined || s.rack === e.rack))
    if (hits.length === 1) assignments.push({ slot: take(hits[0]![1]), entry: e })
    else {
      unassigned.push(e)
      const where = `slot ${e.slot}${e.rack ? ` of rack '${e.rack}'` : ''}`
      problems.push({
        line: e.line,
        message:
          hits.length === 0
            ? `${e.mac}: ${where} is not an empty planned slot`
            : `${e.mac}: ${where} is planned in ${hits.length} racks; add a rack column to the list`,
      })
    }
  }
  for (const e of entries.filter((x) => x.slot === undefined)) {
    if (free.length > 0) assignments.push({ slot: take(0), entry: e })
    else unassigned.push(e)
  }
  const have = entries.length
  const want = slots.length
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`
  const countMessage =
    have === want
      ? null
      : `the list has ${plural(have, 'MAC address', 'MAC addresses')} but ${plural(want, 'empty slot is', 'empty slots are')} planned: ` +
        (have < want
          ? `${plural(want - have, 'slot', 'slots')} will stay empty`
          : `${plural(have - want, 'MAC address has', 'MAC addresses have')} no slot`)
  return { assignments, unassigned, emptySlots: free, countMessage, problems }
}
