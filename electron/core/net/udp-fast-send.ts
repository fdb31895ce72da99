/**
 * Batched UDP sends: datagrams are copied into a staging area and leave in one sendmmsg(2) call through
 * koffi. node:dgram pays a JS send path, a SendWrap and a syscall per datagram; bench:tftp profiled that at
 * ~44 % of the TFTP server's CPU (one call per block), and a window of 16 blocks here is one syscall.
 *
 * Linux on 64-bit little-endian (x64, arm64: the mmsghdr layout below) and IPv4 only. Elsewhere, when koffi or
 * libc cannot be loaded, or when the socket's descriptor cannot be read, `openUdpBatch` returns the portable
 * batch: the same interface over dgram `send`, one datagram at a time. The fast batch also falls back to
 * dgram for the rest of a batch when the kernel refuses (EAGAIN with a full send buffer, or any error: dgram
 * then reports it as the socket's 'error' event, as it always did).
 *
 * The descriptor is borrowed: flush() must not be called after the socket is closed (the number could
 * belong to another file by then).
 */
import type dgram from 'node:dgram'
import { createRequire } from 'node:module'
import { ipToInt } from '../util/ipv4'
import { writeSockaddrIn } from './libc'

export interface UdpPeer {
  address: string
  port: number
}

export interface UdpBatch {
  /** Datagrams one flush can hold. */
  readonly capacity: number
  /** Largest datagram (head + body) push accepts. */
  readonly maxDatagram: number
  /** Whether flush() uses sendmmsg (false: the portable dgram path). */
  readonly fast: boolean
  /**
   * Adds one datagram, `head` then `body`, both copied (the caller may reuse them at once). False when the
   * batch is full (flush first); throws when the datagram is larger than maxDatagram (a caller bug).
   */
  push(head: Buffer, body?: Buffer): boolean
  /** Datagrams pushed and not yet flushed. */
  pending(): number
  /** Sends every pending datagram to `to`, in order, and empties the batch. */
  flush(to: UdpPeer): void
}

export interface UdpBatchOptions {
  capacity: number
  maxDatagram: number
  /** Tests: force the portable path. */
  portable?: boolean
}

export interface SendLib {
  sendmmsg(fd: number, msgvec: Buffer, vlen: number, flags: number): number
  sendmsg(fd: number, msg: Buffer, flags: number): number
  errno(): number
  address(b: Buffer): bigint
}

const SOCKADDR_IN = 16
const IOVEC = 16
const MMSGHDR = 64
const MSGHDR = 56
/** struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type } + a u16, padded: CMSG_SPACE(2). */
const CMSG_GSO_SPACE = 24
const CMSG_GSO_LEN = 18
const SOL_UDP = 17
const UDP_SEGMENT = 103
/** The kernel's limit on segments in one UDP GSO send (UDP_MAX_SEGMENTS, 64 before Linux 5.5). */
const GSO_MAX_SEGMENTS = 64
const GSO_MAX_BYTES = 65507
const EINTR = 4
/** EIO, EINVAL, ENOPROTOOPT, EOPNOTSUPP (Linux). */
const GSO_UNSUPPORTED = new Set([5, 22, 92, 95])

/** Loads koffi + libc once per batch owner; null where it cannot (not Linux, not 64-bit LE, no koffi). */
export function loadSendLib(): SendLib | null {
  if (process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'arm64')) return null
  try {
    const require = createRequire(import.meta.url)
    const koffi = require('koffi') as typeof import('koffi')
    const lib = koffi.load('libc.so.6')
    return {
      sendmmsg: lib.func('int sendmmsg(int, void *, unsigned int, int)'),
      sendmsg: lib.func('intptr_t sendmsg(int, void *, int)'),
      errno: () => koffi.errno(),
      address: (b) => koffi.address(b),
    }
  } catch {
    return null
  }
}

/**
 * The descriptor under a bound dgram socket (libuv's UDP handle exposes it on Unix). Read through the
 * socket's internal state symbol rather than the deprecated `_handle` getter (DEP0112 warns once).
 */
export function udpSocketFd(socket: dgram.Socket): number | undefined {
  const symbol = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol')
  if (!symbol) return undefined
  const state = (socket as unknown as Record<symbol, { handle?: { fd?: unknown } } | undefined>)[symbol]
  const fd = state?.handle?.fd
  return typeof fd === 'number' && fd >= 0 ? fd : undefined
}

/** A batch for `socket` (bound, IPv4 for the fast path), sized for `capacity` datagrams of maxDatagram bytes. */
export function openUdpBatch(socket: dgram.Socket, o: UdpBatchOptions): UdpBatch {
  const capacity = Math.max(1, Math.floor(o.capacity))
  const lib = o.portable ? null : loadSendLib()
  const fd = lib ? udpSocketFd(socket) : undefined
  if (!lib || fd === undefined || socket.address().family !== 'IPv4')
    return new PortableBatch(socket, capacity, o.maxDatagram)
  return new MmsgBatch(socket, fd, lib, capacity, o.maxDatagram)
}

