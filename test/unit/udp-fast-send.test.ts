import dgram from 'node:dgram'
import { afterEach, describe, expect, it } from 'vitest'
import { loadSendLib, MmsgStaging, openUdpBatch, udpSocketFd } from '../../electron/core/net/udp-fast-send'

const sockets: dgram.Socket[] = []

async function bound(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4')
  sockets.push(s)
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()))
  return s
}

/** Resolves with the next `count` datagrams `s` receives, as hex, in arrival order. */
function receive(s: dgram.Socket, count: number): Promise<string[]> {
  return new Promise((resolve) => {
    const got: string[] = []
    const on = (msg: Buffer) => {
      got.push(msg.toString('hex'))
      if (got.length === count) {
        s.off('message', on)
        resolve(got)
      }
    }
    s.on('message', on)
  })
}

afterEach(async () => {
  await Promise.all(sockets.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))))
})

const linux64 = process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64')

describe.each([
  ['sendmmsg', false],
  ['portable', true],
] as const)('UDP batch (%s)', (_name, portable) => {
  it('sends head+body datagrams in order, byte for byte, and reuses the batch after flush', async () => {
    const [from, to] = [await bound(), await bound()]
    const batch = openUdpBatch(from, { capacity: 3, maxDatagram: 1472, portable })
    if (!portable) expect(batch.fast).toBe(linux64)
    const peer = { address: '127.0.0.1', port: to.address().port }
    const head = Buffer.from([0, 3, 0, 0])
    const bodies = [Buffer.alloc(1468, 0xa5), Buffer.from('tail'), Buffer.alloc(0)]
    const want = bodies.map((b, i) => Buffer.concat([Buffer.from([0, 3, 0, i + 1]), b]).toString('hex'))
    const arrived = receive(to, 4)
    bodies.forEach((b, i) => {
      head[3] = i + 1 // the caller reuses its header buffer: push must have copied it
      expect(batch.push(head, b)).toBe(true)
    })
    expect(batch.push(head, bodies[0])).toBe(false) // full
    expect(batch.pending()).toBe(3)
    batch.flush(peer)
    expect(batch.pending()).toBe(0)
    expect(batch.push(Buffer.from('again'))).toBe(true)
    batch.flush(peer)
    expect(await arrived).toEqual([...want, Buffer.from('again').toString('hex')])
  })

  it('follows a change of peer between flushes', async () => {
    const [from, a, b] = [await bound(), await bound(), await bound()]
    const batch = openUdpBatch(from, { capacity: 1, maxDatagram: 64, portable })
    const atA = receive(a, 1)
    const atB = receive(b, 1)
    batch.push(Buffer.from('to-a'))
    batch.flush({ address: '127.0.0.1', port: a.address().port })
    batch.push(Buffer.from('to-b'))
    batch.flush({ address: '127.0.0.1', port: b.address().port })
    expect(await atA).toEqual([Buffer.from('to-a').toString('hex')])
    expect(await atB).toEqual([Buffer.from('to-b').toString('hex')])
  })

  it('refuses a datagram larger than its slot', async () => {
    const batch = openUdpBatch(await bound(), { capacity: 2, maxDatagram: 8, portable })
    expect(() => batch.push(Buffer.alloc(4), Buffer.alloc(5))).toThrow(
      /9-byte datagram exceeds the 8-byte slot/,
    )
    expect(batch.pending()).toBe(0)
  })
})

describe('udpSocketFd', () => {
  it.skipIf(process.platform === 'win32')(
    'reads the descriptor of a bound socket, none once closed',
    async () => {
      const s = dgram.createSocket('udp4')
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()))
      const fd = udpSocketFd(s)
      expect(fd).toBeGreaterThan(2)
      await new Promise<void>((r) => s.close(() => r()))
      expect(udpSocketFd(s)).toBeUndefined()
    },
  )
})

describe.skipIf(!linux64)('MmsgStaging with a segment size (UDP GSO)', () => {
  it('a window of full datagrams and a short last one arrives as separate datagrams, byte for byte', async () => {
    const [from, to] = [await bound(), await bound()]
    const lib = loadSendLib()
    expect(lib).not.toBeNull()
    const fd = udpSocketFd(from)!
    const staging = new MmsgStaging(fd, lib!, 8, 1472, 1472)
    staging.setPeer(0x7f000001, to.address().port)
    const want: string[] = []
    for (let i = 1; i <= 5; i++) {
      const d = Buffer.concat([Buffer.from([0, 3, 0, i]), Buffer.alloc(i === 5 ? 100 : 1468, i)])
      want.push(d.toString('hex'))
      expect(staging.push(d.subarray(0, 4), d.subarray(4))).toBe(true)
    }
    const arrived = receive(to, 5)
    expect(staging.send()).toBe(5)
    staging.clear()
    expect(await arrived).toEqual(want)
    expect(staging.segmenting).toBe(true) // loopback takes GSO: the kernel cut them, not a fallback
  })

  it('datagrams of other sizes are not cut at the segment size: they go one by one', async () => {
    const [from, to] = [await bound(), await bound()]
    const staging = new MmsgStaging(udpSocketFd(from)!, loadSendLib()!, 4, 1472, 1472)
    staging.setPeer(0x7f000001, to.address().port)
    const want = ['00060001', '0003000161'] // a short datagram first: not a GSO batch
    staging.push(Buffer.from(want[0]!, 'hex'))
    staging.push(Buffer.from(want[1]!, 'hex'))
    const arrived = receive(to, 2)
    expect(staging.send()).toBe(2)
    expect(await arrived).toEqual(want)
  })
})
