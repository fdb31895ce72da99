/** Streaming, ranges, validators and aborts of the provisioning server's file sender, over loopback. */
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, readlinkSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { type IncomingHttpHeaders, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type HttpBootEvent,
  type ProvisioningResolver,
  type ProvisioningServer,
  startProvisioningServer,
} from '../../electron/core/boot/http/server'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

interface Reply {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
}
function fetchRaw(
  url: string,
  o: { method?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: o.method ?? 'GET', headers: o.headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      )
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

/** Descriptors this process holds on `path` (the server runs in the test process). */
function openFds(path: string): number {
  let n = 0
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === path) n++
    } catch {
      // the fd closed while we looked
    }
  }
  return n
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`gave up waiting for ${what}`)
}

// Both body paths: streamed through the main thread, and the sendfile(2) threads (Linux) for bodies from 256 KiB.
const paths = [
  { path: 'streamed', sendfileThreads: 0 },
  ...(process.platform === 'linux' ? [{ path: 'sendfile', sendfileThreads: 1 }] : []),
]

describe.each(paths)('sendFile over HTTP ($path)', ({ path, sendfileThreads }) => {
  let dir: string
  let server: ProvisioningServer
  let data: Buffer
  const events: HttpBootEvent[] = []
  let clock = 0
  const big = () => join(dir, 'big.img')
  const BIG = 2 ** 40

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rb-http-send-'))
    data = randomBytes(1024 * 1024 + 123)
    writeFileSync(join(dir, 'vmlinuz'), data)
    writeFileSync(join(dir, 'empty'), '')
    // Sparse 1 TiB (no disk used): far beyond any socket buffer, and far too big to read to the end, so a
    // server that merely unpipes instead of destroying the stream would hold the descriptor for minutes.
    writeFileSync(big(), '')
    truncateSync(big(), BIG)
    const resolver: ProvisioningResolver = {
      nodeByMac: (mac) =>
        mac === '52:54:00:00:00:01'
          ? { name: 'n1', macs: [mac], ipv4: null, image: 'x', kernelArgs: '', assetKey: null }
          : null,
      artifact: async (node, kind) =>
        node && kind === 'kernel' ? { path: join(dir, 'vmlinuz'), name: 'vmlinuz' } : null,
      unknownNodePolicy: () => 'wait',
      status: () => ({}),
    }
    server = await startProvisioningServer({
      host: '127.0.0.1',
      port: 0,
      resolver,
      filesRoot: dir,
      onEvent: (e) => events.push(e),
      // Streamed: every read advances the clock by a second, so each chunk past the first is due a progress
      // event. The sendfile threads use their own clock; 0 makes every round that moved bytes report.
      progressIntervalMs: sendfileThreads > 0 ? 0 : 1000,
      now: () => (clock += 1000),
      sendfileThreads,
    })
  })
  afterAll(async () => {
    await server?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('GET streams the whole file with validators', async () => {
    const r = await fetchRaw(`${server.url}/kernel/52-54-00-00-00-01`)
    expect(r.status).toBe(200)
    expect(sha(r.body)).toBe(sha(data))
    expect(r.headers['content-length']).toBe(String(data.length))
    expect(r.headers['accept-ranges']).toBe('bytes')
    expect(r.headers['etag']).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/)
    expect(r.headers['last-modified']).toBeTruthy()
    expect(r.headers['content-type']).toBe('application/octet-stream')
  })

  it('HEAD gives the headers and no body, and ignores Range', async () => {
    const r = await fetchRaw(`${server.url}/files/vmlinuz`, {
      method: 'HEAD',
      headers: { Range: 'bytes=0-9' },
    })
    expect(r.status).toBe(200)
    expect(r.headers['content-length']).toBe(String(data.length))
    expect(r.body.length).toBe(0)
  })

  it.each([
    ['bytes=0-99', 0, 99],
    ['bytes=1000-', 1000, 1024 * 1024 + 122],
    ['bytes=-500', 1024 * 1024 + 123 - 500, 1024 * 1024 + 122],
    ['bytes=1048000-99999999', 1048000, 1024 * 1024 + 122],
  ])('Range %s -> 206 with the right bytes', async (range, start, end) => {
    const r = await fetchRaw(`${server.url}/files/vmlinuz`, { headers: { Range: range } })
    expect(r.status).toBe(206)
    expect(r.headers['content-range']).toBe(`bytes ${start}-${end}/${data.length}`)
    expect(r.headers['content-length']).toBe(String(end - start + 1))
    expect(sha(r.body)).toBe(sha(data.subarray(start, end + 1)))
  })

  it('unsatisfiable Range -> 416 with bytes */size', async () => {
    for (const range of [`bytes=${data.length}-`, 'bytes=-0']) {
      const r = await fetchRaw(`${server.url}/files/vmlinuz`, { headers: { Range: range } })
      expect(r.status).toBe(416)
      expect(r.headers['content-range']).toBe(`bytes */${data.length}`)
    }
    const empty = await fetchRaw(`${server.url}/files/empty`, { headers: { Range: 'bytes=0-' } })
    expect(empty.status).toBe(416)
    expect(empty.headers['content-range']).toBe('bytes */0')
  })

  it('several ranges -> the whole file with 200', async () => {
    const r = await fetchRaw(`${server.url}/files/vmlinuz`, { headers: { Range: 'bytes=0-1,10-20' } })
    expect(r.status).toBe(200)
    expect(sha(r.body)).toBe(sha(data))
  })

  it('an empty file is 200 with Content-Length 0', async () => {
    const r = await fetchRaw(`${server.url}/files/empty`)
    expect(r.status).toBe(200)
    expect(r.headers['content-length']).toBe('0')
  })

  it('If-None-Match / If-Modified-Since -> 304; stale validators -> 200', async () => {
    const first = await fetchRaw(`${server.url}/files/vmlinuz`, { method: 'HEAD' })
    const etag = String(first.headers['etag'])
    const lastModified = String(first.headers['last-modified'])
    const byTag = await fetchRaw(`${server.url}/files/vmlinuz`, { headers: { 'If-None-Match': etag } })
    expect(byTag.status).toBe(304)
    expect(byTag.body.length).toBe(0)
    expect(byTag.headers['etag']).toBe(etag)
    const byDate = await fetchRaw(`${server.url}/files/vmlinuz`, {
      headers: { 'If-Modified-Since': lastModified },
    })
    expect(byDate.status).toBe(304)
    const stale = await fetchRaw(`${server.url}/files/vmlinuz`, { headers: { 'If-None-Match': '"0-0"' } })
    expect(stale.status).toBe(200)
    expect(sha(stale.body)).toBe(sha(data))
    const old = await fetchRaw(`${server.url}/files/vmlinuz`, {
      headers: { 'If-Modified-Since': 'Thu, 01 Jan 1998 00:00:00 GMT' },
    })
    expect(old.status).toBe(200)
  })

  it('If-Range: a matching etag keeps the range, another one gets the whole file', async () => {
    const etag = String((await fetchRaw(`${server.url}/files/vmlinuz`, { method: 'HEAD' })).headers['etag'])
    const same = await fetchRaw(`${server.url}/files/vmlinuz`, {
      headers: { Range: 'bytes=10-19', 'If-Range': etag },
    })
    expect(same.status).toBe(206)
    expect(sha(same.body)).toBe(sha(data.subarray(10, 20)))
    const other = await fetchRaw(`${server.url}/files/vmlinuz`, {
      headers: { Range: 'bytes=10-19', 'If-Range': '"0-0"' },
    })
    expect(other.status).toBe(200)
    expect(other.body.length).toBe(data.length)
  })

  it('reports throttled progress and one final event with every byte', async () => {
    events.length = 0
    await fetchRaw(`${server.url}/kernel/52-54-00-00-00-01`)
    // The client can see the end of the body before the server's pipeline has settled.
    await until('the final kernel event', () => events.some((e) => e.route === 'kernel' && e.done))
    const mine = events.filter((e) => e.route === 'kernel')
    expect(mine[0]).toMatchObject({
      mac: '52:54:00:00:00:01',
      node: 'n1',
      bytes: 0,
      total: data.length,
      done: false,
    })
    const progress = mine.filter((e) => !e.done && e.bytes > 0)
    // 1 MiB can leave in one sendfile() call on loopback; the 1 TiB test below covers that path's progress.
    if (path === 'streamed') expect(progress.length).toBeGreaterThan(1)
    for (let i = 1; i < progress.length; i++)
      expect(progress[i]!.bytes).toBeGreaterThan(progress[i - 1]!.bytes)
    expect(mine.at(-1)).toMatchObject({
      status: 200,
      bytes: data.length,
      total: data.length,
      done: true,
      aborted: false,
    })
    expect(mine.filter((e) => e.done)).toHaveLength(1)
  })

  it.skipIf(process.platform !== 'linux')(
    'a client that leaves mid-file closes the file descriptor',
    async () => {
      events.length = 0
      const before = openFds(big())
      expect(before).toBe(0)
      await new Promise<void>((resolve, reject) => {
        const req = request(`${server.url}/files/big.img`, { agent: false }, (res) => {
          const onData = () => {
            // Sendfile: read until the thread has reported progress, so we know it is the one sending.
            if (path === 'sendfile' && !events.some((e) => e.total === BIG && !e.done && e.bytes > 0)) return
            res.off('data', onData)
            // The server is mid-file now: the descriptor must be open (sendfile: ours and the thread's
            // dup of it), then the client vanishes.
            const fds = openFds(big())
            req.destroy()
            if (fds === (path === 'sendfile' ? 2 : 1)) resolve()
            else reject(new Error(`${fds} descriptors open on the file mid-transfer`))
          }
          res.on('data', onData)
        })
        req.on('error', (e) => (e.message.includes('socket hang up') ? undefined : reject(e)))
        req.end()
      })
      await until('the aborted transfer event', () => events.some((e) => e.total === BIG && e.done))
      const done = events.find((e) => e.total === BIG && e.done)!
      expect(done.aborted).toBe(true)
      expect(done.bytes).toBeLessThan(BIG)
      expect(done.total).toBe(BIG)
      await until('the file descriptor to close', () => openFds(big()) === 0)
      expect(openFds(big())).toBe(0)
    },
  )
})
