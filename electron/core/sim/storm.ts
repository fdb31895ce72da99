/**
 * The client side of a boot storm: N simulated machines powered on together, each doing what its firmware
 * does — ROM DHCP, TFTP of the iPXE binary, iPXE DHCP, then the iPXE script and every file it names over
 * HTTP — checking every byte against the sha256 of the file the server should have sent, and timing each
 * stage. A node that fails a stage "reboots" and starts over, as a ROM falling back to its boot order and a
 * BMC power-cycling would, at most `maxBoots` times. Runs inside the client namespace (rig.ts spawns it).
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { setMaxListeners } from 'node:events'
import type { Socket } from 'node:dgram'
import { dhcpWire, type DhcpLease } from './dhcp-client'
import { FIRMWARE, type SimFirmware } from './firmware'
import { tftpFetch } from './tftp-client'
import { ipxeSession, scriptFetches, expandIpxeUrl, type Reference } from './http-client'
import { summarize, type NodeResult, type StormSummary } from './summary'
import { sleep } from '../util/sleep'

export interface StormClientsConfig {
  /** The client-side interface all simulated NICs share. */
  iface: string
  /** Prefix length of the boot subnet, for the leased addresses added to `iface`. */
  prefixLen: number
  nodes: Array<{ mac: string; firmware: SimFirmware }>
  /** sha256 of what the server should send: TFTP files by name, HTTP files by script `--name`. */
  expected: { tftp: Record<string, string>; http: Record<string, string> }
  /**
   * Where the HTTP files of `expected.http` are, by the same names: read once, every body is compared with
   * them byte for byte (a mismatch fails the node as a wrong sha256 would) instead of hashed per node.
   */
  expectedFiles?: Record<string, string>
  /**
   * Every leased address is already usable on `iface` (the rig routes the node range as local, "AnyIP"), so
   * no `ip addr add` per lease: that was a process spawn on the simulator's event loop for every node.
   */
  addressesRouted?: boolean
  /** Power-on spread: node i starts at a random moment within this window (a PDU switches outlets in ~1 s). */
  startSpreadMs: number
  /** Upper bound for the whole storm; nodes unfinished by then fail. */
  deadlineMs: number
  /** Boots per node (1 = no reboot after a failed stage). */
  maxBoots: number
  tftpPort?: number
  /** Multiplies every firmware timeout (1 = real firmware; tests never go below 1). */
  timeScale?: number
  seed?: number
  /**
   * Also send `count` DISCOVERs from random MACs (each MAC once, never answered), as a broken switch or a
   * hostile host would, at about `perSecond`; `pxe` = with PXE ROM options, else as a plain DHCP client.
   */
  flood?: { count: number; pxe: boolean; perSecond: number }
  /** Also write every node's result (stages, stage start times, errors) to this file, one JSON line each. */
  recordsFile?: string
}

export interface StormDeps {
  /** The shared DHCP client socket (0.0.0.0:68 bound to iface, broadcast on). */
  socket: Socket
  /** Adds an address to the interface; default `ip addr add`. */
  addAddress?(ip: string): Promise<void>
  /** Per-node progress lines for the CLI (done, failed, rebooting). */
  onNode?(r: NodeResult): void
}

const run = promisify(execFile)

