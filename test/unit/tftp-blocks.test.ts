import { describe, expect, it } from 'vitest'
import { BlockSource, netasciiSource, octetSource, toNetascii } from '../../electron/core/boot/tftp/blocks'
import { bufferFile, type TftpFile } from '../../electron/core/boot/tftp/files'

/** Counts provider reads, and returns at most `maxRead` bytes per read like a short-reading provider. */
function countingFile(data: Buffer, maxRead = Infinity) {
  const reads: [number, number][] = []
  const file: TftpFile = {
    size: data.length,
    read: async (offset, length) => {
      reads.push([offset, length])
      return data.subarray(offset, offset + Math.min(length, maxRead))
    },
    close: async () => {},
  }
  return { file, reads }
}

async function allBlocks(src: BlockSource): Promise<Buffer[]> {
  const out: Buffer[] = []
  for (let n = 1; n < 1e6; n++) {
    const b = await src.get(n)
    if (b === null) break
    out.push(b)
    src.release(n)
  }
  return out
}

describe('toNetascii', () => {
  it('LF -> CR LF, CR -> CR NUL, other bytes unchanged', () => {
    expect(toNetascii(Buffer.from('a\nb\rc\r\n')).toString('latin1')).toBe('a\r\nb\r\0c\r\0\r\n')
    expect(toNetascii(Buffer.from([0, 255, 9]))).toEqual(Buffer.from([0, 255, 9]))
  })
})

describe('BlockSource', () => {
  it.each([0, 1, 511, 512, 513, 1024, 5000])('cuts %i bytes into RFC 1350 blocks', async (size) => {
    const data = Buffer.alloc(size, 7)
    const blocks = await allBlocks(new BlockSource(octetSource(bufferFile(data)), 512, 4))
    expect(blocks.length).toBe(Math.floor(size / 512) + 1)
    expect(blocks.at(-1)!.length).toBe(size % 512)
    expect(Buffer.concat(blocks)).toEqual(data)
  })
  it('reads on demand with bounded read-ahead, in large chunks, coping with short reads', async () => {
    const data = Buffer.alloc(10 * 1024 * 1024)
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff
    const { file, reads } = countingFile(data, 100_000)
    const src = new BlockSource(octetSource(file), 1024, 4)
    await src.get(1)
    await new Promise((r) => setTimeout(r, 10))
    const readBytes = reads.reduce((s, [, l]) => s + l, 0)
    expect(readBytes).toBeLessThanOrEqual(2 * 64 * 1024) // not the whole file
    src.release(1)
    const rest: Buffer[] = [data.subarray(0, 1024)]
    for (let n = 2; ; n++) {
      const b = await src.get(n)
      if (b === null) break
      rest.push(b)
      src.release(n)
    }
    expect(Buffer.concat(rest).equals(data)).toBe(true)
  })
  it('serves any block between the last release and what was read (window resend)', async () => {
    const data = Buffer.from(Array.from({ length: 3000 }, (_, i) => i & 0xff))
    const src = new BlockSource(octetSource(bufferFile(data)), 512, 2)
    await src.get(4)
    expect((await src.get(2))!.equals(data.subarray(512, 1024))).toBe(true)
    src.release(3)
    await expect(src.get(3)).rejects.toThrow(/released/)
  })
  it('surfaces provider errors', async () => {
    const file: TftpFile = {
      size: 100,
      read: async () => Promise.reject(new Error('EIO')),
      close: async () => {},
    }
    await expect(new BlockSource(octetSource(file), 512, 2).get(1)).rejects.toThrow('EIO')
  })
  it('netascii blocks reassemble to the converted text', async () => {
    const text = Buffer.from('line one\nline two\r\nbare cr\r'.repeat(200))
    const src = new BlockSource(netasciiSource(bufferFile(text), 100), 512, 4)
    const got = Buffer.concat(await allBlocks(src)).toString('latin1')
    expect(got).toBe(text.toString('latin1').replace(/\r/g, '\r\0').replace(/\n/g, '\r\n'))
  })
})
