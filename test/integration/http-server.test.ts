/** The provisioning server's routes over loopback: scripts, artifacts, policies, refusals, keep-alive, close. */
import { createHash } from 'node:crypto'
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { Agent, type IncomingHttpHeaders, type IncomingMessage, request } from 'node:http'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  type BootNodeView,
  type HttpBootEvent,
  type ProvisioningResolver,
  type ProvisioningServer,
  type ProvisioningServerOptions,
  startProvisioningServer,
} from '../../electron/core/boot/http/server'

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')
const fixture = (name: string) => readFileSync(join(__dirname, '../fixtures/ipxe', name), 'utf8')

interface Reply {
  status: number
  headers: IncomingHttpHeaders
  text: string
  body: Buffer
  reused: boolean
}
function get(url: string, o: { method?: string; agent?: Agent; headers?: Record<string, string> } = {}) {
  return new Promise<Reply>((resolve, reject) => {
    const req = request(
      url,
      { method: o.method ?? 'GET', agent: o.agent ?? false, headers: o.headers },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const body = Buffer.concat(chunks)
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            text: body.toString(),
            reused: req.reusedSocket,
          })
        })
      },
    )
    req.on('error', reject)
    req.end()
  })
}

/** Sends bytes as they are (no client-side normalisation) and returns the status line and body. */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(bytes))
    let got = ''
    s.on('data', (d) => (got += d.toString('latin1')))
    s.on('end', () => resolve(got))
    s.on('error', reject)
  })
}
const rawGet = (port: number, path: string) =>
  raw(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (check()) return
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`gave up waiting for ${what}`)
}

/** Descriptors this process holds on `path` (the server runs in the test process). */
function openFds(path: string): number {
  let n = 0
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === path) n++
    } catch {
      // closed while we looked
    }
  }
  return n
}

const N1: BootNodeView = {
  name: 'n1',
  macs: ['52:54:00:00:00:01'],
  ipv4: '198.18.0.11',
  image: 'rocky9',
  kernelArgs: 'console=ttyS0 quiet',
  assetKey: null,
}
const N2: BootNodeView = { ...N1, name: 'n2', macs: ['52:54:00:00:00:02'], assetKey: 'tag 42/x' }
const N3: BootNodeView = { ...N1, name: 'n3', macs: ['52:54:00:00:00:03'], image: null }

