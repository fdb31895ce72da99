/**
 * The synchronous TFTP session (boot/tftp/sync-session.ts) driven by hand: a fake clock and a fake socket.
 * The real-client and packet-level suites (tftp-real-clients, tftp-protocol) run it through the session
 * threads' epoll loop; these cases cover what a wire cannot provoke on demand: the kernel refusing a send,
 * bytes that arrive late or never, and the deadlines.
 */
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../../electron/core/util/logger'
import type { TftpEvent, TftpOutcome } from '../../electron/core/boot/tftp/session'
import type { SyncFile } from '../../electron/core/boot/tftp/sync-file'
import { SyncSession } from '../../electron/core/boot/tftp/sync-session'

const PEER = { address: '198.18.9.2', port: 40000 }
const limits = { maxBlksize: 1468, maxWindowsize: 64, timeoutMs: 1000, retries: 3 }
const ack = (n: number) => Buffer.from([0, 4, (n >> 8) & 0xff, n & 0xff])

function rig(file: SyncFile, options: Record<string, string> = {}, refuse = () => false) {
  let now = 1000
  const flushes: number[][] = [] // block numbers per flush
  let staged: number[] = []
  const errors: Buffer[] = []
  const events: TftpEvent[] = []
  let outcome: TftpOutcome | null = null
  let closed = 0
  const session = new SyncSession({
    peer: PEER,
    filename: 'f.bin',
    options,
    file,
    limits,
    logger: silentLogger,
    now: () => now,
    io: {
      capacity: 4,
      stage: (head) => void staged.push(head.readUInt16BE(0) === 3 ? head.readUInt16BE(2) : 0),
      flush: () => {
        flushes.push(staged)
        staged = []
        return !refuse()
      },
      send: (packet) => void errors.push(Buffer.from(packet)),
      close: () => void closed++,
    },
    onEvent: (e) => events.push(e),
    onMalformed: () => {},
    onStranger: () => {},
    onEnd: (o) => (outcome = o),
  })
  return {
    session,
    flushes,
    errors,
    events,
    outcome: () => outcome,
    closed: () => closed,
    advance: (ms: number) => {
      now += ms
      if (session.nextDeadline() <= now) session.onDeadline(now)
    },
    from: (msg: Buffer) => session.onDatagram(msg, msg.length, true),
  }
}

const whole = (size: number): SyncFile => {
  const data = Buffer.alloc(size, 7)
  return { size, bytes: (o, l) => data.subarray(o, o + l), release: () => {}, failure: null }
}

describe('SyncSession', () => {
  it('lock-step: one block per ACK, a duplicate ACK sends nothing, the deadline resends', () => {
    const r = rig(whole(512 * 3 + 1))
    expect(r.flushes).toEqual([[1]])
    r.from(ack(1))
    r.from(ack(1)) // duplicate: no Sorcerer's Apprentice
    expect(r.flushes).toEqual([[1], [2]])
    r.advance(1000)
    expect(r.flushes.at(-1)).toEqual([2])
    r.from(ack(2))
    r.from(ack(3))
    r.from(ack(4))
    expect(r.outcome()).toMatchObject({ kind: 'done', bytes: 512 * 3 + 1 })
    expect(r.closed()).toBe(1)
  })

  it('windowed: flushes in batches of the capacity; an ACK inside the window restarts after it', () => {
    const r = rig(whole(512 * 20), { windowsize: '8' })
    expect(r.flushes).toEqual([[0]]) // the OACK (not DATA: recorded as 0)
    r.from(ack(0))
    expect(r.flushes.slice(1)).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ])
    r.from(ack(5)) // 6 was lost
    expect(r.flushes.slice(3)).toEqual([
      [6, 7, 8, 9],
      [10, 11, 12, 13],
    ])
  })

  it('a send the kernel refused is retried within milliseconds and does not use up the retries', () => {
    let refusals = 10
    const r = rig(whole(512 * 4), {}, () => refusals-- > 0)
    for (let i = 0; i < 10; i++) r.advance(2)
    expect(r.outcome()).toBeNull() // ten refusals, three retries: still going
    expect(r.flushes.length).toBe(11)
    r.from(ack(1))
    expect(r.flushes.at(-1)).toEqual([2])
  })

  it('bytes that have not arrived pause the window; onBytes resumes it', () => {
    let have = 512 * 2
    const data = Buffer.alloc(512 * 4, 1)
    const file: SyncFile = {
      size: data.length,
      bytes: (o, l) => (o + l <= have ? data.subarray(o, o + l) : null),
      release: () => {},
      failure: null,
    }
    const r = rig(file, { windowsize: '4' })
    r.from(ack(0))
    expect(r.flushes.at(-1)).toEqual([1, 2])
    have = data.length
    r.session.onBytes()
    expect(r.flushes.at(-1)).toEqual([3, 4])
  })

  it('a provider failure ends the transfer with ERROR 0 naming the file', () => {
    const file: SyncFile = { size: 5000, bytes: () => null, release: () => {}, failure: 'disk on fire' }
    const r = rig(file)
    expect(r.outcome()).toMatchObject({ kind: 'failed', error: "cannot read 'f.bin': disk on fire" })
    expect(r.errors[0]!.readUInt16BE(0)).toBe(5)
    expect(r.errors[0]!.toString('latin1')).toContain('disk on fire')
  })

  it('a silent client: bounded retransmissions, then failed with the reason', () => {
    const r = rig(whole(100))
    for (let i = 0; i < 4; i++) r.advance(1000)
    expect(r.flushes.length).toBe(4) // the first send and three retransmissions
    expect(r.outcome()).toMatchObject({ kind: 'failed' })
    expect(r.outcome()!.error).toMatch(/no ACK for block 1 after 3 retransmissions/)
  })

  it('a stranger gets ERROR 5 and changes nothing; an ERROR from a stranger gets no answer', () => {
    const r = rig(whole(1000))
    const replies: Buffer[] = []
    r.session.onDatagram(ack(1), 4, false, (p) => replies.push(p))
    r.session.onDatagram(Buffer.from([0, 5, 0, 0, 0]), 5, false, (p) => replies.push(p))
    expect(replies.length).toBe(1)
    expect(replies[0]!.readUInt16BE(2)).toBe(5)
    expect(r.errors).toEqual([])
    expect(r.flushes).toEqual([[1]])
    expect(r.outcome()).toBeNull()
  })

  it('OACK answered with ERROR 8 (OVMF asking the size) ends quietly as aborted', () => {
    const r = rig(whole(1000), { tsize: '0' })
    r.from(Buffer.concat([Buffer.from([0, 5, 0, 8]), Buffer.from('tsize only\0')]))
    expect(r.outcome()).toMatchObject({ kind: 'aborted' })
  })
})