class PortableBatch implements UdpBatch {
  readonly fast = false
  private readonly queue: Buffer[][] = []
  constructor(
    private readonly socket: dgram.Socket,
    readonly capacity: number,
    readonly maxDatagram: number,
  ) {}

  push(head: Buffer, body?: Buffer): boolean {
    if (this.queue.length >= this.capacity) return false
    checkSize(head, body, this.maxDatagram)
    // dgram keeps the buffers if the send has to wait for the socket: copy the head, which callers reuse.
    // The body is the caller's block, which it does not modify once pushed (sync-file.ts gives a block that
    // spans two chunks a buffer of its own for this reason).
    this.queue.push(body ? [Buffer.from(head), body] : [Buffer.from(head)])
    return true
  }

  pending(): number {
    return this.queue.length
  }

  flush(to: UdpPeer): void {
    // No callback on purpose: without one Node sends synchronously (uv_udp_try_send) when it can.
    for (const parts of this.queue) this.socket.send(parts, to.port, to.address)
    this.queue.length = 0
  }
}

/**
 * Staged datagrams on a raw descriptor, sent with one sendmmsg(2): the part of the fast batch that needs no
 * dgram socket, also used by the TFTP session worker's own event loop (boot/tftp/sync-engine.ts).
 */
export class MmsgStaging {
  private readonly stride: number
  /** Datagram i lives at [i * stride, i * stride + length[i]). */
  private readonly staging: Buffer
  private readonly iovecs: Buffer
  private readonly headers: Buffer
  private readonly sockaddr = Buffer.allocUnsafeSlow(SOCKADDR_IN).fill(0)
  private readonly lengths: number[] = []

  /** UDP GSO (one sendmsg, the kernel cuts the datagrams) while it works; off after the first refusal. */
  private gso: { msg: Buffer; iov: Buffer; cmsg: Buffer } | null = null

  /**
   * @param segmentSize With it, datagrams are packed back to back and a batch whose datagrams are all this
   *   size (the last may be shorter) leaves as one UDP GSO send (UDP_SEGMENT): the stack walks one packet
   *   instead of one per datagram, which halved a TFTP window's send cost over veth. Where the kernel or
   *   device refuses GSO, sendmmsg takes over.
   */
  constructor(
    private readonly fd: number,
    private readonly lib: SendLib,
    readonly capacity: number,
    readonly maxDatagram: number,
    segmentSize?: number,
  ) {
    this.stride = segmentSize === maxDatagram ? maxDatagram : (maxDatagram + 7) & ~7
    // allocUnsafeSlow: each is its own off-heap allocation, so the addresses written below stay valid for as
    // long as this object holds the buffers.
    this.staging = Buffer.allocUnsafeSlow(this.stride * capacity)
    this.iovecs = Buffer.allocUnsafeSlow(IOVEC * capacity).fill(0)
    this.headers = Buffer.allocUnsafeSlow(MMSGHDR * capacity).fill(0)
    const staging = lib.address(this.staging)
    const iovecs = lib.address(this.iovecs)
    const sockaddr = lib.address(this.sockaddr)
    for (let i = 0; i < capacity; i++) {
      // struct iovec { void *iov_base; size_t iov_len }
      this.iovecs.writeBigUInt64LE(staging + BigInt(i * this.stride), i * IOVEC)
      // struct mmsghdr { struct msghdr { msg_name @0, msg_namelen @8, msg_iov @16, msg_iovlen @24,
      // msg_control @32, msg_controllen @40, msg_flags @48 }; unsigned msg_len @56 } (LP64)
      const h = i * MMSGHDR
      this.headers.writeBigUInt64LE(sockaddr, h)
      this.headers.writeUInt32LE(SOCKADDR_IN, h + 8)
      this.headers.writeBigUInt64LE(iovecs + BigInt(i * IOVEC), h + 16)
      this.headers.writeBigUInt64LE(1n, h + 24)
    }
    if (segmentSize === maxDatagram && capacity > 1) {
      const msg = Buffer.allocUnsafeSlow(MSGHDR).fill(0)
      const iov = Buffer.allocUnsafeSlow(IOVEC).fill(0)
      const cmsg = Buffer.allocUnsafeSlow(CMSG_GSO_SPACE).fill(0)
      iov.writeBigUInt64LE(staging, 0)
      cmsg.writeBigUInt64LE(BigInt(CMSG_GSO_LEN), 0)
      cmsg.writeInt32LE(SOL_UDP, 8)
      cmsg.writeInt32LE(UDP_SEGMENT, 12)
      cmsg.writeUInt16LE(segmentSize, 16)
      msg.writeBigUInt64LE(sockaddr, 0)
      msg.writeUInt32LE(SOCKADDR_IN, 8)
      msg.writeBigUInt64LE(lib.address(iov), 16)
      msg.writeBigUInt64LE(1n, 24)
      msg.writeBigUInt64LE(lib.address(cmsg), 32)
      msg.writeBigUInt64LE(BigInt(CMSG_GSO_SPACE), 40)
      this.gso = { msg, iov, cmsg }
    }
  }

