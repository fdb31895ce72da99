/**
 * The DHCP side of every simulated node: ONE socket on 0.0.0.0:68 bound to the client interface, shared by
 * all nodes, replies dispatched by xid (and checked against chaddr). Each node runs DISCOVER → OFFER →
 * REQUEST → ACK with its firmware stage's options and retry timing. Every request sets the broadcast flag:
 * a userspace client without a raw socket cannot receive a reply unicast to an address it does not hold yet
 * (EDK2 and undionly.kpxe set the flag too).
 */
import type { Socket } from 'node:dgram'
import {
  BootOp,
  DHCP_SERVER_PORT,
  clientMac,
  decodePacket,
  encodePacket,
  type DhcpPacket,
} from '../boot/dhcp/packet'
import { DhcpMessageType } from '../boot/dhcp/options'
import { clientRequest } from '../boot/dhcp/client-request'
import { FIRMWARE, stageOptions, type FirmwareStage } from './firmware'

export interface DhcpLease {
  ip: string
  serverId: string
  /** The boot file (option 67, else the file field): a TFTP name or an http:// URL. */
  bootFile: string
  /** next-server (siaddr), else option 66, else the server id. */
  nextServer: string
  /** DISCOVERs sent (1 = answered at the first try). */
  tries: number
}

export interface DhcpWire {
  /** One exchange for one node; resolves null when every try of the stage went unanswered. */
  acquire(
    mac: Uint8Array,
    uuid: Uint8Array,
    stage: FirmwareStage,
    signal: AbortSignal,
  ): Promise<DhcpLease | null>
  stats(): { sent: number; received: number; unmatched: number; malformed: number }
  /** Sends `count` DISCOVERs, each from a new random MAC; resolves with how many went out. */
  flood(o: { count: number; pxe: boolean; perSecond: number }, signal: AbortSignal): Promise<number>
}

export function dhcpWire(socket: Socket, random: () => number, scale = 1): DhcpWire {
  const waiting = new Map<number, { mac: string; deliver(p: DhcpPacket): void }>()
  const counts = { sent: 0, received: 0, unmatched: 0, malformed: 0 }
  socket.on('message', (buf) => {
    counts.received++
    const r = decodePacket(buf)
    if (!r.ok) return void counts.malformed++
    if (r.value.op !== BootOp.Reply) return
    const w = waiting.get(r.value.xid)
    if (!w || clientMac(r.value) !== w.mac) return void counts.unmatched++
    w.deliver(r.value)
  })
  const send = (bytes: Uint8Array) =>
    new Promise<void>((resolve) => {
      counts.sent++
      // A send error (ENOBUFS under a storm) is a lost packet: the retry timer covers it, as on a wire.
      socket.send(bytes, DHCP_SERVER_PORT, '255.255.255.255', () => resolve())
    })

  /** Sends, then waits up to `ms` for a reply of `want` type on this xid; null on timeout or abort. */
  const ask = (
    xid: number,
    mac: string,
    bytes: Uint8Array,
    want: (p: DhcpPacket) => boolean,
    ms: number,
    signal: AbortSignal,
  ) =>
    new Promise<DhcpPacket | null>((resolve) => {
      const done = (p: DhcpPacket | null) => {
        clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        if (waiting.get(xid)?.mac === mac) waiting.delete(xid)
        resolve(p)
      }
      const onAbort = () => done(null)
      const timer = setTimeout(() => done(null), ms)
      signal.addEventListener('abort', onAbort)
      waiting.set(xid, { mac, deliver: (p) => want(p) && done(p) })
      void send(bytes)
    })

  return {
    stats: () => ({ ...counts }),
    async flood(o, signal) {
      const batch = 50
      let sent = 0
      while (sent < o.count && !signal.aborted) {
        for (let k = 0; k < batch && sent < o.count; k++, sent++) {
          // Locally administered unicast MACs (02:…), distinct from the storm's 02:52:53:… nodes.
          const chaddr = Uint8Array.of(0x06, ...Array.from({ length: 5 }, () => Math.floor(random() * 256)))
          const options: DhcpPacket['options'] = o.pxe
            ? stageOptions(FIRMWARE.bios.rom, 'discover', new Uint8Array(16))
            : {
                messageType: DhcpMessageType.Discover,
                vendorClassId: 'udhcp 1.35.0',
                parameterRequestList: [1, 3, 6, 12, 15, 28, 42],
              }
          void send(encodePacket(clientRequest({ xid: (random() * 0x1_0000_0000) >>> 0, chaddr, options })))
        }
        await new Promise((r) => setTimeout(r, (1000 * batch) / o.perSecond))
      }
      return sent
    },
    async acquire(chaddr, uuid, stage, signal) {
      const mac = clientMac({ htype: 1, hlen: 6, chaddr })!
      const xid = (random() * 0x1_0000_0000) >>> 0
      const started = Date.now()
      const packet = (options: DhcpPacket['options']): Uint8Array =>
        encodePacket(
          clientRequest({
            xid,
            chaddr,
            options,
            secs: Math.min(0xffff, Math.floor((Date.now() - started) / 1000)),
          }),
          { maxSize: stage.maxMessageSize },
        )
      const isType = (t: number) => (p: DhcpPacket) => p.options.messageType === t
      let tries = 0
      for (const timeoutS of stage.timeoutsS) {
        if (signal.aborted) return null
        tries++
        const ms = timeoutS * 1000 * scale
        const offer = await ask(
          xid,
          mac,
          packet(stageOptions(stage, 'discover', uuid)),
          isType(DhcpMessageType.Offer),
          ms,
          signal,
        )
        if (!offer || !offer.options.serverId) continue
        const req = { ip: offer.yiaddr, serverId: offer.options.serverId }
        // A ROM sends REQUEST with the same back-off; one lost REQUEST must not cost a whole new DISCOVER.
        for (const reqTimeoutS of stage.timeoutsS.slice(0, 3)) {
          const ack = await ask(
            xid,
            mac,
            packet(stageOptions(stage, 'request', uuid, req)),
            (p) => isType(DhcpMessageType.Ack)(p) || isType(DhcpMessageType.Nak)(p),
            reqTimeoutS * 1000 * scale,
            signal,
          )
          if (!ack) continue
          if (ack.options.messageType === DhcpMessageType.Nak) break
          const bootFile = ack.options.bootFileName ?? ack.file
          const next = ack.siaddr !== '0.0.0.0' ? ack.siaddr : (ack.options.tftpServerName ?? req.serverId)
          return { ip: ack.yiaddr, serverId: req.serverId, bootFile, nextServer: next, tries }
        }
      }
      return null
    },
  }
}
