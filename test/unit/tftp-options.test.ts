import { describe, expect, it } from 'vitest'
import { blksizeForMtu, negotiate } from '../../electron/core/boot/tftp/options'

const limits = { maxBlksize: 1468, maxWindowsize: 64 }

describe('negotiate (RFC 2347/2348/2349/7440)', () => {
  it('no options: lock-step 512, no OACK', () => {
    expect(negotiate({}, 10, limits)).toEqual({ blksize: 512, windowsize: 1, timeoutMs: null, oack: {} })
  })
  it('EDK2-style request: tsize answered with the size, blksize and windowsize granted', () => {
    const n = negotiate({ tsize: '0', blksize: '1468', windowsize: '4' }, 1048576, limits)
    expect(n.oack).toEqual({ tsize: '1048576', blksize: '1468', windowsize: '4' })
    expect(Object.keys(n.oack)).toEqual(['tsize', 'blksize', 'windowsize'])
    expect([n.blksize, n.windowsize]).toEqual([1468, 4])
  })
  it('caps blksize at the server maximum and windowsize at 64', () => {
    const n = negotiate({ blksize: '65464', windowsize: '1000' }, 1, limits)
    expect(n.oack).toEqual({ blksize: '1468', windowsize: '64' })
  })
  it('a maxBlksize beyond RFC 2348 is clamped to 65464', () => {
    expect(negotiate({ blksize: '65464' }, 1, { maxBlksize: 100000, maxWindowsize: 64 }).blksize).toBe(65464)
  })
  it('leaves out invalid values instead of refusing the transfer', () => {
    const n = negotiate({ blksize: '7', timeout: '0', windowsize: '0', foo: 'bar', tsize: 'x' }, 5, limits)
    expect(n.oack).toEqual({ tsize: '5' })
    expect([n.blksize, n.windowsize, n.timeoutMs]).toEqual([512, 1, null])
    expect(negotiate({ timeout: '256', blksize: '1e3' }, 5, limits).oack).toEqual({})
  })
  it('timeout 1..255 s is echoed and used', () => {
    const n = negotiate({ timeout: '3' }, 5, limits)
    expect(n.oack).toEqual({ timeout: '3' })
    expect(n.timeoutMs).toBe(3000)
  })
  it('blksizeForMtu: 1500 -> 1468, loopback 65536 -> 65464, tiny -> 8', () => {
    expect([blksizeForMtu(1500), blksizeForMtu(65536), blksizeForMtu(9000), blksizeForMtu(20)]).toEqual([
      1468, 65464, 8968, 8,
    ])
  })
  it('no tsize when the transfer size is unknown (netascii)', () => {
    expect(negotiate({ tsize: '0', blksize: '1024' }, null, limits).oack).toEqual({ blksize: '1024' })
  })
})