  /** Whether batches of full segments still leave as one GSO send (false: never asked for, or refused). */
  get segmenting(): boolean {
    return this.gso !== null
  }

  /** Sets the destination of the following sends (IPv4, host-order address). */
  setPeer(address: number, port: number): void {
    writeSockaddrIn(this.sockaddr, address, port)
  }

  push(head: Buffer, body?: Buffer): boolean {
    const i = this.lengths.length
    if (i >= this.capacity) return false
    checkSize(head, body, this.maxDatagram)
    const at = i * this.stride
    // TypedArray.set, not Buffer.copy: a V8 builtin rather than a call into Node's C++ (half the cost per block).
    this.staging.set(head, at)
    if (body) this.staging.set(body, at + head.length)
    const length = head.length + (body ? body.length : 0)
    this.iovecs.writeUInt32LE(length, i * IOVEC + 8) // iov_len (size_t; lengths fit in the low half)
    this.lengths.push(length)
    return true
  }

  pending(): number {
    return this.lengths.length
  }

  /**
   * Sends the staged datagrams in order and returns how many left; fewer than pending() when the kernel
   * refused the rest (EAGAIN with a full send buffer, or an error). The staging keeps them until clear().
   */
  send(): number {
    const count = this.lengths.length
    if (this.gso && count > 1 && this.segmentable()) {
      const total = (count - 1) * this.stride + this.lengths[count - 1]!
      this.gso.iov.writeUInt32LE(total, 8) // iov_len (size_t; the low half)
      for (;;) {
        const n = this.lib.sendmsg(this.fd, this.gso.msg, 0)
        if (n >= 0) return count
        const e = this.lib.errno()
        if (e === EINTR) continue
        // The kernel or device cannot segment (EIO: no checksum offload; EINVAL, ENOPROTOOPT, EOPNOTSUPP):
        // sendmmsg from now on. Anything else (EAGAIN, ENOBUFS, an unreachable peer) is this send's alone.
        if (!GSO_UNSUPPORTED.has(e)) return 0
        this.gso = null
        break
      }
    }
    let done = 0
    while (done < count) {
      const from = done === 0 ? this.headers : this.headers.subarray(done * MMSGHDR)
      const n = this.lib.sendmmsg(this.fd, from, count - done, 0)
      if (n > 0) {
        done += n
        continue
      }
      if (n < 0 && this.lib.errno() === EINTR) continue
      break
    }
    return done
  }

  /** All but the last datagram fill a segment, and the batch is within the kernel's GSO limits. */
  private segmentable(): boolean {
    const count = this.lengths.length
    if (count > GSO_MAX_SEGMENTS || (count - 1) * this.stride + this.lengths[count - 1]! > GSO_MAX_BYTES)
      return false
    for (let i = 0; i < count - 1; i++) if (this.lengths[i] !== this.stride) return false
    return true
  }

  /** Datagram i of the last send (valid until the next push), for a caller that sends the rest another way. */
  datagram(i: number): Buffer {
    const at = i * this.stride
    return this.staging.subarray(at, at + this.lengths[i]!)
  }

  /** Empties the staging. */
  clear(): void {
    this.lengths.length = 0
  }
}

class MmsgBatch implements UdpBatch {
  readonly fast = true
  private readonly core: MmsgStaging
  private peerAddress = ''
  private peerPort = -1

  constructor(
    private readonly socket: dgram.Socket,
    fd: number,
    lib: SendLib,
    readonly capacity: number,
    readonly maxDatagram: number,
  ) {
    this.core = new MmsgStaging(fd, lib, capacity, maxDatagram)
  }

  push(head: Buffer, body?: Buffer): boolean {
    return this.core.push(head, body)
  }

  pending(): number {
    return this.core.pending()
  }

  flush(to: UdpPeer): void {
    const count = this.core.pending()
    if (count === 0) return
    if (!this.setPeer(to)) return this.fallback(to, 0)
    const done = this.core.send()
    // EAGAIN (send buffer full) or an error: dgram queues the rest, or reports the error on the socket.
    if (done < count) return this.fallback(to, done)
    this.core.clear()
  }

  /** Writes sockaddr_in for `to` when it changed; false for a peer the fast path cannot address. */
  private setPeer(to: UdpPeer): boolean {
    if (to.address === this.peerAddress && to.port === this.peerPort) return true
    const address = ipToInt(to.address)
    if (address === null) return false // IPv6: the portable path
    this.core.setPeer(address, to.port)
    this.peerAddress = to.address
    this.peerPort = to.port
    return true
  }

  private fallback(to: UdpPeer, from: number): void {
    // A copy: dgram may hold it until the socket is writable, and the staging area is reused.
    for (let i = from; i < this.core.pending(); i++)
      this.socket.send(Buffer.from(this.core.datagram(i)), to.port, to.address)
    this.core.clear()
  }
}

function checkSize(head: Buffer, body: Buffer | undefined, max: number): void {
  const size = head.length + (body?.length ?? 0)
  if (size > max) throw new RangeError(`UDP batch: a ${size}-byte datagram exceeds the ${max}-byte slot`)
}
