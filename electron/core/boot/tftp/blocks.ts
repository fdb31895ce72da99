/**
 * Blocks of one transfer, read on demand with a bounded read-ahead. Only blocks the client has not yet
 * acknowledged are kept, so memory stays near (window + read-ahead) × blksize whatever the file size.
 */
import type { TftpFile } from './files'

/** Sequential bytes of a transfer; `pull` returns fewer than asked only at the end. */
export interface ByteSource {
  pull(length: number): Promise<Buffer>
}

export function octetSource(file: TftpFile): ByteSource {
  let offset = 0
  return {
    async pull(length) {
      const parts: Buffer[] = []
      let got = 0
      // A provider may return short reads before the end; keep reading until the end or `length`.
      while (got < length && offset < file.size) {
        const chunk = await file.read(offset, Math.min(length - got, file.size - offset))
        if (chunk.length === 0) break
        parts.push(chunk)
        got += chunk.length
        offset += chunk.length
      }
      return parts.length === 1 ? parts[0]! : Buffer.concat(parts, got)
    },
  }
}

/**
 * RFC 1350 netascii from a Unix file: LF -> CR LF, CR -> CR NUL. Each byte maps on its own, so chunk
 * boundaries need no state.
 */
export function toNetascii(input: Buffer): Buffer {
  let extra = 0
  for (const b of input) if (b === 0x0a || b === 0x0d) extra++
  if (extra === 0) return input
  const out = Buffer.allocUnsafe(input.length + extra)
  let j = 0
  for (const b of input) {
    if (b === 0x0a) {
      out[j++] = 0x0d
      out[j++] = 0x0a
    } else if (b === 0x0d) {
      out[j++] = 0x0d
      out[j++] = 0x00
    } else out[j++] = b
  }
  return out
}

export function netasciiSource(file: TftpFile, chunk = 64 * 1024): ByteSource {
  const raw = octetSource(file)
  let pending: Buffer = Buffer.alloc(0)
  let eof = false
  return {
    async pull(length) {
      while (pending.length < length && !eof) {
        const input = await raw.pull(chunk)
        if (input.length < chunk) eof = true
        pending = Buffer.concat([pending, toNetascii(input)])
      }
      const out = pending.subarray(0, length)
      pending = pending.subarray(out.length)
      return out
    },
  }
}

/**
 * Numbered blocks (1-based, absolute: the 16-bit wire number is the low bits) cut from a ByteSource. The last
 * block is the first one shorter than blksize, possibly empty (RFC 1350 §6).
 */
export class BlockSource {
  private readonly blocks = new Map<number, Buffer>()
  private produced = 0
  /** Every block up to here is released; blocks are released in order, so only the gap above is walked. */
  private releasedUpTo = 0
  private lastBlock: number | null = null
  private inflight: Promise<void> | null = null
  private prefetchError: unknown = null

  /**
   * @param readAhead blocks to read beyond the one asked for, so the next window is ready when its ACK comes
   * @param chunkBlocks blocks per provider read, to keep reads large even at blksize 512
   */
  constructor(
    private readonly source: ByteSource,
    private readonly blksize: number,
    private readonly readAhead: number,
    private readonly chunkBlocks = Math.max(1, Math.ceil((64 * 1024) / blksize)),
  ) {}

  /** Number of the final block once it has been read, else null. */
  get final(): number | null {
    return this.lastBlock
  }

  /**
   * Block `n` if it is already in memory, without waiting (the common case inside a window), else undefined.
   * Starts the next read-ahead like `get`. Saves a promise and a microtask per packet on the hot path.
   */
  ready(n: number): Buffer | undefined {
    const block = this.blocks.get(n)
    if (block !== undefined) this.prefetch(n)
    return block
  }

  /** Block `n`, or null past the end. Rejects when the provider fails. */
  async get(n: number): Promise<Buffer | null> {
    while (!this.blocks.has(n)) {
      if (this.lastBlock !== null && n > this.lastBlock) return null
      if (n <= this.produced) throw new Error(`block ${n} was already released`)
      if (this.prefetchError !== null) {
        const e = this.prefetchError
        this.prefetchError = null
        throw e
      }
      await this.step()
    }
    const block = this.blocks.get(n)!
    this.prefetch(n)
    return block
  }

  private prefetch(n: number): void {
    if (this.lastBlock === null && !this.inflight && this.produced < n + this.readAhead) {
      this.step().catch((e: unknown) => (this.prefetchError = e))
    }
  }

  /**
   * Forgets blocks up to and including `n` (the client acknowledged them). Called once per ACK: walking only
   * the newly acknowledged numbers keeps it O(1) per block instead of O(blocks held) (128 at blksize 512).
   */
  release(n: number): void {
    for (let k = this.releasedUpTo + 1; k <= n; k++) this.blocks.delete(k)
    if (n > this.releasedUpTo) this.releasedUpTo = n
  }

  private step(): Promise<void> {
    this.inflight ??= this.readChunk().finally(() => (this.inflight = null))
    return this.inflight
  }

  private async readChunk(): Promise<void> {
    if (this.lastBlock !== null) return
    const want = this.chunkBlocks * this.blksize
    const data = await this.source.pull(want)
    for (let off = 0; off + this.blksize <= data.length; off += this.blksize) {
      this.blocks.set(++this.produced, data.subarray(off, off + this.blksize))
    }
    if (data.length < want) {
      const tail = data.length % this.blksize
      this.blocks.set(++this.produced, data.subarray(data.length - tail))
      this.lastBlock = this.produced
    }
  }
}
