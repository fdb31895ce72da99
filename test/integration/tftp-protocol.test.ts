/**
 * Our TFTP server against a packet-level client that misbehaves on purpose (loss, duplicates, reordering,
 * strangers, OVMF's OACK-then-ERROR-8). Every transfer is checked by SHA-256. Counts of DATA packets bound
 * retransmissions; no test depends on how fast the machine is.
 */
import dgram from 'node:dgram'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { memoryProvider } from '../../electron/core/boot/tftp/files'
import { decodeTftp, encodeTftp } from '../../electron/core/boot/tftp/packet'
import {
  startTftpServer,
  type TftpEvent,
  type TftpServer,
  type TftpServerOptions,
} from '../../electron/core/boot/tftp/server'
import { exchange, patternBytes, sha256, tftpGet, trackingBinder, until } from '../support/tftp-client'

const files: Record<string, Buffer> = {
  'empty.bin': Buffer.alloc(0),
  'one.bin': patternBytes(512, 2),
  'small.bin': patternBytes(1000, 3),
  'medium.bin': patternBytes(200 * 1024 + 77, 4),
  'text.txt': Buffer.from('first line\nsecond line\r\nbare cr\rend\n'.repeat(300)),
}

let server: TftpServer | null = null
let tracker = trackingBinder()
let events: TftpEvent[] = []
let warnings: string[] = []
/**
 * Every test runs three times: sessions on the main thread, in worker threads (session-pool.ts) with their
 * epoll loop, and in worker threads on Node's loop (the path Windows and macOS take).
 */
let sessionThreads = 0
let sessionLoop: 'epoll' | 'dgram' = 'epoll'

async function start(extra: Partial<TftpServerOptions> = {}): Promise<TftpServer> {
  tracker = trackingBinder()
  events = []
  warnings = []
  server = await startTftpServer({
    host: '127.0.0.1',
    port: 0,
    provider: memoryProvider((name) => files[name]),
    logger: { info() {}, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) },
    bindSocket: tracker.bind,
    onEvent: (e) => events.push(e),
    timeoutMs: 200,
    retries: 5,
    // An injected clock exists only on this thread: such tests run their sessions here.
    workers: extra.now ? 0 : sessionThreads,
    sessionLoop,
    ...extra,
  })
  expect(server.sessionThreads).toBe(extra.now ? 0 : (extra.workers ?? sessionThreads))
  return server
}

afterEach(async () => {
  await server?.close()
  server = null
  // Every socket the server ever bound is closed again.
  expect(tracker.open.size).toBe(0)
})

const blocksOf = (size: number, blksize: number) => Math.floor(size / blksize) + 1

