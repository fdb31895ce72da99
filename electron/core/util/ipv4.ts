import { type Result, ok, err } from './result'

/** IPv4 address as an unsigned 32-bit integer; strict dotted-quad, no leading zeros. */
export function ipToInt(ip: string): number | null {
  const parts = ip.split('.')
  if (parts.length !== 4) return null
  let n = 0
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null
    const v = Number(p)
    if (v > 255) return null
    n = n * 256 + v
  }
  return n >>> 0
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
}

export interface Cidr {
  network: number
  prefix: number
  mask: number
  text: string
}

export function parseCidr(text: string): Result<Cidr> {
  const m = /^([0-9.]+)\/([0-9]{1,2})$/.exec(text.trim())
  if (!m) return err(`'${text}' is not a CIDR subnet (expected e.g. 198.18.0.0/24)`)
  const addr = ipToInt(m[1]!)
  const prefix = Number(m[2])
  if (addr === null) return err(`'${text}': '${m[1]}' is not an IPv4 address`)
  if (prefix < 8 || prefix > 30) return err(`'${text}': prefix /${prefix} is outside /8../30`)
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0
  if ((addr & mask) >>> 0 !== addr)
    return err(`'${text}': host bits are set; the network is ${intToIp((addr & mask) >>> 0)}/${prefix}`)
  return ok({ network: addr, prefix, mask, text: `${intToIp(addr)}/${prefix}` })
}

export function cidrContains(cidr: Cidr, ip: number): boolean {
  return (ip & cidr.mask) >>> 0 === cidr.network
}

export function prefixToNetmask(prefix: number): string {
  return intToIp(prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0)
}
