/**
 * The wire side of a boot bench: what one tcpdump on the server's interface saw, as timed events per MAC.
 * The same capture runs for both stacks, so DHCP and HTTP request/response times are measured the same way
 * (kernel timestamps, µs) whoever serves. Reads classic pcap (tcpdump -w), Ethernet, IPv4; skips the rest.
 *
 * Capture filter to pair with it (small: no file data, only DHCP, SYNs and the first bytes of requests and
 * response headers): see CAPTURE_FILTER.
 */
import { readFileSync } from 'node:fs'
import { decodePacket, clientMac } from '../../electron/core/boot/dhcp/packet'
import { messageTypeName } from '../../electron/core/boot/dhcp/options'

export const CAPTURE_FILTER = (httpPort: number): string =>
  [
    'udp port 67 or udp port 68',
    // Payload starts with GET / POST (requests) or HTTP (response headers).
    `(tcp port ${httpPort} and (tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420 or tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x504f5354 or tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x48545450))`,
  ].join(' or ')

export type WireEvent =
  | { kind: 'dhcp'; time: number; mac: string; type: string; fromServer: boolean }
  | { kind: 'request'; time: number; client: string; method: string; path: string; conn: string }
  | { kind: 'response'; time: number; client: string; status: number; conn: string }

/** Every DHCP message and HTTP request/response header in the capture, in capture order; time = epoch s. */
export function readBootPcap(file: string): WireEvent[] {
  const b = new Uint8Array(readFileSync(file))
  if (b.length < 24) return []
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
  const magic = dv.getUint32(0, false)
  const little = magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1
  const nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1
  if (dv.getUint32(20, little) !== 1) return [] // Ethernet only
  const out: WireEvent[] = []
  for (let at = 24; at + 16 <= b.length;) {
    const time = dv.getUint32(at, little) + dv.getUint32(at + 4, little) / (nano ? 1e9 : 1e6)
    const caplen = dv.getUint32(at + 8, little)
    const frame = b.subarray(at + 16, at + 16 + caplen)
    at += 16 + caplen
    if (frame.length < 34 || frame[12] !== 0x08 || frame[13] !== 0x00) continue
    const ip = frame.subarray(14)
    if (ip[0]! >> 4 !== 4) continue
    const ihl = (ip[0]! & 0x0f) * 4
    const src = Array.from(ip.subarray(12, 16)).join('.')
    const dst = Array.from(ip.subarray(16, 20)).join('.')
    const l4 = ip.subarray(ihl)
    const sport = (l4[0]! << 8) | l4[1]!
    const dport = (l4[2]! << 8) | l4[3]!
    if (ip[9] === 17) {
      const p = decodePacket(l4.subarray(8))
      const mac = p.ok ? clientMac(p.value) : undefined
      if (!p.ok || !mac) continue
      const type = messageTypeName(p.value.options.messageType)
      out.push({ kind: 'dhcp', time, mac, type, fromServer: sport === 67 })
    } else if (ip[9] === 6) {
      const payload = l4.subarray(((l4[12]! >> 4) & 0x0f) * 4)
      const line = new TextDecoder('latin1').decode(payload.subarray(0, 200)).split('\r\n')[0] ?? ''
      const m = /^(GET|POST) (\S+)/.exec(line)
      const r = /^HTTP\/1\.[01] (\d{3})/.exec(line)
      if (m)
        out.push({ kind: 'request', time, client: src, method: m[1]!, path: m[2]!, conn: `${src}:${sport}` })
      else if (r)
        out.push({ kind: 'response', time, client: dst, status: Number(r[1]), conn: `${dst}:${dport}` })
    }
  }
  return out
}

/** Per-MAC wire milestones, epoch seconds: first DISCOVER, first OFFER, first ACK, script requested/answered. */
export interface WireMilestones {
  discover?: number
  offer?: number
  request?: number
  ack?: number
  scriptRequest?: number
  scriptResponse?: number
  kernelRequest?: number
  /** The first ACK after the script was asked for: the booted OS's own DHCP (udhcpc), on the way to its marker. */
  osAck?: number
}

/**
 * Folds the events into milestones for `mac` (aa:bb:…). HTTP is matched by the MAC in the path (`/ipxe/<mac>`
 * with colons or dashes) and responses to the request before them on the same connection.
 */
export function wireMilestones(events: WireEvent[], mac: string): WireMilestones {
  const m: WireMilestones = {}
  const lower = mac.toLowerCase()
  const dashed = lower.replace(/:/g, '-')
  const pending = new Map<string, string>()
  const first = (k: keyof WireMilestones, t: number) => (m[k] ??= t)
  for (const e of events) {
    if (e.kind === 'dhcp') {
      if (e.mac.toLowerCase() !== lower) continue
      if (!e.fromServer && e.type === 'DHCPDISCOVER') first('discover', e.time)
      if (!e.fromServer && e.type === 'DHCPREQUEST') first('request', e.time)
      if (e.fromServer && e.type === 'DHCPOFFER') first('offer', e.time)
      if (e.fromServer && e.type === 'DHCPACK') first(m.scriptRequest === undefined ? 'ack' : 'osAck', e.time)
    } else if (e.kind === 'request') {
      const p = e.path.toLowerCase()
      if (!p.includes(lower) && !p.includes(dashed) && !p.includes(encodeURIComponent(lower))) continue
      const kind = p.split('/')[1] ?? ''
      pending.set(e.conn, kind)
      if (kind === 'ipxe') first('scriptRequest', e.time)
      if (kind === 'kernel') first('kernelRequest', e.time)
    } else {
      const kind = pending.get(e.conn)
      pending.delete(e.conn)
      if (kind === 'ipxe') first('scriptResponse', e.time)
    }
  }
  return m
}
