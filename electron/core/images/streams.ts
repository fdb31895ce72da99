/** Byte plumbing for imports: compression sniffing, digest-checked reads, hashed copies. */
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { PassThrough, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import * as zlib from 'node:zlib'
import { RackbootError } from '../util/result'

export type Compression = 'none' | 'gzip' | 'zstd' | 'xz' | 'bzip2'

/** First bytes of each format (RFC 1952 §2.3.1 for gzip, RFC 8878 §3.1.1 for zstd). */
export async function sniffCompression(path: string): Promise<Compression> {
  const fh = await open(path, 'r')
  try {
    const head = Buffer.alloc(6)
    const { bytesRead } = await fh.read(head, 0, 6, 0)
    const b = head.subarray(0, bytesRead)
    if (b[0] === 0x1f && b[1] === 0x8b) return 'gzip'
    if (b.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'zstd'
    if (b.equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz'
    if (b.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2'
    return 'none'
  } finally {
    await fh.close()
  }
}

/** zlib's zstd arrived in Node 22.15 / 23.8; Node 20 has none. Looked up at call time, never cached. */
function zstdDecompressor(): (() => Transform) | null {
  const make = (zlib as unknown as { createZstdDecompress?: () => Transform }).createZstdDecompress
  return typeof make === 'function' ? () => make() : null
}

export interface ReadOptions {
  /** Names the file in errors. */
  label: string
  /** `sha256:<hex>` to verify the raw bytes against, or null. */
  digest?: string | null
  onBytes?: (n: number) => void
  signal?: AbortSignal
}

/** The decompressed bytes of a tar, gzip tar or (when Node has it) zstd tar, checking the digest of the
 * stored bytes on the way. Errors name the file and say how to fix it. */
export async function* readDecompressed(path: string, o: ReadOptions): AsyncGenerator<Buffer> {
  const kind = await sniffCompression(path)
  const stages: Transform[] = []
  if (kind === 'gzip') stages.push(zlib.createGunzip())
  else if (kind === 'zstd') {
    const make = zstdDecompressor()
    if (make === null)
      throw new RackbootError(
        `${o.label} is zstd-compressed and this Node.js (${process.version}) has no zstd support`,
        'unsupported-compression',
        're-export the image with gzip layers, e.g. `skopeo copy --dest-compress-format gzip` or `docker save`',
      )
    stages.push(make())
  } else if (kind !== 'none')
    throw new RackbootError(
      `${o.label} is ${kind}-compressed; only tar, gzip and zstd are supported`,
      'unsupported-compression',
    )

  const hash = createHash('sha256')
  const expected = o.digest ?? null
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk)
      o.onBytes?.(chunk.length)
      cb(null, chunk)
    },
    flush(cb) {
      if (expected === null || !expected.startsWith('sha256:')) return cb()
      const got = `sha256:${hash.digest('hex')}`
      if (got === expected) return cb()
      cb(
        new RackbootError(
          `${o.label}: content is ${got}, expected ${expected} (truncated or corrupted copy)`,
          'bad-archive',
          'copy or pull the image again',
        ),
      )
    },
  })
  const out = new PassThrough()
  const done = pipeline([createReadStream(path), tap, ...stages, out], { signal: o.signal })
  done.catch(() => {}) // surfaces through `out`
  try {
    for await (const chunk of out) yield chunk as Buffer
    await done
  } catch (e) {
    if (o.signal?.aborted) throw o.signal.reason
    if (e instanceof RackbootError) throw e
    const msg = (e as Error).message
    throw new RackbootError(`${o.label}: ${kind} data truncated or corrupt (${msg})`, 'bad-archive')
  } finally {
    out.destroy()
  }
}

/** A pass-through that hashes and counts what goes by. */
export function hashingTap(onBytes?: (n: number) => void): {
  tap: Transform
  result: () => { size: number; sha256: string }
} {
  const hash = createHash('sha256')
  let size = 0
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk)
      size += chunk.length
      onBytes?.(chunk.length)
      cb(null, chunk)
    },
  })
  return { tap, result: () => ({ size, sha256: hash.digest('hex') }) }
}

/** Copies a file, hashing it in the same pass. */
export async function copyHashed(
  from: string,
  to: string,
  o: { signal?: AbortSignal; onBytes?: (n: number) => void } = {},
): Promise<{ size: number; sha256: string }> {
  const { tap, result } = hashingTap(o.onBytes)
  await pipeline(createReadStream(from), tap, createWriteStream(to, { flags: 'wx' }), { signal: o.signal })
  return result()
}
