/**
 * The simulated firmware's transfers on loopback: TFTP as EDK2 asks for it (tsize probe, blksize 1468,
 * windowsize 4) against Rackboot's TFTP server, lock-step against a server that grants no window, and the
 * iPXE-like HTTP fetch checking bodies byte for byte against a reference.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { startTftpServer, type TftpServer } from '../../electron/core/boot/tftp/server'
import { diskProvider } from '../../electron/core/boot/tftp/files'
import type { TftpEvent } from '../../electron/core/boot/tftp/session'
import { tftpFetch } from '../../electron/core/sim/tftp-client'
import { ipxeSession } from '../../electron/core/sim/http-client'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

describe('simulated firmware transfers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-sim-clients-'))
  // 700 blocks of 1468 and a bit: ends with a short block, like ipxe.efi.
  const file = randomBytes(1468 * 700 + 321)
  writeFileSync(join(dir, 'ipxe.efi'), file)
  const events: TftpEvent[] = []
  let tftp: TftpServer
  let lockstep: TftpServer
  let http: Server
  beforeAll(async () => {
    tftp = await startTftpServer({
      host: '127.0.0.1',
      port: 0,
      provider: diskProvider(dir),
      onEvent: (e) => events.push(e),
    })
    lockstep = await startTftpServer({
      host: '127.0.0.1',
      port: 0,
      provider: diskProvider(dir),
      maxWindowsize: 1,
    })
    http = createServer((_, res) => res.end(file))
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
  })
  afterAll(async () => {
    await tftp?.close()
    await lockstep?.close()
    await new Promise((r) => http?.close(r))
    rmSync(dir, { recursive: true, force: true })
  })

  const fetch = (port: number) =>
    tftpFetch({
      server: '127.0.0.1',
      port,
      localAddress: '127.0.0.1',
      file: 'ipxe.efi',
      blksize: 1468,
      windowsize: 4,
      tsizeProbe: true,
      timeoutMs: 1000,
      retries: 6,
      attempts: 3,
      signal: new AbortController().signal,
    })

  it('EDK2-style: the window the server grants, every byte, probe + one RRQ', async () => {
    const r = await fetch(tftp.address.port)
    expect(r).toEqual({ ok: true, value: { bytes: file.length, sha256: sha(file), attempts: 2 } })
    expect(events.filter((e) => e.windowsize !== undefined).map((e) => e.windowsize)).toContain(4)
    // The server's 'done' follows the client's final ACK.
    await vi.waitFor(() => expect(events.find((e) => e.kind === 'done')?.bytes).toBe(file.length))
  })

  it('falls back to lock-step when the OACK grants no window', async () => {
    const r = await fetch(lockstep.address.port)
    expect(r.ok && r.value.sha256).toBe(sha(file))
  })

  it('HTTP bodies compared with a reference: its sha256 on a match, the first differing byte otherwise', async () => {
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/image`
    const s = ipxeSession('127.0.0.1', 10_000)
    try {
      const same = await s.get('image', url, { bytes: file, sha256: 'the-reference-sha' })
      expect(same.sha256).toBe('the-reference-sha')
      const other = Buffer.from(file)
      other[1_000_000] = other[1_000_000]! ^ 1
      const diff = await s.get('image', url, { bytes: other, sha256: 'x' })
      expect(diff.sha256).toBe('differs from the served file at byte 1000000')
      const short = await s.get('image', url, { bytes: Buffer.concat([file, Buffer.of(0)]), sha256: 'x' })
      expect(short.sha256).toBe(`${file.length} bytes where the served file has ${file.length + 1}`)
      expect((await s.get('image', url)).sha256).toBe(sha(file))
    } finally {
      s.close()
    }
  })
})
