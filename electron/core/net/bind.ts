/**
 * A UDP socket bound to ONE interface. DHCP broadcasts only reach a socket bound to 0.0.0.0, and a plain
 * 0.0.0.0 socket answers on every NIC of the laptop (office LAN included), so on Linux we create the socket
 * through libc with SO_BINDTODEVICE, bind it, and hand the fd to node:dgram. Elsewhere: Windows delivers
 * broadcasts to a socket bound to the interface's own address, so we bind that; macOS would need IP_BOUND_IF
 * (not implemented: refused with a clear error rather than silently answering on every NIC).
 */
import { createSocket, type Socket } from 'node:dgram'
import { lookup, type LookupOptions } from 'node:dns'
import { isIPv4 } from 'node:net'
import { platform } from 'node:os'
import { RackbootError } from '../util/result'
import { AF_INET, libc, SOCK_CLOEXEC, SOL_SOCKET, SO_BINDTODEVICE, writeSockaddrIn } from './libc'

export interface BoundSocketOptions {
  interface: string
  /** The interface's IPv4 address; what Windows binds to. */
  address: string
  port: number
  broadcast?: boolean
}

const SOCK_DGRAM = 2
const SO_REUSEADDR = 2
const SO_BROADCAST = 6
const EACCES = 13
const EADDRINUSE = 98

function sockaddrIn(port: number): Buffer {
  // sin_addr 0.0.0.0: broadcasts arrive only at a wildcard-bound socket.
  return writeSockaddrIn(Buffer.alloc(16), 0, port)
}

function int(value: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeInt32LE(value)
  return b
}

/** Opens a UDP socket on 0.0.0.0:port that only sees and sends on `interface` (Linux, SO_BINDTODEVICE). */
export async function bindToInterface(options: BoundSocketOptions): Promise<Socket> {
  const where = `UDP 0.0.0.0:${options.port} on ${options.interface}`
  if (platform() === 'win32') return bindAddress(options)
  if (platform() !== 'linux')
    throw new RackbootError(
      `cannot bind ${where}: binding DHCP to one interface is implemented for Linux and Windows only`,
    )
  const c = libc()
  const fd = c.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)
  if (fd < 0) throw new RackbootError(`cannot open ${where}: ${c.strerror(c.errno())}`)
  const fail = (what: string): never => {
    const e = c.errno()
    c.close(fd)
    if (e === EACCES || (what === 'SO_BINDTODEVICE' && e === 1))
      throw new RackbootError(
        `cannot bind ${where}: permission denied — run as root or grant CAP_NET_BIND_SERVICE and CAP_NET_RAW (see README, Privileges)`,
        'permission',
      )
    if (e === EADDRINUSE)
      throw new RackbootError(
        `cannot bind ${where}: address in use — another DHCP/TFTP server (dnsmasq, kea, a second rackboot?) holds it`,
        'conflict',
      )
    throw new RackbootError(`cannot bind ${where}: ${what} failed: ${c.strerror(e)}`)
  }
  const name = Buffer.from(`${options.interface}\0`)
  if (c.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, int(1), 4) !== 0) fail('SO_REUSEADDR')
  if (c.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, name.length) !== 0) fail('SO_BINDTODEVICE')
  if (options.broadcast !== false && c.setsockopt(fd, SOL_SOCKET, SO_BROADCAST, int(1), 4) !== 0)
    fail('SO_BROADCAST')
  if (c.bind(fd, sockaddrIn(options.port), 16) !== 0) fail('bind')
  const socket = createSocket({ type: 'udp4', lookup: literalLookup })
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind({ fd }, () => {
      socket.off('error', reject)
      resolve()
    })
  })
  return socket
}

/**
 * DHCP and TFTP reply to addresses, never names: answer literals at once instead of node:dgram's default
 * dns.lookup round (a regex and a nextTick per datagram; ~10 % of CPU per packet in bench/dhcp.ts and
 * bench/tftp.ts profiles). Anything else still goes through the resolver.
 */
const literalLookup = (
  host: string,
  options: LookupOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void => {
  if (isIPv4(host)) callback(null, host, 4)
  else lookup(host, { ...options, all: false }, (err, address, family) => callback(err, address, family))
}

async function bindAddress(options: BoundSocketOptions): Promise<Socket> {
  const socket = createSocket({ type: 'udp4', reuseAddr: true, lookup: literalLookup })
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind({ port: options.port, address: options.address }, () => {
      socket.off('error', reject)
      resolve()
    })
  })
  if (options.broadcast !== false) socket.setBroadcast(true)
  return socket
}
