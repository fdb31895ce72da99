/**
 * RFC 4180 CSV, both ways. Pure. Records end in CRLF (RFC 4180 §2.1); a field is quoted when it holds the
 * delimiter, a quote, CR or LF (§2.6), or leading/trailing spaces (spreadsheets would trim them); quotes double (§2.7).
 */
import { type Result, ok, err } from '../util/result'

export function csvField(value: string, delimiter = ','): string {
  const needs = value.includes(delimiter) || /["\r\n]/.test(value) || /^\s|\s$/.test(value)
  return needs ? `"${value.replace(/"/g, '""')}"` : value
}

export function csvRecord(fields: readonly string[], delimiter = ','): string {
  return fields.map((f) => csvField(f, delimiter)).join(delimiter) + '\r\n'
}

export interface CsvRow {
  /** 1-based line where the record starts. */
  line: number
  fields: string[]
}

/**
 * Parses CSV with `delimiter`; accepts CRLF or LF line ends and quoted fields spanning lines.
 * Blank lines yield no record. Returns the line of an unterminated quote or a stray quote.
 */
export function parseCsv(text: string, delimiter = ','): Result<CsvRow[], { line: number; message: string }> {
  const rows: CsvRow[] = []
  let line = 1
  let i = 0
  const s = text.startsWith('\uFEFF') ? text.slice(1) : text
  while (i < s.length) {
    const start = line
    const fields: string[] = []
    let field = ''
    let quoted = false
    let endOfRecord = false
    while (!endOfRecord) {
      if (i >= s.length) {
        fields.push(field)
        break
      }
      const c = s[i]!
      if (quoted) {
        if (c === '"') {
          if (s[i + 1] === '"') {
            field += '"'
            i += 2
          } else {
            quoted = false
            i++
            const next = s[i]
            if (next !== undefined && next !== delimiter && next !== '\r' && next !== '\n')
              return err({
                line,
                message: `text after a closing quote; double a quote inside a quoted field ("")`,
              })
          }
        } else {
          if (c === '\n') line++
          field += c
          i++
        }
        continue
      }
      if (c === '"' && field === '') {
        quoted = true
        i++
      } else if (c === '"')
        return err({ line, message: 'a quote inside an unquoted field; quote the whole field' })
      else if (c === delimiter) {
        fields.push(field)
        field = ''
        i++
      } else if (c === '\r' || c === '\n') {
        fields.push(field)
        i += c === '\r' && s[i + 1] === '\n' ? 2 : 1
        line++
        endOfRecord = true
      } else {
        field += c
        i++
      }
    }
    if (quoted) return err({ line: start, message: 'a quoted field is never closed' })
    if (!(fields.length === 1 && fields[0] === '')) rows.push({ line: start, fields })
  }
  return ok(rows)
}
