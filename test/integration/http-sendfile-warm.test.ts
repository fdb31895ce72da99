/**
 * The sendfile threads are ready when the provisioning server is: a node's first large file (its kernel) goes
 * by sendfile(2), not streamed through the main thread while a thread starts (bench:boot saw the first kernel
 * of every lab boot take the slow path).
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ProvisioningServer, startProvisioningServer } from '../../electron/core/boot/http/server'

function get(url: string): Promise<{ status: number; length: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let length = 0
      res.on('data', (c: Buffer) => (length += c.length))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, length }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

describe.skipIf(process.platform !== 'linux')('sendfile threads start with the server', () => {
  let dir: string
  let server: ProvisioningServer
  const size = 2 * 1024 * 1024 + 17

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rb-http-warm-'))
    writeFileSync(join(dir, 'vmlinuz'), randomBytes(size))
    server = await startProvisioningServer({
      host: '127.0.0.1',
      port: 0,
      resolver: {
        nodeByMac: () => null,
        artifact: async () => null,
        unknownNodePolicy: () => 'wait',
        status: () => ({}),
      },
      filesRoot: dir,
      sendfileThreads: 1,
    })
  })
  afterAll(async () => {
    await server?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('the very first large body goes by sendfile', async () => {
    expect(server.stats().sendfileBodies).toBe(0)
    const r = await get(`${server.url}/files/vmlinuz`)
    expect(r).toEqual({ status: 200, length: size })
    expect(server.stats().sendfileBodies).toBe(1)
  })
})
