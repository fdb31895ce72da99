import { describe, expect, it } from 'vitest'
import { toNetascii } from '../../electron/core/boot/tftp/blocks'
import { ChunkedFile } from '../../electron/core/boot/tftp/sync-file'

describe('toNetascii', () => {
  it('LF -> CR LF, CR -> CR NUL, other bytes unchanged', () => {
    expect(toNetascii(Buffer.from('a\nb\rc\r\n')).toString('latin1')).toBe('a\r\nb\r\0c\r\0\r\n')
    expect(toNetascii(Buffer.from([0, 255, 9]))).toEqual(Buffer.from([0, 255, 9]))
  })
})

describe('ChunkedFile', () => {
  /** A file whose reads are answered when the test says (deliverAll), like a provider on another thread. */
  function rig(size: number, chunk: number) {
    const data = Buffer.alloc(size)
    for (let i = 0; i < size; i++) data[i] = (i * 31) & 0xff
    const asked: [number, number][] = []
    const file = new ChunkedFile(size, chunk, (offset, length) => asked.push([offset, length]))
    const deliverAll = () => {
      for (const [offset, length] of asked.splice(0))
        file.deliver(offset, data.subarray(offset, offset + length), null)
    }
    return { data, asked, file, deliverAll }
  }

  it('asks for the chunk a block is in and the next one, and answers once they arrived', () => {
    const r = rig(10_000, 4096)
    expect(r.file.bytes(0, 512)).toBeNull()
    expect(r.asked).toEqual([
      [0, 4096],
      [4096, 4096],
    ])
    r.deliverAll()
    expect(r.file.bytes(0, 512)).toEqual(r.data.subarray(0, 512))
    // A block across the chunk boundary is put together from both.
    expect(r.file.bytes(4000, 512)).toEqual(r.data.subarray(4000, 4512))
    expect(r.asked).toEqual([])
    expect(r.file.bytes(4608, 512)).toEqual(r.data.subarray(4608, 5120))
    expect(r.asked).toEqual([[8192, 10_000 - 8192]]) // the read-ahead moved on, short at the end
    r.deliverAll()
    expect(r.file.bytes(9728, 272)).toEqual(r.data.subarray(9728, 10_000)) // the short last block
  })

  it('a block spanning two chunks gets a buffer of its own (a waiting dgram send still holds the last one)', () => {
    const r = rig(20_000, 4096)
    r.file.bytes(0, 512)
    r.deliverAll()
    const first = r.file.bytes(4000, 512)!
    const copy = Buffer.from(first)
    r.file.bytes(4608, 512)
    r.deliverAll()
    const second = r.file.bytes(8000, 512)!
    expect(second).toEqual(r.data.subarray(8000, 8512))
    expect(first).toEqual(copy)
  })

  it('drops chunks below what was acknowledged and never asks for a chunk twice', () => {
    const r = rig(20_000, 4096)
    r.file.bytes(0, 512)
    r.deliverAll()
    r.file.release(8192)
    expect(r.file.bytes(8192, 512)).toBeNull()
    expect(r.asked).toEqual([
      [8192, 4096],
      [12288, 4096],
    ])
    expect(r.file.bytes(4096, 512)).toBeNull() // released: gone, and not asked again
    expect(r.asked.length).toBe(2)
  })

  it('a provider error, or fewer bytes than the size promised, is the failure', () => {
    const r = rig(10_000, 4096)
    r.file.bytes(0, 512)
    r.file.deliver(0, null, 'EIO: disk went away')
    expect(r.file.failure).toBe('EIO: disk went away')
    const s = rig(10_000, 4096)
    s.file.bytes(0, 512)
    s.file.deliver(0, s.data.subarray(0, 100), null)
    expect(s.file.failure).toBe('the file shrank: nothing to read at byte 100 of 10000')
  })
})
