/**
 * Is another DHCP server already on this wire? Before serving, Rackboot broadcasts one DISCOVER (random xid)
 * from port 68 on the chosen interface and listens for OFFERs for a few seconds. Any answer is another
 * server: in full server mode the engineer should switch to proxyDHCP (or unplug the rogue), because two
 * servers on one wire hand nodes addresses and boot files at random.
 */
import { randomBytes } from 'node:crypto'
import type { Socket } from 'node:dgram'
import { BootOp, decodePacket, encodePacket } from '../boot/dhcp/packet'
import { clientRequest } from '../boot/dhcp/client-request'
import { DhcpMessageType } from '../boot/dhcp/options'
import { RackbootError, errorMessage } from '../util/result'
import type { OtherDhcpServer } from '../boot/events'

export type { OtherDhcpServer }

export interface ProbeOptions {
  /** The NIC's MAC: the DISCOVER looks like any client's on that wire. */
  mac: string
  /** A UDP socket on port 68 bound to the interface (net/bind.ts); the probe closes it. */
  socket: Socket
  timeoutMs?: number
  xid?: number
}

export function probeDhcpServers(o: ProbeOptions): Promise<OtherDhcpServer[]> {
  const xid = o.xid ?? randomBytes(4).readUInt32BE(0)
  const chaddr = Uint8Array.from(o.mac.split(':').map((h) => parseInt(h, 16)))
  const found = new Map<string, OtherDhcpServer>()
  return new Promise((resolve, reject) => {
    const finish = () => {
      clearTimeout(timer)
      o.socket.close(() => resolve([...found.values()]))
    }
    const timer = setTimeout(finish, o.timeoutMs ?? 3000)
    o.socket.on('message', (buf, rinfo) => {
      const d = decodePacket(buf)
      if (!d.ok || d.value.op !== BootOp.Reply || d.value.xid !== xid) return
      if (d.value.options.messageType !== DhcpMessageType.Offer) return
      const serverId = d.value.options.serverId ?? rinfo.address
      found.set(serverId, {
        serverId,
        from: rinfo.address,
        offered: d.value.yiaddr,
        bootFile: d.value.options.bootFileName ?? (d.value.file || null),
      })
    })
    const discover = encodePacket(
      clientRequest({
        xid,
        chaddr,
        options: { messageType: DhcpMessageType.Discover, parameterRequestList: [1, 3, 6, 54, 66, 67] },
      }),
    )
    o.socket.setBroadcast(true)
    o.socket.send(discover, 67, '255.255.255.255', (e) => {
      if (!e) return
      clearTimeout(timer)
      o.socket.close(() =>
        reject(new Error(`rogue-DHCP probe: sending the DISCOVER failed: ${errorMessage(e)}`)),
      )
    })
  })
}

/** Probes on a named interface: its MAC from the interface list, port 68 bound to it. Needs root. */
export async function probeInterface(
  iface: string,
  deps: {
    listInterfaces(): Promise<Array<{ name: string; mac: string | null; ipv4: { address: string } | null }>>
    bindUdp(iface: string, address: string, port: number): Promise<Socket>
    timeoutMs?: number
  },
): Promise<OtherDhcpServer[]> {
  const nic = (await deps.listInterfaces()).find((n) => n.name === iface)
  if (!nic) throw new RackbootError(`interface '${iface}' does not exist`, 'not-found')
  const mac = nic.mac ?? '02:00:00:00:00:01'
  const socket = await deps.bindUdp(iface, nic.ipv4?.address ?? '0.0.0.0', 68)
  return probeDhcpServers({ mac, socket, timeoutMs: deps.timeoutMs })
}

export function describeOtherServers(iface: string, found: OtherDhcpServer[]): string {
  const list = found
    .map((s) => `${s.serverId} (offered ${s.offered}${s.bootFile ? `, boot file ${s.bootFile}` : ''})`)
    .join('; ')
  return `another DHCP server answers on ${iface}: ${list}`
}