describe('provisioning server', () => {
  let dir: string
  let files: string
  let boot: string
  let server: ProvisioningServer
  let policy: 'wait' | 'default-image' = 'wait'
  const templates = new Map<string, string>()
  const events: HttpBootEvent[] = []
  const started: ProvisioningServer[] = []

  const resolver: ProvisioningResolver = {
    nodeByMac: (mac) => [N1, N2, N3].find((n) => n.macs.includes(mac)) ?? null,
    async artifact(node, kind) {
      if (node === null)
        return kind === 'kernel' || kind === 'image'
          ? { path: join(dir, `default-${kind}`), name: kind }
          : null
      if (node.image === null) return null
      if (kind === 'modules') return null
      return { path: join(dir, `${kind}.img`), name: `${kind}.img` }
    },
    unknownNodePolicy: () => policy,
    status: () => ({ nodes: { n1: 'kernel' } }),
    templateFor: (node) => templates.get(node.name) ?? null,
    defaultKernelArgs: () => 'console=ttyS0 rb.default=1',
  }

  async function start(extra: Partial<ProvisioningServerOptions> = {}) {
    const s = await startProvisioningServer({
      host: '127.0.0.1',
      port: 0,
      resolver,
      filesRoot: files,
      bootRoot: boot,
      onEvent: (e) => events.push(e),
      ...extra,
    })
    started.push(s)
    return s
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rb-http-srv-'))
    files = join(dir, 'files')
    boot = join(dir, 'boot')
    mkdirSync(join(files, 'sub'), { recursive: true })
    mkdirSync(boot)
    for (const k of ['kernel', 'image', 'system', 'runtime'])
      writeFileSync(join(dir, `${k}.img`), `${k} of n1\n`)
    writeFileSync(join(dir, 'default-kernel'), 'default kernel\n')
    writeFileSync(join(dir, 'default-image'), 'default image\n')
    writeFileSync(join(dir, 'secret'), 'outside the roots\n')
    writeFileSync(join(files, 'sub', 'a.txt'), 'hello\n')
    writeFileSync(join(boot, 'ipxe.efi'), 'MZ fake ipxe\n')
    symlinkSync(join(dir, 'secret'), join(files, 'escape'))
    symlinkSync(join(files, 'sub', 'a.txt'), join(files, 'inside-link'))
    server = await start({ baseUrl: 'http://198.18.0.1:9873/' })
  })
  afterEach(() => {
    policy = 'wait'
    templates.clear()
  })
  afterAll(async () => {
    for (const s of started) await s.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it.each([
    '52:54:00:00:00:01',
    '52-54-00-00-00-01',
    '52%3A54%3A00%3A00%3A00%3A01',
    '52-54-00-00-00-01'.toUpperCase(),
  ])('GET /ipxe/%s?platform=efi is the golden EFI script', async (mac) => {
    const r = await get(`${server.url}/ipxe/${mac}?platform=efi`)
    expect(r.status).toBe(200)
    expect(r.headers['content-type']).toBe('text/plain; charset=utf-8')
    expect(r.text).toBe(fixture('node-efi.ipxe'))
  })

  it('BIOS platform gets the golden BIOS script, and the event names the node', async () => {
    events.length = 0
    const r = await get(`${server.url}/ipxe/52-54-00-00-00-01?platform=pcbios`)
    expect(r.text).toBe(fixture('node-bios.ipxe'))
    expect(events).toContainEqual({
      mac: '52:54:00:00:00:01',
      node: 'n1',
      route: 'ipxe',
      status: 200,
      bytes: r.body.length,
      total: r.body.length,
      done: true,
      aborted: false,
    })
  })

  it('without baseUrl the script points where the client connected (Host header)', async () => {
    const s = await start()
    const r = await get(`${s.url}/ipxe/52-54-00-00-00-01`)
    expect(r.text).toContain(
      `kernel --name kernel ${s.url}/kernel/52-54-00-00-00-01?assetkey=\${asset:uristring} initrd=image`,
    )
  })

  it("unknown MAC under 'wait': a script that waits and chains again; its files are 404", async () => {
    const r = await get(`${server.url}/ipxe/52:54:00:00:00:99`)
    expect(r.status).toBe(200)
    expect(r.text).toBe(fixture('unknown-wait.ipxe'))
    const k = await get(`${server.url}/kernel/52:54:00:00:00:99`)
    expect(k.status).toBe(404)
    expect(k.text).toBe('52:54:00:00:00:99 is not assigned to a node (unknown MACs wait for assignment)\n')
  })

  it("unknown MAC under 'default-image': boots the default kernel and image", async () => {
    policy = 'default-image'
    const r = await get(`${server.url}/ipxe/52:54:00:00:00:99?platform=efi`)
    expect(r.status).toBe(200)
    expect(r.text).toContain('echo Rackboot: booting unassigned (52:54:00:00:00:99) with default image')
    expect(r.text).toContain(
      'kernel --name kernel http://198.18.0.1:9873/kernel/52-54-00-00-00-99?assetkey=${asset:uristring} initrd=image console=ttyS0 rb.default=1 && goto fetch_image ||',
    )
    expect(r.text).not.toContain('fetch_system')
    expect((await get(`${server.url}/kernel/52:54:00:00:00:99`)).text).toBe('default kernel\n')
    expect((await get(`${server.url}/image/52:54:00:00:00:99`)).text).toBe('default image\n')
    expect((await get(`${server.url}/system/52:54:00:00:00:99`)).status).toBe(404)
  })

  it('a node with nothing to boot waits, saying why', async () => {
    const r = await get(`${server.url}/ipxe/52:54:00:00:00:03`)
    expect(r.text).toContain(
      'echo Rackboot: node n3 (52:54:00:00:00:03) has no kernel and image yet, waiting',
    )
    expect(r.text).toContain('chain --replace --autofree http://198.18.0.1:9873/ipxe/52-54-00-00-00-03?')
  })

  it('serves each artifact, also through /provision?stage=', async () => {
    for (const kind of ['kernel', 'image', 'system', 'runtime']) {
      const r = await get(`${server.url}/${kind}/52-54-00-00-00-01`)
      expect(r.status).toBe(200)
      expect(r.text).toBe(`${kind} of n1\n`)
      const old = await get(`${server.url}/provision/52-54-00-00-00-01?stage=${kind}`)
      expect(sha(old.body)).toBe(sha(r.body))
    }
    expect((await get(`${server.url}/modules/52-54-00-00-00-01`)).status).toBe(404)
    const script = await get(`${server.url}/provision/52:54:00:00:00:01?stage=ipxe&platform=efi`)
    expect(script.text).toBe(fixture('node-efi.ipxe'))
    const bad = await get(`${server.url}/provision/52:54:00:00:00:01?stage=bios`)
    expect(bad.status).toBe(400)
    expect(bad.text).toMatch(/^stage 'bios' unknown; use \?stage=ipxe\|kernel/)
  })

  it('HEAD on an artifact and on a script: headers, no body', async () => {
    const k = await get(`${server.url}/kernel/52-54-00-00-00-01`, { method: 'HEAD' })
    expect(k.status).toBe(200)
    expect(k.headers['content-length']).toBe(String('kernel of n1\n'.length))
    expect(k.body.length).toBe(0)
    const s = await get(`${server.url}/ipxe/52-54-00-00-00-01?platform=efi`, { method: 'HEAD' })
    expect(s.headers['content-length']).toBe(String(Buffer.byteLength(fixture('node-efi.ipxe'))))
    expect(s.body.length).toBe(0)
  })

  it.each([
    ['/ipxe/52:54:00:00:01', 400, /is not a MAC address/],
    ['/kernel/zz-54-00-00-00-01', 400, /is not a MAC address/],
    ['/kernel/', 400, /no MAC address in the path/],
    ['/kernel/52:54:00-00:00:01', 400, /mixes separators/],
    ['/kernel/52-54-00-00-00-01/extra', 404, /no route/],
    ['/nothing', 404, /^no route for \/nothing$/],
    ['/files/%E0%A4%A', 400, /not valid percent-encoding/],
  ])('%s -> %i with a one-line reason', async (path, status, reason) => {
    const r = await get(`${server.url}${path}`)
    expect(r.status).toBe(status)
    expect(r.text.trimEnd()).toMatch(reason)
    expect(r.text.trimEnd().split('\n')).toHaveLength(1)
  })

  it('other methods are 405', async () => {
    const r = await get(`${server.url}/ipxe/52-54-00-00-00-01`, { method: 'POST' })
    expect(r.status).toBe(405)
    expect(r.headers['allow']).toBe('GET, HEAD')
  })

  it('asset key: missing or wrong is 403, right is served', async () => {
    for (const path of ['/ipxe/52-54-00-00-00-02', '/kernel/52-54-00-00-00-02']) {
      const none = await get(`${server.url}${path}`)
      expect(none.status).toBe(403)
      expect(none.text).toMatch(/^52:54:00:00:00:02 \(node n2\): asset key missing or wrong/)
      expect((await get(`${server.url}${path}?assetkey=tag%2042%2Fy`)).status).toBe(403)
      expect((await get(`${server.url}${path}?assetkey=tag%2042%2Fx`)).status).toBe(200)
    }
    // Nodes without an asset key ignore whatever the client sends (iPXE always sends ${asset}).
    expect((await get(`${server.url}/kernel/52-54-00-00-00-01?assetkey=whatever`)).status).toBe(200)
  })

  it('GET /status is the resolver JSON', async () => {
    const r = await get(`${server.url}/status`)
    expect(r.headers['content-type']).toBe('application/json')
    expect(JSON.parse(r.text)).toEqual({ nodes: { n1: 'kernel' } })
  })

  it('per-node template override; an unknown variable is a 500 naming it', async () => {
    templates.set('n1', '#!ipxe\necho {{hostname}} {{ipv4}}\nchain {{kernelUrl}}\n')
    const r = await get(`${server.url}/ipxe/52-54-00-00-00-01`)
    expect(r.text).toBe(
      '#!ipxe\necho n1 198.18.0.11\nchain http://198.18.0.1:9873/kernel/52-54-00-00-00-01?assetkey=${asset:uristring}\n',
    )
    templates.set('n1', '#!ipxe\necho {{hostname}} {{rack}}\n')
    const bad = await get(`${server.url}/ipxe/52-54-00-00-00-01`)
    expect(bad.status).toBe(500)
    expect(bad.text).toMatch(/^iPXE template of node n1, line 2: unknown variable \{\{rack\}\}; known: /)
  })

  it('static roots serve files and links inside them', async () => {
    expect((await get(`${server.url}/files/sub/a.txt`)).text).toBe('hello\n')
    expect((await get(`${server.url}/files/inside-link`)).text).toBe('hello\n')
    expect((await get(`${server.url}/boot/ipxe.efi`)).text).toBe('MZ fake ipxe\n')
  })

  it.each([
    ['/files/../secret', '403'],
    ['/files/sub/../../secret', '403'],
    ['/files/%2e%2e/secret', '403'],
    ['/files/sub%2F..%2F..%2Fsecret', '403'],
    ['/files/..%5Csecret', '403'],
    ['/files/escape', '403'],
    ['/boot/../secret', '403'],
    ['/boot/%2E%2E/files/sub/a.txt', '403'],
    ['/files/sub/a.txt%00.png', '400'],
    ['/files/missing', '404'],
    ['/files/sub', '404'],
    ['/files/', '404'],
    ['/boot/missing.efi', '404'],
  ])('raw %s -> %s, never the file outside', async (path, status) => {
    const reply = await rawGet(server.address.port, path)
    expect(reply.startsWith(`HTTP/1.1 ${status} `)).toBe(true)
    expect(reply).not.toContain('outside the roots')
  })

  it('refuses options that would break scripts, and a port in use', async () => {
    await expect(start({ baseUrl: 'http://a b' })).rejects.toThrow(
      /baseUrl 'http:\/\/a b' is not an http\(s\) URL/,
    )
    await expect(start({ retries: 2.5 })).rejects.toThrow(/retries 2.5 is not a whole number/)
    await expect(start({ port: server.address.port })).rejects.toThrow(
      new RegExp(`cannot listen on 127\\.0\\.0\\.1:${server.address.port}: EADDRINUSE`),
    )
  })

  it('a server without roots says so', async () => {
    const s = await start({ filesRoot: null, bootRoot: undefined })
    const r = await get(`${s.url}/files/sub/a.txt`)
    expect(r.status).toBe(404)
    expect(r.text).toBe('/files/ is not served (no directory configured)\n')
  })

  it('malformed requests get 400 and the server keeps serving', async () => {
    expect(await raw(server.address.port, 'BLAH\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /)
    expect(await raw(server.address.port, 'GET /status HTTP/1.1\r\nBad Header\r\n\r\n')).toMatch(
      /^HTTP\/1\.1 400 /,
    )
    const huge = `GET /status HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`
    expect(await raw(server.address.port, huge)).toMatch(/^HTTP\/1\.1 431 /)
    expect(await rawGet(server.address.port, 'no-slash')).toMatch(/^HTTP\/1\.1 400 /)
    expect((await get(`${server.url}/status`)).status).toBe(200)
  })

  it('a client that never finishes its request gets 408 and is closed', async () => {
    const s = await start({ requestTimeoutMs: 200 })
    const reply = await raw(s.address.port, 'GET /status HTTP/1.1\r\nHost: x\r\n') // headers never end
    expect(reply).toMatch(/^HTTP\/1\.1 408 /)
  })

  it.skipIf(process.platform !== 'linux')(
    'a client that stops reading is disconnected after the idle timeout, closing the file',
    async () => {
      const big = join(dir, 'stall.img')
      writeFileSync(big, Buffer.alloc(32 * 1024 * 1024))
      const s = await start({
        idleTimeoutMs: 300,
        resolver: { ...resolver, artifact: async () => ({ path: big, name: 'stall.img' }) },
      })
      events.length = 0
      const req = request(`${s.url}/image/52-54-00-00-00-01`, { agent: false }, (res) => res.pause())
      req.on('error', () => undefined)
      req.end()
      // The paused client never sees the close (it does not read); the server's final event tells.
      await until('the server to give up on the stalled client', () =>
        events.some((x) => x.route === 'image' && x.done),
      )
      req.destroy()
      expect(events.find((x) => x.route === 'image' && x.done)?.aborted).toBe(true)
      await until('the file descriptor to close', () => openFds(big) === 0)
      expect(s.stats().openConnections).toBe(0)
    },
  )

  it('keep-alive: script, kernel and initrds over one connection', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const before = server.stats().connectionsAccepted
    try {
      const seen: Reply[] = []
      for (const p of ['ipxe', 'kernel', 'image', 'system', 'runtime'])
        seen.push(await get(`${server.url}/${p}/52-54-00-00-00-01`, { agent }))
      expect(seen.map((r) => r.status)).toEqual([200, 200, 200, 200, 200])
      expect(seen.map((r) => r.reused)).toEqual([false, true, true, true, true])
      expect(seen[4]!.text).toBe('runtime of n1\n')
      expect(server.stats().connectionsAccepted - before).toBe(1)
    } finally {
      agent.destroy()
    }
  })

  it('close() ends idle keep-alive and in-flight connections and leaves no socket', async () => {
    const big = join(dir, 'big.img')
    writeFileSync(big, Buffer.alloc(32 * 1024 * 1024))
    const s = await start({
      resolver: { ...resolver, artifact: async () => ({ path: big, name: 'big.img' }) },
    })
    const agent = new Agent({ keepAlive: true })
    await get(`${s.url}/status`, { agent }) // leaves an idle keep-alive connection
    // A transfer the client does not read yet: it stays in flight.
    const req = request(`${s.url}/image/52-54-00-00-00-01`, { agent: false })
    req.on('error', () => undefined)
    const res = await new Promise<IncomingMessage>((resolve) => req.on('response', resolve).end())
    res.pause()
    res.on('error', () => undefined)
    expect(s.stats().openConnections).toBe(2)
    // Listening before close(): the cut can reach the client while close() is still settling its threads.
    const closed = new Promise((resolve) => res.on('close', resolve))
    await s.close()
    // Reading on, the client meets the end of a cut connection before the 32 MiB.
    let got = 0
    res.on('data', (c: Buffer) => (got += c.length))
    res.resume()
    await closed
    expect(got).toBeLessThan(32 * 1024 * 1024)
    expect(s.stats().openConnections).toBe(0)
    await expect(get(`${s.url}/status`)).rejects.toThrow(/ECONNREFUSED/)
    agent.destroy()
  })
})
