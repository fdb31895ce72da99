/**
 * Hostile input: path traversal over the wire, and 20,000 random or mutated datagrams to the request port and
 * to a live session's port. The server must refuse, count, keep serving, and leak no socket.
 */
import dgram from 'node:dgram'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { diskProvider } from '../../electron/core/boot/tftp/files'
import { decodeTftp, encodeTftp, type TftpPacket } from '../../electron/core/boot/tftp/packet'
import {
  startTftpServer,
  type TftpServer,
  type TftpServerOptions,
} from '../../electron/core/boot/tftp/server'
import { exchange, patternBytes, sha256, tftpGet, trackingBinder, until } from '../support/tftp-client'

const SECRET = 'RBTF-SECRET-OUTSIDE-ROOT'
let base: string
let root: string
const payload = patternBytes(300_001, 21)

beforeAll(() => {
  base = mkdtempSync(path.join(tmpdir(), 'rbtf-sec-'))
  root = path.join(base, 'root')
  mkdirSync(path.join(root, 'boot'), { recursive: true })
  writeFileSync(path.join(base, 'secret'), SECRET)
  writeFileSync(path.join(root, 'payload.bin'), payload)
  symlinkSync(path.join(base, 'secret'), path.join(root, 'escape'))
  symlinkSync(base, path.join(root, 'updir'))
})
afterAll(() => rmSync(base, { recursive: true, force: true }))

let server: TftpServer | null = null
let tracker = trackingBinder()
async function start(extra: Partial<TftpServerOptions> = {}): Promise<TftpServer> {
  tracker = trackingBinder()
  server = await startTftpServer({
    host: '127.0.0.1',
    port: 0,
    provider: diskProvider(root),
    bindSocket: tracker.bind,
    timeoutMs: 50,
    retries: 1,
    ...extra,
  })
  return server
}
afterEach(async () => {
  await server?.close()
  server = null
  expect(tracker.open.size).toBe(0)
})

describe('path traversal over the wire', () => {
  it.each([
    ['../../etc/passwd', 2],
    ['../secret', 2],
    ['\\..\\secret', 2],
    ['/..\\secret', 2],
    ['boot/../../secret', 2],
    ['escape', 2],
    ['updir/secret', 2],
    ['boot', 2],
    ['/..%2fsecret', 1],
    ['/etc/passwd', 1],
  ])('%s -> ERROR %i, no DATA', async (name, code) => {
    const s = await start()
    const r = await tftpGet({ port: s.address.port, file: name, retries: 2 })
    expect(r.error?.code).toBe(code)
    expect(r.error?.message).toContain(name)
    expect(r.dataPackets).toBe(0)
    expect(r.data.toString()).not.toContain(SECRET)
  })

  it('an absolute host path is looked up under the root, not on the host', async () => {
    const s = await start()
    const r = await tftpGet({ port: s.address.port, file: path.join(base, 'secret'), retries: 2 })
    expect(r.error?.code).toBe(1)
    expect(r.dataPackets).toBe(0)
  })

  it('a symlink that leaves the root and comes back in resolves inside it: served', async () => {
    const s = await start()
    const r = await tftpGet({ port: s.address.port, file: 'updir/root/payload.bin' })
    expect(sha256(r.data)).toBe(sha256(payload))
  })

  it('a NUL inside the name ends the filename on the wire: the rest is an unknown mode, refused', async () => {
    const s = await start()
    const raw = Buffer.from('\0\x01payload.bin\0../secret\0octet\0', 'latin1')
    const r = await exchange(s.address, raw)
    expect(decodeTftp(r!.reply)).toMatchObject({ ok: true, value: { op: 'error', code: 4 } })
  })
})

/** Deterministic random numbers, so a failure replays. */
function rng(seed: number) {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x / 0x100000000
  }
}

