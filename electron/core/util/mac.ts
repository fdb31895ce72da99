import { type Result, ok, err } from './result'

/**
 * Normalises the MAC spellings field engineers meet (aa:bb:cc:dd:ee:ff, AA-BB-..., aabb.ccdd.eeff, bare hex)
 * to lowercase colon form. Returns a result: a MAC comes from files, packets and URLs.
 */
export function parseMac(input: string): Result<string> {
  const trimmed = input.trim()
  const hex = trimmed.replace(/[:\-.]/g, '')
  if (!/^[0-9a-fA-F]{12}$/.test(hex))
    return err(`'${input}' is not a MAC address (expected 6 bytes, e.g. 52:54:00:12:34:56)`)
  const shapes = [/^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/i, /^([0-9a-f]{4}\.){2}[0-9a-f]{4}$/i, /^[0-9a-f]{12}$/i]
  if (!shapes.some((s) => s.test(trimmed)) || (/[:]/.test(trimmed) && /-/.test(trimmed)))
    return err(
      `'${input}' mixes separators; use aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff, aabb.ccdd.eeff or aabbccddeeff`,
    )
  const lower = hex.toLowerCase()
  return ok(lower.match(/../g)!.join(':'))
}

export const MAC_PATTERN = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/
