/**
 * The bytes a synchronous TFTP session (sync-session.ts) sends: whole in memory, or arriving in chunks that
 * are asked for just ahead of the transfer. The asking is the driver's: the session threads' epoll loop asks
 * the main thread by message (sync-engine.ts), the dgram driver reads the provider's file (session.ts).
 */

/** The file's bytes as the session sees them. */
export interface SyncFile {
  readonly size: number
  /** `length` bytes at `offset` (fewer at the end), or null when they have not arrived yet. */
  bytes(offset: number, length: number): Buffer | null
  /** Bytes below `offset` are acknowledged and will not be asked for again. */
  release(offset: number): void
  /** Why the bytes cannot come (the provider failed), else null. */
  readonly failure: string | null
}

const EMPTY = Buffer.alloc(0)

export function wholeSyncFile(bytes: Uint8Array): SyncFile {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return {
    size: data.length,
    bytes: (offset, length) => data.subarray(offset, offset + length),
    release: () => {},
    failure: null,
  }
}

/**
 * A file read in chunks of `chunk` bytes, the one after the current one asked for ahead; chunks below what the
 * client acknowledged are dropped, so memory stays near two chunks whatever the size.
 */
export class ChunkedFile implements SyncFile {
  failure: string | null = null
  private readonly chunks = new Map<number, Buffer>()
  private readonly asked = new Set<number>()

  /**
   * @param ask Starts reading `length` bytes at `offset`; the answer comes back through deliver().
   */
  constructor(
    readonly size: number,
    private readonly chunk: number,
    private readonly ask: (offset: number, length: number) => void,
  ) {}

  bytes(offset: number, length: number): Buffer | null {
    if (offset >= this.size) return EMPTY // the empty last block of a file of whole blocks (or of none)
    const size = this.chunk
    const c = Math.floor(offset / size)
    this.want(c)
    this.want(c + 1) // the block's second half, or the read-ahead
    const first = this.chunks.get(c)
    if (!first) return null
    const at = offset - c * size
    if (at + length <= first.length) return first.subarray(at, at + length)
    const second = this.chunks.get(c + 1)
    if (!second) return null
    // A new buffer, not a reused one: a dgram send that has to wait keeps the block it was given.
    return Buffer.concat([first.subarray(at), second.subarray(0, length - (first.length - at))], length)
  }

  release(offset: number): void {
    for (const c of this.chunks.keys()) if ((c + 1) * this.chunk <= offset) this.chunks.delete(c)
  }

  /** The answer to ask(offset, …): the bytes (all of them, fewer only at the end of the file) or an error. */
  deliver(offset: number, bytes: Buffer | null, error: string | null): void {
    if (error !== null) this.failure = error
    else if (bytes) {
      const want = Math.min(this.chunk, this.size - offset)
      if (bytes.length < want)
        this.failure = `the file shrank: nothing to read at byte ${offset + bytes.length} of ${this.size}`
      else this.chunks.set(offset / this.chunk, bytes)
    }
  }

  private want(c: number): void {
    if (c * this.chunk >= this.size || this.asked.has(c)) return
    this.asked.add(c)
    this.ask(c * this.chunk, Math.min(this.chunk, this.size - c * this.chunk))
  }
}