function fuzzDatagram(rnd: () => number): Buffer {
  const int = (n: number) => Math.floor(rnd() * n)
  if (rnd() < 0.4) {
    const b = Buffer.alloc(int(600))
    for (let i = 0; i < b.length; i++) b[i] = int(256)
    return b
  }
  const seeds: TftpPacket[] = [
    {
      op: 'rrq',
      filename: 'payload.bin',
      mode: 'octet',
      options: { blksize: '1468', tsize: '0', windowsize: '8' },
    },
    { op: 'rrq', filename: 'nope.bin', mode: 'netascii', options: {} },
    { op: 'rrq', filename: '../secret', mode: 'octet', options: { timeout: '1' } },
    { op: 'wrq', filename: 'x', mode: 'octet', options: {} },
    { op: 'ack', block: int(65536) },
    { op: 'data', block: 1, data: Buffer.alloc(int(100)) },
    { op: 'error', code: int(9), message: 'x' },
    { op: 'oack', options: { blksize: '512' } },
  ]
  const b = Buffer.from(encodeTftp(seeds[int(seeds.length)]!))
  const mutations = int(4)
  let out = b
  for (let m = 0; m < mutations; m++) {
    const kind = int(4)
    const at = int(Math.max(out.length, 1))
    if (kind === 0 && out.length > 0) out[at] = int(256)
    else if (kind === 1) out = out.subarray(0, at)
    else if (kind === 2) out = Buffer.concat([out.subarray(0, at), Buffer.from([int(256)]), out.subarray(at)])
    else if (out.length > 0) out[at] = 0
  }
  return out
}

/** Sends `count` datagrams in small batches, each time waiting until `processed()` catches up, so the
 *  kernel never drops for lack of buffer and the counters can be compared exactly. */
async function paced(
  socket: dgram.Socket,
  to: { port: number; address?: string },
  count: number,
  make: () => Buffer,
  processed: () => number,
) {
  const start = processed()
  for (let sent = 0; sent < count;) {
    const batch = Math.min(50, count - sent)
    for (let i = 0; i < batch; i++) socket.send(make(), to.port, to.address ?? '127.0.0.1')
    sent += batch
    await until(() => processed() - start >= sent, 20_000, `server to process ${sent} fuzz datagrams`)
  }
}

async function udpSocket(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4')
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()))
  s.on('message', () => {}) // answers (DATA, OACK, ERROR) are read and ignored
  return s
}

describe('fuzz', () => {
  it('20,000 datagrams to the request port: counted, bounded, and the server still serves', async () => {
    const s = await start({ maxTransfers: 16 })
    const rnd = rng(1234)
    const fuzzer = await udpSocket()
    await paced(
      fuzzer,
      s.address,
      20_000,
      () => fuzzDatagram(rnd),
      () => s.stats().received,
    )
    await until(
      () => s.stats().transfers.active === 0 && tracker.open.size === 1,
      30_000,
      'fuzz sessions to end',
    )
    fuzzer.close()
    const st = s.stats()
    expect(st.received).toBe(20_000)
    expect(st.malformed).toBeGreaterThan(1000)
    expect(st.refused).toBeGreaterThan(100)
    expect(st.ignored).toBeGreaterThan(100)
    expect(
      st.malformed + st.ignored + st.refused + st.transfers.failed + st.transfers.aborted + st.transfers.done,
    ).toBe(20_000)
    const r = await tftpGet({ port: s.address.port, file: 'payload.bin', options: { blksize: '1468' } })
    expect(sha256(r.data)).toBe(sha256(payload))
  })

  it('20,000 datagrams to a live session port (strangers and its own client): the transfer completes intact', async () => {
    const s = await start({ timeoutMs: 2000, retries: 5 })
    const rnd = rng(99)
    const intruder = await udpSocket()
    const r = await tftpGet({
      port: s.address.port,
      file: 'payload.bin',
      timeoutMs: 5000,
      onData: async (block, srv, clientSocket) => {
        if (block !== 2) return
        await paced(
          intruder,
          srv,
          10_000,
          () => fuzzDatagram(rnd),
          () => s.stats().unknownTid,
        )
        // From the client's own TID only undecodable datagrams: a valid ACK or ERROR would legitimately steer it.
        const junk = () => {
          const b = Buffer.alloc(1 + Math.floor(rnd() * 40))
          for (let i = 0; i < b.length; i++) b[i] = Math.floor(rnd() * 256)
          b[0] = 0x80 // opcode >= 0x8000 or a 1-byte packet: never decodes
          return b
        }
        await paced(clientSocket, srv, 10_000, junk, () => s.stats().malformed)
      },
    })
    intruder.close()
    expect(r.error).toBeNull()
    expect(sha256(r.data)).toBe(sha256(payload))
    expect(s.stats().unknownTid).toBe(10_000)
    expect(s.stats().malformed).toBe(10_000)
    await until(() => s.stats().transfers.done === 1, 5000, 'done')
  })
})