export async function runStormClients(cfg: StormClientsConfig, deps: StormDeps): Promise<StormSummary> {
  let seed = (cfg.seed ?? 1) >>> 0 || 1
  const random = () => {
    seed ^= seed << 13
    seed ^= seed >>> 17
    seed ^= seed << 5
    return (seed >>> 0) / 0x1_0000_0000
  }
  const scale = cfg.timeScale ?? 1
  const wire = dhcpWire(deps.socket, random, scale)
  const added = new Map<string, Promise<void>>()
  const addAddress =
    deps.addAddress ??
    (async (ip: string) => {
      // replace: idempotent, so a second storm in the same namespace reuses the addresses of the first.
      await run('ip', ['addr', 'replace', `${ip}/${cfg.prefixLen}`, 'dev', cfg.iface])
    })
  const ensureAddress = (ip: string) => {
    if (cfg.addressesRouted) return Promise.resolve()
    let p = added.get(ip)
    if (!p) added.set(ip, (p = addAddress(ip)))
    return p
  }
  const deadline = new AbortController()
  // Every node's waits listen on this one signal: hundreds of listeners are expected, not a leak.
  setMaxListeners(0, deadline.signal)
  const references = new Map<string, Reference>()
  for (const [name, file] of Object.entries(cfg.expectedFiles ?? {})) {
    const sha256 = cfg.expected.http[name]
    if (sha256) references.set(name, { bytes: await readFile(file), sha256 })
  }
  const timer = setTimeout(() => deadline.abort(), cfg.deadlineMs)
  const started = Date.now()
  try {
    const flood = cfg.flood ? wire.flood(cfg.flood, deadline.signal) : Promise.resolve(0)
    const results = await Promise.all(
      cfg.nodes.map(async (n, i) => {
        await sleep(random() * cfg.startSpreadMs, deadline.signal)
        const r = await bootNode(n, i, cfg, {
          wire,
          ensureAddress,
          random,
          scale,
          signal: deadline.signal,
          references,
        })
        deps.onNode?.(r)
        return r
      }),
    )
    const summary = summarize(results, Date.now() - started, wire.stats())
    return { ...summary, floodSent: await flood }
  } finally {
    clearTimeout(timer)
  }
}

interface NodeCtx {
  wire: ReturnType<typeof dhcpWire>
  ensureAddress(ip: string): Promise<void>
  random(): number
  scale: number
  signal: AbortSignal
  references: ReadonlyMap<string, Reference>
}