describe.each([
  [0, 'epoll'],
  [2, 'epoll'],
  [2, 'dgram'],
] as const)('with %i session threads (%s)', (threads, loop) => {
  beforeEach(() => {
    sessionThreads = threads
    sessionLoop = loop
  })

  describe('TFTP read transfers', () => {
    it.each(['empty.bin', 'one.bin', 'small.bin', 'medium.bin'])('lock-step %s', async (name) => {
      const s = await start()
      const r = await tftpGet({ port: s.address.port, file: name })
      expect(r.error).toBeNull()
      expect(sha256(r.data)).toBe(sha256(files[name]!))
      expect(r.oack).toBeNull()
      expect(r.blocks).toBe(blocksOf(files[name]!.length, 512))
      await until(() => s.stats().transfers.done === 1, 5000, 'done')
      expect(events.map((e) => e.kind)).toContain('done')
      expect(events.at(-1)).toMatchObject({
        kind: 'done',
        bytes: files[name]!.length,
        total: files[name]!.length,
      })
    })

    it('answers tsize, grants blksize up to the cap, echoes timeout', async () => {
      const s = await start({ maxBlksize: 1468 })
      const r = await tftpGet({
        port: s.address.port,
        file: 'medium.bin',
        options: { tsize: '0', blksize: '9000', timeout: '2' },
      })
      expect(r.oack).toEqual({ tsize: String(files['medium.bin']!.length), blksize: '1468', timeout: '2' })
      expect(sha256(r.data)).toBe(sha256(files['medium.bin']!))
      expect(r.blocks).toBe(blocksOf(files['medium.bin']!.length, 1468))
    })

    it('a large maxBlksize (loopback) is granted', async () => {
      const s = await start({ maxBlksize: 65464 })
      const r = await tftpGet({ port: s.address.port, file: 'medium.bin', options: { blksize: '65464' } })
      expect(r.oack).toEqual({ blksize: '65464' })
      expect(sha256(r.data)).toBe(sha256(files['medium.bin']!))
    })

    it('netascii: LF -> CR LF, CR -> CR NUL, and no tsize', async () => {
      const s = await start()
      const r = await tftpGet({
        port: s.address.port,
        file: 'text.txt',
        mode: 'netascii',
        options: { tsize: '0', blksize: '1024' },
      })
      expect(r.oack).toEqual({ blksize: '1024' })
      const expected = files['text.txt']!.toString('latin1').replace(/\r/g, '\r\0').replace(/\n/g, '\r\n')
      expect(sha256(r.data)).toBe(sha256(Buffer.from(expected, 'latin1')))
    })
  })

  describe('progress events', () => {
    it('are throttled to one per MiB when the clock stands still', async () => {
      const big = patternBytes(3.5 * 1024 * 1024, 9)
      tracker = trackingBinder()
      events = []
      server = await startTftpServer({
        host: '127.0.0.1',
        port: 0,
        provider: memoryProvider(() => big),
        bindSocket: tracker.bind,
        onEvent: (e) => events.push(e),
        now: () => 0,
      })
      const r = await tftpGet({
        port: server.address.port,
        file: 'big',
        options: { blksize: '1468', windowsize: '8' },
      })
      expect(sha256(r.data)).toBe(sha256(big))
      await until(() => events.at(-1)?.kind === 'done', 5000, 'done')
      const progress = events.filter((e) => e.kind === 'progress').map((e) => e.bytes)
      expect(progress.length).toBe(3)
      for (let i = 0; i < progress.length; i++)
        expect(progress[i]).toBeGreaterThanOrEqual((i + 1) * 1024 * 1024)
      expect(events.at(-1)).toMatchObject({
        kind: 'done',
        bytes: big.length,
        total: big.length,
        blksize: 1468,
        windowsize: 8,
      })
    })
  })

  describe('loss, duplicates and reordering', () => {
    const N = blocksOf(files['medium.bin']!.length, 512) // 401 blocks

    it('every 5th ACK lost: the server retransmits on timeout and the file is intact', async () => {
      const s = await start({ timeoutMs: 50, retries: 10 })
      const r = await tftpGet({
        port: s.address.port,
        file: 'medium.bin',
        timeoutMs: 5000, // the client stays quiet: recovery is the server's job here
        dropAck: (block, attempt) => block % 5 === 0 && attempt === 1,
      })
      expect(r.error).toBeNull()
      expect(sha256(r.data)).toBe(sha256(files['medium.bin']!))
      expect(r.duplicateData).toBeGreaterThanOrEqual(Math.floor(N / 5))
    })

    it("duplicate ACKs never trigger resends (no Sorcerer's Apprentice), lock-step", async () => {
      const s = await start({ timeoutMs: 2000 })
      const r = await tftpGet({ port: s.address.port, file: 'medium.bin', duplicateAcks: 2 })
      expect(sha256(r.data)).toBe(sha256(files['medium.bin']!))
      expect(r.acksSent).toBeGreaterThanOrEqual(3 * N)
      // With the bug each duplicate ACK would send the next block again: about 3N packets.
      expect(r.dataPackets).toBeLessThanOrEqual(N + 5)
    })

    it('duplicate ACKs never trigger window resends, windowsize 8', async () => {
      const s = await start({ timeoutMs: 2000 })
      const r = await tftpGet({
        port: s.address.port,
        file: 'medium.bin',
        options: { windowsize: '8' },
        duplicateAcks: 3,
      })
      expect(sha256(r.data)).toBe(sha256(files['medium.bin']!))
      // At most one probe resend per window, and only when no progress follows: far below the ~4N of the bug.
      expect(r.dataPackets).toBeLessThanOrEqual(N + 8 * 8)
    })

    it('late (reordered) ACKs of older blocks are ignored', async () => {
      const s = await start({ timeoutMs: 2000 })
      const r = await tftpGet({
        port: s.address.port,
        file: 'medium.bin',
        staleAck: (block) => (block >= 3 ? block - 2 : null),
      })
      expect(sha256(r.data)).toBe(sha256(files['medium.bin']!))
      expect(r.dataPackets).toBeLessThanOrEqual(N + 5)
    })

    it.each([4, 16, 64])('windowsize %i with DATA loss recovers per RFC 7440', async (w) => {
      const s = await start({ timeoutMs: 100, retries: 10 })
      let lost = 0
      const r = await tftpGet({
        port: s.address.port,
        file: 'medium.bin',
        options: { windowsize: String(w), blksize: '1024' },
        timeoutMs: 300,
        // Lose the first copy of a block mid-window and of a block that ends a window (no gap follows it).
        dropData: (block, seen) => {
          const drop = seen === 1 && (block % 23 === 5 || block % w === 0)
          if (drop) lost++
          return drop
        },
      })
      expect(r.oack).toEqual({ windowsize: String(w), blksize: '1024' })
      expect(r.error).toBeNull()
      expect(sha256(r.data)).toBe(sha256(files['medium.bin']!))
      const n = blocksOf(files['medium.bin']!.length, 1024)
      expect(lost).toBeGreaterThan(0)
      // A loss costs a window or two (timeout resend, then the partial ACK); no runaway resends.
      expect(r.dataPackets).toBeLessThanOrEqual(n + 3 * (lost + 5) * w)
      await until(() => s.stats().transfers.done === 1, 5000, 'done')
    })

    it.each([
      ['another port', 'same address'],
      ['another address', 'same port'],
    ])('an ACK from %s (%s) gets ERROR 5 and does not disturb the transfer', async (what) => {
      const s = await start({ timeoutMs: 2000 })
      const intruder = dgram.createSocket('udp4')
      const replies: Buffer[] = []
      intruder.on('message', (m) => replies.push(m))
      const r = await tftpGet({
        port: s.address.port,
        file: 'medium.bin',
        onData: async (block, srv, clientSocket) => {
          if (block !== 3) return
          // 127.0.0.2 is loopback too: same port as the client, different address.
          const [address, port] =
            what === 'another port' ? ['127.0.0.1', 0] : ['127.0.0.2', clientSocket.address().port]
          await new Promise<void>((res) => intruder.bind(port, address, () => res()))
          // A bogus ACK far ahead: accepted it would skip blocks and corrupt the file.
          intruder.send(encodeTftp({ op: 'ack', block: 50 }), srv.port, srv.address)
          await until(() => replies.length > 0, 5000, 'ERROR 5')
        },
      })
      intruder.close()
      expect(decodeTftp(replies[0]!)).toEqual({
        ok: true,
        value: { op: 'error', code: 5, message: 'Unknown transfer ID' },
      })
      expect(sha256(r.data)).toBe(sha256(files['medium.bin']!))
      expect(r.dataPackets).toBeLessThanOrEqual(N + 5)
      expect(s.stats().unknownTid).toBe(1)
    })

    it('a mid-window loss is recovered by the partial ACK, not by waiting for a timeout', async () => {
      // Server and client timers are far beyond the test's own bound, so only RFC 7440 §4 recovery can finish it.
      const s = await start({ timeoutMs: 600_000 })
      const n = blocksOf(files['medium.bin']!.length, 1024)
      const r = await tftpGet({
        port: s.address.port,
        file: 'medium.bin',
        options: { windowsize: '16', blksize: '1024' },
        timeoutMs: 600_000,
        overallMs: 30_000,
        dropData: (block, seen) => seen === 1 && block % 16 === 7 && block < n,
      })
      expect(r.error).toBeNull()
      expect(sha256(r.data)).toBe(sha256(files['medium.bin']!))
    })

    it.each([
      ['once per gap (atftp)', false],
      ['for every unexpected block (EDK2)', true],
    ])(
      'the first block of a window lost: the duplicate ACK (%s) brings it back without a timeout',
      async (_style, ackEveryUnexpected) => {
        const s = await start({ timeoutMs: 600_000 })
        const n = blocksOf(files['medium.bin']!.length, 1024)
        let lost = 0
        const r = await tftpGet({
          port: s.address.port,
          file: 'medium.bin',
          options: { windowsize: '4', blksize: '1024' },
          timeoutMs: 600_000,
          overallMs: 30_000,
          ackEveryUnexpected,
          // Windows start at 1, 5, 9, ... while nothing else is lost.
          dropData: (block, seen) => {
            const drop = seen === 1 && block % 20 === 1 && block < n
            if (drop) lost++
            return drop
          },
        })
        expect(r.error).toBeNull()
        expect(sha256(r.data)).toBe(sha256(files['medium.bin']!))
        expect(lost).toBeGreaterThan(5)
        expect(r.dataPackets).toBeLessThanOrEqual(n + 3 * (lost + 2) * 4)
      },
    )

    it('EDK2-style receiver, windowsize 4, mixed loss: intact, resends bounded', async () => {
      const s = await start({ timeoutMs: 200, retries: 10 })
      const n = blocksOf(files['medium.bin']!.length, 1468)
      let lost = 0
      const r = await tftpGet({
        port: s.address.port,
        file: 'medium.bin',
        options: { tsize: '0', blksize: '1468', windowsize: '4' },
        timeoutMs: 1000,
        ackEveryUnexpected: true,
        dropData: (block, seen) => {
          const drop = seen <= 2 && block % 9 === seen
          if (drop) lost++
          return drop
        },
      })
      expect(r.error).toBeNull()
      expect(sha256(r.data)).toBe(sha256(files['medium.bin']!))
      expect(r.dataPackets).toBeLessThanOrEqual(n + 3 * (lost + 2) * 4)
    })

    it('a read that fails mid-file: ERROR 0 naming the file, a failed event, the file closed', async () => {
      let closed = 0
      const failing = {
        open: async () => ({
          ok: true as const,
          value: {
            size: 300_000,
            read: async (offset: number, length: number) => {
              if (offset + length > 128 * 1024) throw new Error('EIO: disk went away')
              return patternBytes(length, offset)
            },
            close: async () => void closed++,
          },
        }),
      }
      const s = await start({ provider: failing })
      const r = await tftpGet({ port: s.address.port, file: 'flaky.img' })
      expect(r.error).toEqual({ code: 0, message: "cannot read 'flaky.img': EIO: disk went away" })
      await until(() => s.stats().transfers.failed === 1, 5000, 'failed')
      expect(events.at(-1)).toMatchObject({ kind: 'failed', file: 'flaky.img' })
      await until(() => closed === 1, 5000, 'file closed')
    })

    it('reads the file on demand: a few chunks ahead of the client, never the whole file', async () => {
      const big = patternBytes(8 * 1024 * 1024, 5)
      let maxEnd = 0
      const spy = {
        open: async () => ({
          ok: true as const,
          value: {
            size: big.length,
            read: async (offset: number, length: number) => {
              maxEnd = Math.max(maxEnd, offset + length)
              return big.subarray(offset, offset + length)
            },
            close: async () => {},
          },
        }),
      }
      const s = await start({ provider: spy })
      let worst = 0
      const r = await tftpGet({
        port: s.address.port,
        file: 'any',
        options: { blksize: '1468', windowsize: '8' },
        onData: (block) => {
          worst = Math.max(worst, maxEnd - block * 1468)
        },
      })
      expect(sha256(r.data)).toBe(sha256(big))
      // Read-ahead is one 64 KiB chunk or so beyond the window; allow two chunks plus the window. A session
      // thread reads through the main thread in 256 KiB chunks, the next one ahead (session-worker.ts), and
      // its block source reads its 64 KiB from those.
      const ahead = sessionThreads > 0 ? 2 * 256 * 1024 + 64 * 1024 : 2 * 64 * 1024
      expect(worst).toBeLessThanOrEqual(ahead + 8 * 1468)
    })
  })

  describe('session endings', () => {
    it('OVMF: OACK answered with ERROR 8, then the same request again', async () => {
      const s = await start()
      const options = { tsize: '0', blksize: '1468', windowsize: '4' }
      const first = await tftpGet({ port: s.address.port, file: 'medium.bin', options, rejectOack: true })
      expect(first.oack).toEqual({
        tsize: String(files['medium.bin']!.length),
        blksize: '1468',
        windowsize: '4',
      })
      const second = await tftpGet({ port: s.address.port, file: 'medium.bin', options })
      expect(sha256(second.data)).toBe(sha256(files['medium.bin']!))
      await until(
        () => s.stats().transfers.done === 1 && s.stats().transfers.active === 0,
        5000,
        'sessions end',
      )
      expect(s.stats().transfers).toEqual({ active: 0, done: 1, failed: 0, aborted: 1 })
      expect(events.map((e) => e.kind).filter((k) => k !== 'progress')).toEqual([
        'start',
        'aborted',
        'start',
        'done',
      ])
    })

    it('a vanished client: bounded retransmissions, a failed event, its socket closed', async () => {
      const s = await start({ timeoutMs: 30, retries: 3 })
      const first = await exchange(
        { address: '127.0.0.1', port: s.address.port },
        encodeTftp({ op: 'rrq', filename: 'medium.bin', mode: 'octet', options: {} }),
      )
      expect(first && decodeTftp(first.reply)).toMatchObject({ ok: true, value: { op: 'data', block: 1 } })
      await until(() => s.stats().transfers.failed === 1, 10_000, 'failed')
      expect(events.at(-1)).toMatchObject({ kind: 'failed', file: 'medium.bin', bytes: 0 })
      expect(events.at(-1)!.error).toMatch(/no ACK for block 1 after 3 retransmissions/)
      await until(() => tracker.open.size === 1, 5000, 'session socket closed') // only the request socket left
    })

    it('a client asking for a 255 s timeout cannot hold a slot that long: our shorter timer decides', async () => {
      const s = await start({ timeoutMs: 30, retries: 2 })
      const rrq = encodeTftp({
        op: 'rrq',
        filename: 'medium.bin',
        mode: 'octet',
        options: { timeout: '255' },
      })
      const first = await exchange(s.address, rrq)
      expect(first && decodeTftp(first.reply)).toEqual({
        ok: true,
        value: { op: 'oack', options: { timeout: '255' } },
      })
      await until(() => s.stats().transfers.failed === 1, 10_000, 'failed')
      expect(events.at(-1)!.error).toMatch(/no ACK for OACK after 2 retransmissions of 30 ms/)
    })

    it('write requests are refused with ERROR 2', async () => {
      const s = await start()
      const r = await exchange(
        s.address,
        encodeTftp({ op: 'wrq', filename: 'x', mode: 'octet', options: {} }),
      )
      expect(decodeTftp(r!.reply)).toEqual({
        ok: true,
        value: { op: 'error', code: 2, message: 'write requests are not accepted' },
      })
      expect(s.stats().refused).toBe(1)
    })

    it('mail mode is refused with ERROR 4', async () => {
      const s = await start()
      const r = await exchange(
        s.address,
        encodeTftp({ op: 'rrq', filename: 'one.bin', mode: 'mail', options: {} }),
      )
      expect(decodeTftp(r!.reply)).toMatchObject({ ok: true, value: { op: 'error', code: 4 } })
    })

    it('a missing file: ERROR 1 from a new TID, a failed event naming the file', async () => {
      const s = await start()
      const r = await tftpGet({ port: s.address.port, file: 'nope.efi' })
      expect(r.error).toEqual({ code: 1, message: "'nope.efi' not found (generated files)" })
      expect(r.server!.port).not.toBe(s.address.port)
      expect(events).toEqual([expect.objectContaining({ kind: 'failed', file: 'nope.efi' })])
    })

    it('maxTransfers: the next request is told "server busy", and is served once a slot frees', async () => {
      // 500 ms x 3 holds each slot long enough that the third request surely meets both, even on a loaded
      // machine where session threads time out while this thread is still sending the requests.
      const s = await start({ maxTransfers: 2, timeoutMs: 500, retries: 2 })
      const rrq = encodeTftp({ op: 'rrq', filename: 'medium.bin', mode: 'octet', options: {} })
      // Two clients that take block 1 and vanish hold both slots until their sessions time out.
      await exchange(s.address, rrq)
      await exchange(s.address, rrq)
      const busy = await exchange(s.address, rrq)
      expect(decodeTftp(busy!.reply)).toEqual({
        ok: true,
        value: { op: 'error', code: 0, message: 'server busy' },
      })
      await until(() => s.stats().transfers.failed === 2, 10_000, 'slots free')
      const r = await tftpGet({ port: s.address.port, file: 'small.bin' })
      expect(sha256(r.data)).toBe(sha256(files['small.bin']!))
    })

    it('an RRQ flood from many ports is bounded by maxTransfers', async () => {
      const s = await start({ maxTransfers: 8, timeoutMs: 50, retries: 1 })
      const rrq = encodeTftp({ op: 'rrq', filename: 'medium.bin', mode: 'octet', options: {} })
      const sockets = await Promise.all(
        Array.from({ length: 100 }, async () => {
          const sock = dgram.createSocket('udp4')
          await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()))
          return sock
        }),
      )
      for (const sock of sockets) sock.send(rrq, s.address.port, '127.0.0.1')
      await until(() => s.stats().received === 100, 10_000, 'all requests received')
      await until(() => s.stats().transfers.active === 0 && tracker.open.size === 1, 10_000, 'flood drained')
      for (const sock of sockets) sock.close()
      const st = s.stats()
      expect(tracker.created() - 1).toBeLessThanOrEqual(100) // never more than one socket per request
      expect(st.transfers.failed).toBeLessThanOrEqual(100)
      expect(st.refused + st.transfers.failed).toBe(100)
      expect(events.filter((e) => e.kind === 'start').length).toBe(st.transfers.failed)
      expect(st.refused).toBeGreaterThan(0)
      let active = 0
      let peak = 0
      for (const e of events) {
        active += e.kind === 'start' ? 1 : e.kind === 'progress' ? 0 : -1
        peak = Math.max(peak, active)
      }
      expect(peak).toBeLessThanOrEqual(8)
      const r = await tftpGet({ port: s.address.port, file: 'small.bin' })
      expect(sha256(r.data)).toBe(sha256(files['small.bin']!))
    })

    it('close() ends transfers, closes every socket, and the port goes quiet', async () => {
      const s = await start({ timeoutMs: 5000 })
      const rrq = encodeTftp({ op: 'rrq', filename: 'medium.bin', mode: 'octet', options: {} })
      await exchange(s.address, rrq)
      await until(() => s.stats().transfers.active === 1, 5000, 'a transfer')
      await s.close()
      expect(tracker.open.size).toBe(0)
      expect(s.stats().transfers).toMatchObject({ active: 0, aborted: 1 })
      expect(await exchange(s.address, rrq, 300)).toBeNull()
      server = null
    })
  })
})
