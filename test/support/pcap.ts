/**
 * A tiny pcap (libpcap classic format) reader for the DHCP golden fixtures: Ethernet or Linux cooked
 * frames, IPv4, UDP. Enough for tcpdump's `-w` output; anything else in the file is skipped.
 */
import { readFileSync } from 'node:fs'

export interface UdpDatagram {
  /** seconds since the first record, for ordering only */
  time: number
  srcIp: string
  dstIp: string
  srcPort: number
  dstPort: number
  payload: Uint8Array
}

export function readPcapUdp(path: string): UdpDatagram[] {
  const b = new Uint8Array(readFileSync(path))
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
  const magic = dv.getUint32(0, false)
  const little = magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1
  if (!little && magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d)
    throw new Error(`${path}: not a classic pcap file`)
  const linkType = dv.getUint32(20, little)
  const out: UdpDatagram[] = []
  let at = 24
  let t0: number | undefined
  while (at + 16 <= b.length) {
    const sec = dv.getUint32(at, little)
    const frac = dv.getUint32(at + 4, little)
    const caplen = dv.getUint32(at + 8, little)
    const frame = b.subarray(at + 16, at + 16 + caplen)
    at += 16 + caplen
    const time = sec + frac / 1e6
    t0 ??= time
    const l3 = linkType === 1 ? ethernetPayload(frame) : linkType === 113 ? frame.subarray(16) : undefined
    if (!l3 || l3.length < 20 || l3[0]! >> 4 !== 4 || l3[9] !== 17) continue
    const ihl = (l3[0]! & 0x0f) * 4
    const udp = l3.subarray(ihl)
    const udpLen = (udp[4]! << 8) | udp[5]!
    out.push({
      time: time - t0,
      srcIp: Array.from(l3.subarray(12, 16)).join('.'),
      dstIp: Array.from(l3.subarray(16, 20)).join('.'),
      srcPort: (udp[0]! << 8) | udp[1]!,
      dstPort: (udp[2]! << 8) | udp[3]!,
      payload: new Uint8Array(udp.subarray(8, udpLen)),
    })
  }
  return out
}

function ethernetPayload(frame: Uint8Array): Uint8Array | undefined {
  let type = (frame[12]! << 8) | frame[13]!
  let at = 14
  if (type === 0x8100) {
    type = (frame[16]! << 8) | frame[17]!
    at = 18
  }
  return type === 0x0800 ? frame.subarray(at) : undefined
}
