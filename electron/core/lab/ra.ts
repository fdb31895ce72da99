/**
 * A minimal IPv6 router advertisement sender for the lab link. iPXE waits about 16 s for a router
 * advertisement before it gives up on IPv6 and goes on (PXE-NOTES, measured); one RA on the link ends that
 * wait. radvd is not a dependency and Node has no raw ICMPv6 socket, so the socket comes from libc through
 * koffi (net/libc.ts, shared with net/bind.ts). Lab only: it advertises a documentation prefix (RFC 3849) with
 * router lifetime 0, so no node ever takes the lab server as its default router.
 */
import { RackbootError } from '../util/result'
import { libc, SOCK_CLOEXEC, SOL_SOCKET, SO_BINDTODEVICE } from '../net/libc'

/** RFC 4861 §4.2 Router Advertisement, with a §4.6.2 Prefix Information option. */
export function buildRouterAdvertisement(o: {
  prefix: Buffer
  prefixLength: number
  lifetimeS: number
}): Buffer {
  if (o.prefix.length !== 16) throw new RangeError('prefix must be 16 bytes')
  const ra = Buffer.alloc(16 + 32)
  ra[0] = 134 // ICMPv6 type: Router Advertisement
  ra[1] = 0 // code
  // bytes 2-3: checksum, filled by the kernel for IPPROTO_ICMPV6 raw sockets (RFC 3542 §3.1)
  ra[4] = 64 // Cur Hop Limit
  ra[5] = 0 // M=0, O=0: no DHCPv6, so iPXE stops after this RA
  ra.writeUInt16BE(0, 6) // Router Lifetime 0: not a default router
  // reachable time (8-11) and retrans timer (12-15): 0 = unspecified
  const opt = 16
  ra[opt] = 3 // Prefix Information
  ra[opt + 1] = 4 // length in units of 8 octets
  ra[opt + 2] = o.prefixLength
  ra[opt + 3] = 0xc0 // L (on-link) and A (autonomous address configuration)
  ra.writeUInt32BE(o.lifetimeS, opt + 4) // valid lifetime
  ra.writeUInt32BE(o.lifetimeS, opt + 8) // preferred lifetime
  o.prefix.copy(ra, opt + 16)
  return ra
}

/** 2001:db8:0:<id>::/64, the lab's documentation prefix (RFC 3849). */
export function labIpv6Prefix(labId: number): Buffer {
  const p = Buffer.alloc(16)
  p.writeUInt16BE(0x2001, 0)
  p.writeUInt16BE(0x0db8, 2)
  p.writeUInt16BE(labId, 6)
  return p
}

const AF_INET6 = 10
const SOCK_RAW = 3
const IPPROTO_ICMPV6 = 58
const IPPROTO_IPV6 = 41
const IPV6_MULTICAST_IF = 17
const IPV6_MULTICAST_HOPS = 18

export interface RaSender {
  /** How many RAs went out (a send fails while the link-local address is still tentative: retried). */
  sent(): number
  stop(): void
}

/**
 * Sends `ra` to ff02::1 (all nodes) on `iface` every `intervalMs`, for at most `maxSeconds` (bounded).
 * Hop limit 255: receivers drop RAs with any other (RFC 4861 §6.1.2).
 */
export function startRaSender(o: {
  iface: string
  ra: Buffer
  intervalMs: number
  maxSeconds: number
}): RaSender {
  if (process.platform !== 'linux') throw new RackbootError('the RA sender needs Linux', 'lab-os')
  const c = libc()
  const ifindex = c.if_nametoindex(o.iface)
  if (ifindex === 0) throw new RackbootError(`RA sender: no interface '${o.iface}' here`, 'lab-ra')
  const fd = c.socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6)
  if (fd < 0)
    throw new RackbootError(
      `RA sender: raw ICMPv6 socket: ${c.strerror(c.errno())}`,
      'lab-ra',
      'needs root or CAP_NET_RAW',
    )
  const int = (v: number) => {
    const b = Buffer.alloc(4)
    b.writeInt32LE(v)
    return b
  }
  const name = Buffer.from(`${o.iface}\0`)
  if (
    c.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, name.length) !== 0 ||
    c.setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, int(ifindex), 4) !== 0 ||
    c.setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, int(255), 4) !== 0
  ) {
    const e = c.strerror(c.errno())
    c.close(fd)
    throw new RackbootError(`RA sender: setsockopt on ${o.iface}: ${e}`, 'lab-ra')
  }
  // struct sockaddr_in6: family, port, flowinfo, ff02::1, scope id
  const to = Buffer.alloc(28)
  to.writeUInt16LE(AF_INET6, 0)
  to.writeUInt16BE(0xff02, 8)
  to[23] = 1
  to.writeUInt32LE(ifindex, 24)
  let sent = 0
  let stopped = false
  const send = () => {
    if (c.sendto(fd, o.ra, o.ra.length, 0, to, to.length) === o.ra.length) sent++
  }
  send()
  const timer = setInterval(send, o.intervalMs)
  const deadline = setTimeout(() => stop(), o.maxSeconds * 1000)
  const stop = () => {
    if (stopped) return
    stopped = true
    clearInterval(timer)
    clearTimeout(deadline)
    c.close(fd)
  }
  return { sent: () => sent, stop }
}
