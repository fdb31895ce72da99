/**
 * Waits until links just brought up are running (operstate UP or UNKNOWN) and hold their IPv4 address, before
 * anything is started on them. `ip link set X up` returns before the kernel marks the link running: that is
 * done by the link-watch work (net/core/link_watch.c), which handles a non-urgent carrier-on (such as a veth
 * brought up after its peer) at most once a second, and later still while the RTNL lock is busy (other
 * namespaces being created or deleted). Until then Node's os.networkInterfaces() (libuv keeps only IFF_UP and
 * IFF_RUNNING links) leaves the link out, and a `rackboot serve --interface X` started at once fails with
 * "interface X does not exist (present: lo)".
 */
import { z } from 'zod'
import { err, ok, RackbootError, type Result } from '../util/result'

export interface LinkState {
  /** The kernel's operstate: UP, DOWN, LOWERLAYERDOWN, UNKNOWN (links without carrier reporting) … */
  operstate: string
  /** IPv4 addresses on the link. */
  ipv4: string[]
}

export interface Link {
  namespace: string
  dev: string
  /** The IPv4 address the link must hold, if any. */
  address?: string
}

/** The link's state, null when it does not exist (e.g. `ip -n NS addr show dev X` failed). */
export type LinkProbe = (link: Link) => Promise<LinkState | null>

const IpAddrJson = z.array(
  z.object({
    operstate: z.string(),
    addr_info: z.array(z.object({ family: z.string(), local: z.string().optional() })).optional(),
  }),
)

/** Decodes `ip -j addr show dev X` (iproute2's JSON): one link's operstate and IPv4 addresses. */
export function parseIpAddrJson(text: string): Result<LinkState> {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (e) {
    return err(`ip -j addr show: not JSON (${e instanceof Error ? e.message : String(e)})`)
  }
  const parsed = IpAddrJson.safeParse(raw)
  if (!parsed.success) return err(`ip -j addr show: unexpected shape (${parsed.error.issues[0]?.message})`)
  const [link] = parsed.data
  if (!link || parsed.data.length !== 1) return err(`ip -j addr show: ${parsed.data.length} links, not one`)
  const ipv4 = (link.addr_info ?? []).filter((a) => a.family === 'inet' && a.local).map((a) => a.local!)
  return ok({ operstate: link.operstate, ipv4 })
}

/** Running as libuv counts it: IFF_RUNNING is set for operstate UP and UNKNOWN (netif_oper_up). */
export function linkReady(state: LinkState | null, address?: string): boolean {
  return (
    state !== null &&
    (state.operstate === 'UP' || state.operstate === 'UNKNOWN') &&
    (address === undefined || state.ipv4.includes(address))
  )
}

export interface WaitDeps {
  probe: LinkProbe
  sleep?: (ms: number) => Promise<void>
  now?: () => number
}

/**
 * Polls each link until it is ready; rejects after `timeoutMs` naming the link, what was seen last and how to
 * look. Bounded: at most timeoutMs / intervalMs probes per link.
 */
export async function waitForLinksReady(
  links: Link[],
  deps: WaitDeps,
  o: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const timeoutMs = o.timeoutMs ?? 20_000
  const intervalMs = o.intervalMs ?? 25
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)))
  const now = deps.now ?? Date.now
  const started = now()
  const maxProbes = Math.ceil(timeoutMs / intervalMs) + 1
  for (const link of links) {
    for (let probes = 0; ; probes++) {
      const last = await deps.probe(link)
      if (linkReady(last, link.address)) break
      if (probes + 1 >= maxProbes || now() - started >= timeoutMs)
        throw new RackbootError(
          `${link.namespace}: link ${link.dev} is not ready after ${Math.round((now() - started) / 1000)} s: ${describe(last, link.address)}`,
          'link-not-ready',
          `look with: ip -n ${link.namespace} addr show dev ${link.dev}`,
        )
      await sleep(intervalMs)
    }
  }
}

function describe(state: LinkState | null, address?: string): string {
  if (state === null) return 'it does not exist'
  const has = state.ipv4.length > 0 ? state.ipv4.join(', ') : 'no IPv4 address'
  const want = address !== undefined && !state.ipv4.includes(address) ? ` (expected ${address})` : ''
  return `operstate ${state.operstate}, ${has}${want}`
}
