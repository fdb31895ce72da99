/**
 * Files of more than 65535 blocks: the 16-bit block number rolls over to 0 and keeps counting (what
 * tftp-hpa, atftp, curl and EDK2 expect). The file is streamed from disk, not loaded whole.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { diskProvider } from '../../electron/core/boot/tftp/files'
import { startTftpServer, type TftpServer } from '../../electron/core/boot/tftp/server'
import { missing } from '../support/env'
import { patternBytes, sha256, tftpGet, trackingBinder } from '../support/tftp-client'

const SIZE = 65535 * 512 + 3001 // 65542 blocks at blksize 512
const BLOCKS = Math.floor(SIZE / 512) + 1
let dir: string
let data: Buffer
let server: TftpServer
const tracker = trackingBinder()

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'rbtf-roll-'))
  data = patternBytes(SIZE, 31)
  writeFileSync(path.join(dir, 'big.img'), data)
  server = await startTftpServer({
    host: '127.0.0.1',
    port: 0,
    provider: diskProvider(dir),
    bindSocket: tracker.bind,
    timeoutMs: 1000,
  })
})
afterAll(async () => {
  await server.close()
  expect(tracker.open.size).toBe(0)
  rmSync(dir, { recursive: true, force: true })
})

describe('block number rollover', () => {
  it('lock-step at blksize 512', { timeout: 180_000 }, async () => {
    const r = await tftpGet({ port: server.address.port, file: 'big.img', overallMs: 170_000 })
    expect(r.error).toBeNull()
    expect(r.blocks).toBe(BLOCKS)
    expect(sha256(r.data)).toBe(sha256(data))
  })

  it('windowsize 16 at blksize 512, with a loss right at the wrap', { timeout: 180_000 }, async () => {
    const r = await tftpGet({
      port: server.address.port,
      file: 'big.img',
      options: { blksize: '512', windowsize: '16', tsize: '0' },
      overallMs: 170_000,
      dropData: (block, seen) => seen === 1 && (block === 65535 || block === 65536 || block === 65537),
    })
    expect(r.oack).toEqual({ blksize: '512', windowsize: '16', tsize: String(SIZE) })
    expect(r.error).toBeNull()
    expect(sha256(r.data)).toBe(sha256(data))
  })

  const skip = missing({ commands: ['atftp'] })
  it.skipIf(skip !== null)('atftp 0.8, lock-step, 512-byte blocks', { timeout: 180_000 }, async () => {
    const out = path.join(dir, 'atftp.out')
    await promisify(execFile)(
      'atftp',
      ['-g', '-r', 'big.img', '-l', out, '127.0.0.1', String(server.address.port)],
      {
        timeout: 170_000,
      },
    )
    expect(sha256(readFileSync(out))).toBe(sha256(data))
  })
})
