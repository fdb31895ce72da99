/**
 * The iPXE side of a simulated node: expand the settings iPXE fills into a DHCP file name, fetch the script,
 * then every `kernel` and `initrd` it names, in order, over ONE keep-alive connection from the node's own
 * address (iPXE does the same, PXE-NOTES). Bodies are checked as they stream, never buffered: against the
 * reference bytes when the caller holds them (memcmp), else by sha256.
 */
import { createHash } from 'node:crypto'
import { Agent, request } from 'node:http'

export interface HttpFetched {
  /** `script`, or the `--name` of a kernel/initrd line (kernel, image, modules, system …). */
  name: string
  url: string
  bytes: number
  sha256: string
  /** Content-Length the server announced, null when chunked. */
  announced: number | null
  /** Starts of the body, for a gzip check of per-node files nobody can hash in advance. */
  head: Buffer
  /** The body as text, kept only for `script` (an iPXE script is a few KiB). */
  text?: string
  ms: number
}

/**
 * The file a fetch must deliver, in memory. Comparing each chunk with it is as strict as sha256 (stricter: it
 * names the first differing byte) at a fraction of the CPU: a 200-node storm streams 2.6 GB into the one
 * simulator process, and sha256 of it took ~11 s of that process's event loop on 2 shared cores, time during
 * which no simulated node read its socket or acknowledged a TFTP block, so the link idled.
 */
export interface Reference {
  bytes: Buffer
  sha256: string
}

export interface IpxeSession {
  /** `sha256` of the result is the reference's when every byte matched, else a description of the difference. */
  get(name: string, url: string, reference?: Reference): Promise<HttpFetched>
  close(): void
}

/** A streaming check: sha256, or byte comparison against a reference that yields its sha256 on a match. */
function bodyCheck(reference: Reference | undefined): { update(d: Buffer): void; digest(): string } {
  if (!reference) {
    const hash = createHash('sha256')
    return { update: (d) => void hash.update(d), digest: () => hash.digest('hex') }
  }
  let offset = 0
  let firstDifference: number | null = null
  return {
    update: (d) => {
      const want = reference.bytes.subarray(offset, offset + d.length)
      if (firstDifference === null && !d.equals(want)) {
        let i = 0
        while (i < want.length && d[i] === want[i]) i++
        firstDifference = offset + i
      }
      offset += d.length
    },
    digest: () =>
      firstDifference !== null
        ? `differs from the served file at byte ${firstDifference}`
        : offset !== reference.bytes.length
          ? `${offset} bytes where the served file has ${reference.bytes.length}`
          : reference.sha256,
  }
}

/** iPXE settings a DHCP boot-file URL may carry (ipxeBootFileUrl): `${mac:hexhyp}`, `${platform}`, `${asset…}`. */
export function expandIpxeUrl(url: string, vars: { mac: string; platform: 'efi' | 'pcbios' }): string {
  return url.replace(/\$\{([a-z0-9_-]+)(?::([a-z]+))?\}/gi, (_, name: string, type?: string) => {
    if (name === 'mac') return type === 'hexhyp' ? vars.mac.replace(/:/g, '-') : vars.mac
    if (name === 'platform') return vars.platform
    return '' // asset tag, uuid …: a simulated node has none
  })
}

/** The `kernel`/`initrd` lines of an iPXE script, in order: name (`--name`, else the URL's first path part) and URL. */
export function scriptFetches(
  script: string,
  vars: { mac: string; platform: 'efi' | 'pcbios' },
): Array<{ name: string; url: string }> {
  const out: Array<{ name: string; url: string }> = []
  for (const line of script.split('\n')) {
    const m = /^\s*(kernel|initrd|imgfetch|chain)\b(.*)$/.exec(line)
    if (!m || m[1] === 'chain') continue
    const url = /(https?:\/\/\S+)/.exec(m[2]!)?.[1]
    if (!url) continue
    const named = /--name[= ](\S+)/.exec(m[2]!)?.[1]
    const expanded = expandIpxeUrl(url, vars)
    out.push({ name: named ?? new URL(expanded).pathname.split('/')[1] ?? m[1]!, url: expanded })
  }
  return out
}

export function ipxeSession(localAddress: string, timeoutMs: number): IpxeSession {
  const agent = new Agent({ keepAlive: true, maxSockets: 1, localAddress })
  return {
    close: () => agent.destroy(),
    get: (name, url, reference) =>
      new Promise((resolve, reject) => {
        const started = Date.now()
        const req = request(
          url,
          { agent, headers: { 'user-agent': 'iPXE/1.21.1 (rackboot sim)' } },
          (res) => {
            if (res.statusCode !== 200) {
              res.resume()
              return reject(new Error(`GET ${url}: HTTP ${res.statusCode}`))
            }
            const hash = bodyCheck(reference)
            let bytes = 0
            const heads: Buffer[] = []
            const keep: Buffer[] | null = name === 'script' ? [] : null
            res.on('data', (d: Buffer) => {
              if (bytes < 16) heads.push(d.subarray(0, 16))
              if (keep && bytes < 65536) keep.push(d)
              hash.update(d)
              bytes += d.length
            })
            res.on('error', reject)
            res.on('aborted', () => reject(new Error(`GET ${url}: connection closed after ${bytes} bytes`)))
            res.on('end', () => {
              const len = res.headers['content-length']
              const announced = len === undefined ? null : Number(len)
              if (announced !== null && announced !== bytes)
                return reject(new Error(`GET ${url}: ${bytes} bytes of ${announced}`))
              resolve({
                name,
                url,
                bytes,
                sha256: hash.digest(),
                announced,
                head: Buffer.concat(heads).subarray(0, 16),
                ...(keep ? { text: Buffer.concat(keep).toString('utf8') } : {}),
                ms: Date.now() - started,
              })
            })
          },
        )
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${url}: no data for ${timeoutMs} ms`)))
        req.on('error', reject)
        req.end()
      }),
  }
}