async function bootNode(
  n: { mac: string; firmware: SimFirmware },
  index: number,
  cfg: StormClientsConfig,
  ctx: NodeCtx,
): Promise<NodeResult> {
  const profile = FIRMWARE[n.firmware]
  const chaddr = Uint8Array.from(n.mac.split(':').map((h) => parseInt(h, 16)))
  // SMBIOS UUID: stable per node, distinct across nodes.
  const uuid = Uint8Array.from({ length: 16 }, (_, k) =>
    k < 12 ? 0x5a ^ k : (index >> ((15 - k) * 8)) & 0xff,
  )
  const result: NodeResult = {
    mac: n.mac,
    firmware: n.firmware,
    ok: false,
    ip: null,
    ips: [],
    boots: 0,
    dhcpTries: 0,
    tftpAttempts: 0,
    stages: {},
    bytes: 0,
    errors: [],
    startedAt: Date.now(),
    doneAt: null,
  }
  const platform = n.firmware === 'uefi' ? 'efi' : 'pcbios'
  const timed = async <T>(stage: string, f: () => Promise<T>): Promise<T> => {
    const t = Date.now()
    ;(result.stageStarts ??= {})[stage] = t
    try {
      return await f()
    } finally {
      result.stages[stage] = Date.now() - t
    }
  }
  const leased = async (stage: 'rom' | 'ipxe'): Promise<DhcpLease> => {
    const lease = await timed(stage === 'rom' ? 'dhcp' : 'ipxeDhcp', () =>
      ctx.wire.acquire(chaddr, uuid, profile[stage], ctx.signal),
    )
    if (!lease)
      throw new Error(
        `${stage === 'rom' ? 'PXE ROM' : 'iPXE'} DHCP: no ACK after ${profile[stage].timeoutsS.length} DISCOVERs`,
      )
    result.dhcpTries += lease.tries
    if (!result.ips.includes(lease.ip)) result.ips.push(lease.ip)
    result.ip = lease.ip
    await ctx.ensureAddress(lease.ip)
    return lease
  }

  for (let boot = 1; boot <= cfg.maxBoots && !ctx.signal.aborted; boot++) {
    result.boots = boot
    result.bytes = 0
    const bootStart = Date.now()
    try {
      const rom = await leased('rom')
      if (!rom.bootFile || /^https?:/.test(rom.bootFile))
        throw new Error(`PXE ROM DHCP: ACK without a TFTP boot file (got '${rom.bootFile}')`)
      const tftp = await timed('tftp', () =>
        tftpFetch({
          server: rom.nextServer,
          port: cfg.tftpPort ?? 69,
          localAddress: rom.ip,
          file: rom.bootFile,
          blksize: profile.tftp.blksize,
          windowsize: profile.tftp.windowsize,
          tsizeProbe: profile.tsizeProbe,
          timeoutMs: 1000 * ctx.scale,
          retries: 6,
          attempts: 3,
          signal: ctx.signal,
        }),
      )
      if (!tftp.ok) throw new Error(tftp.error)
      result.tftpAttempts += tftp.value.attempts
      checkHash(`TFTP ${rom.bootFile}`, tftp.value.sha256, cfg.expected.tftp[baseName(rom.bootFile)])
      result.bytes += tftp.value.bytes

      const ipxe = await leased('ipxe')
      if (!/^https?:\/\//.test(ipxe.bootFile))
        throw new Error(`iPXE DHCP: boot file is not a URL: '${ipxe.bootFile}'`)
      await timed('http', () => fetchAll(ipxe, ipxe.bootFile, n.mac, platform, cfg, ctx, result))
      result.stages.total = Date.now() - bootStart
      result.ok = true
      result.doneAt = Date.now()
      return result
    } catch (e) {
      result.errors.push(`boot ${boot}: ${e instanceof Error ? e.message : String(e)}`)
      // A ROM that gave up shows its error and the machine reboots into the ROM again a few seconds later.
      await sleep(2000 * ctx.scale * (0.5 + ctx.random()), ctx.signal)
    }
  }
  if (ctx.signal.aborted) result.errors.push('storm deadline reached')
  return result
}

/** Script, then its kernel and initrds, over one keep-alive connection; each fetch retried like the script does. */
async function fetchAll(
  lease: DhcpLease,
  scriptUrl: string,
  mac: string,
  platform: 'efi' | 'pcbios',
  cfg: StormClientsConfig,
  ctx: NodeCtx,
  result: NodeResult,
): Promise<void> {
  const session = ipxeSession(lease.ip, 30_000 * ctx.scale)
  const retrying = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    // The default iPXE script retries a fetch 5 times, 3 s apart (http/ipxe.ts).
    for (let i = 0; ; i++) {
      try {
        return await f()
      } catch (e) {
        if (i >= 5 || ctx.signal.aborted)
          throw new Error(`${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e })
        await sleep(3000 * ctx.scale, ctx.signal)
      }
    }
  }
  try {
    const url = expandIpxeUrl(scriptUrl, { mac, platform })
    let files: Array<{ name: string; url: string }> = []
    // A "waiting" script (no kernel yet, e.g. capture still pending) chains itself again a few seconds later.
    for (let wait = 0; wait < 20; wait++) {
      const t = Date.now()
      const script = await retrying('script', () => fetchText(session, url))
      result.stages.script = Date.now() - t
      files = scriptFetches(script.text, { mac, platform })
      result.bytes += script.bytes
      if (files.length > 0) break
      await sleep(3000 * ctx.scale, ctx.signal)
    }
    if (files.length === 0) throw new Error(`iPXE script ${url} names no kernel after 20 waits`)
    for (const f of files) {
      const got = await retrying(`${f.name} ${f.url}`, () =>
        session.get(f.name, f.url, ctx.references.get(f.name)).then((r) => {
          const want = cfg.expected.http[f.name]
          if (want) checkHash(`HTTP ${f.name}`, r.sha256, want)
          else if (!(r.head[0] === 0x1f && r.head[1] === 0x8b))
            throw new Error(`HTTP ${f.name}: not gzip (per-node file, checked by magic and length)`)
          return r
        }),
      )
      result.stages[f.name] = got.ms
      result.bytes += got.bytes
    }
  } finally {
    session.close()
  }
}

async function fetchText(
  session: ReturnType<typeof ipxeSession>,
  url: string,
): Promise<{ text: string; bytes: number }> {
  const r = await session.get('script', url)
  return { text: r.text ?? '', bytes: r.bytes }
}

function checkHash(what: string, got: string, want: string | undefined): void {
  if (want === undefined) throw new Error(`${what}: no expected sha256 (the storm does not know this file)`)
  if (got !== want)
    throw new Error(`${what}: sha256 ${got.slice(0, 12)}… is not the served file's ${want.slice(0, 12)}…`)
}

const baseName = (p: string) => p.slice(p.lastIndexOf('/') + 1)
