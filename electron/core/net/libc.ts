/**
 * The few libc socket calls Node does not offer (SO_BINDTODEVICE before bind, raw ICMPv6 sends), through
 * koffi. Linux only; loaded once per process on first use (a read-only handle, not state tests inject).
 */
import { createRequire } from 'node:module'

export interface Libc {
  socket(domain: number, type: number, protocol: number): number
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number
  bind(fd: number, addr: Buffer, len: number): number
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: number): number
  if_nametoindex(name: string): number
  close(fd: number): number
  /** Variadic: the third argument is a koffi type name then its value, e.g. fcntl(fd, F_DUPFD_CLOEXEC, 'int', 0). */
  fcntl(fd: number, cmd: number, ...arg: unknown[]): number
  errno(): number
  strerror(errnum: number): string
  // The TFTP session worker's own event loop (boot/tftp/sync-engine.ts):
  epoll_create1(flags: number): number
  epoll_ctl(epfd: number, op: number, fd: number, event: Buffer | null): number
  epoll_wait(epfd: number, events: Buffer, maxevents: number, timeoutMs: number): number
  eventfd(initval: number, flags: number): number
  read(fd: number, buf: Buffer, len: number): number
  write(fd: number, buf: Buffer, len: number): number
  recvfrom(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: Buffer): number
  pread(fd: number, buf: Buffer, len: number, offset: number): number
}

export const SOCK_CLOEXEC = 0o2000000
export const SOL_SOCKET = 1
export const SO_BINDTODEVICE = 25
export const SOCK_NONBLOCK = 0o4000
export const EAGAIN = 11
export const EINTR = 4
export const AF_INET = 2

/** Writes a struct sockaddr_in (16 bytes) into `into`: family, port, and the address in host order. */
export function writeSockaddrIn(into: Buffer, address: number, port: number): Buffer {
  into.fill(0, 0, 16)
  into.writeUInt16LE(AF_INET, 0)
  into.writeUInt16BE(port, 2)
  into.writeUInt32BE(address >>> 0, 4)
  return into
}

let cache: Libc | null = null

export function libc(): Libc {
  if (cache) return cache
  const require = createRequire(import.meta.url)
  const koffi = require('koffi') as typeof import('koffi')
  const lib = koffi.load('libc.so.6')
  const errnoLocation = lib.func('int *__errno_location(void)')
  cache = {
    socket: lib.func('int socket(int, int, int)'),
    setsockopt: lib.func('int setsockopt(int, int, int, const void *, uint32_t)'),
    bind: lib.func('int bind(int, const void *, uint32_t)'),
    sendto: lib.func('intptr_t sendto(int, const void *, size_t, int, const void *, uint32_t)'),
    if_nametoindex: lib.func('unsigned int if_nametoindex(const char *)'),
    close: lib.func('int close(int)'),
    fcntl: lib.func('int fcntl(int, int, ...)'),
    errno: () => koffi.decode(errnoLocation(), 'int') as number,
    strerror: lib.func('const char *strerror(int)'),
    epoll_create1: lib.func('int epoll_create1(int)'),
    epoll_ctl: lib.func('int epoll_ctl(int, int, int, void *)'),
    epoll_wait: lib.func('int epoll_wait(int, void *, int, int)'),
    eventfd: lib.func('int eventfd(unsigned int, int)'),
    read: lib.func('intptr_t read(int, void *, size_t)'),
    write: lib.func('intptr_t write(int, const void *, size_t)'),
    recvfrom: lib.func('intptr_t recvfrom(int, void *, size_t, int, void *, void *)'),
    pread: lib.func('intptr_t pread(int, void *, size_t, int64_t)'),
  }
  return cache
}
