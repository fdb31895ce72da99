/**
 * "Is this iPXE our own chained build?" for the `ipxeRomChain: 'own-ipxe'` policy, kept per MAC.
 *
 * Peers tell their iPXE apart by a mark their own build sends: pixiecore's embedded script sets user class
 * `pixiecore`, smee's sets option 77 `Tinkerbell`. We ship Debian's stock undionly.kpxe/ipxe.efi, which
 * carry no such mark, and the captures (test/fixtures/dhcp/bios-undionly.pcap) show that QEMU's iPXE ROM
 * and the chainloaded undionly.kpxe send identical options, including 175.177 bus id (type 1 = PCI for
 * both: undionly reports the UNDI device's PCI location). Only the broadcast flag differs, which is too
 * thin to bet a boot on. So, as PXE-NOTES says, the server remembers that it handed this MAC an iPXE
 * binary over TFTP: the next DHCP exchange (a new xid) from that MAC inside the window is the binary we
 * handed out, and gets the script. One chain per boot, so a client can never loop through us.
 */

/** What the server last did for one MAC's iPXE chain. */
export interface ChainEntry {
  /** xid of the exchange we answered with the TFTP binary (its OFFER and ACK must agree). */
  chainXid: number
  /** xid of the chained iPXE's exchange that got the script, once it came. */
  scriptXid?: number
  /** When the binary was last offered (ms). */
  at: number
}

/** Long enough for TFTP + iPXE's banner + its DHCP under TCG (PXE-NOTES: the chain takes 20–30 s). */
export const CHAIN_WINDOW_MS = 120_000
/** A flood of fake MACs must not grow the map without bound; the oldest entries go first. */
export const CHAIN_MAX_ENTRIES = 4096

/**
 * Pure: is the exchange `xid` from a MAC with this `entry` our own chained iPXE? True only for the first
 * exchange after the chain answer (and its retries with the same xid), inside the window.
 */
export function isOwnIpxe(
  entry: ChainEntry | undefined,
  xid: number,
  now: number,
  windowMs: number,
): boolean {
  if (!entry || now - entry.at > windowMs) return false
  if (xid === entry.chainXid) return false // the ROM's own DISCOVER/REQUEST: keep the OFFER and ACK alike
  return entry.scriptXid === undefined || entry.scriptXid === xid // a third xid is a new boot: chain again
}

/** Per-engine memory of chain answers; the engine owns one (no module state), `now` comes from the caller. */
export class ChainMemory {
  private readonly entries = new Map<string, ChainEntry>()

  constructor(
    private readonly windowMs = CHAIN_WINDOW_MS,
    private readonly maxEntries = CHAIN_MAX_ENTRIES,
  ) {}

  isOwnIpxe(mac: string, xid: number, now: number): boolean {
    return isOwnIpxe(this.entries.get(mac), xid, now, this.windowMs)
  }

  /** We answered `mac`'s exchange `xid` with an iPXE binary over TFTP. */
  chained(mac: string, xid: number, now: number): void {
    this.entries.delete(mac) // re-insert: Map order is the eviction order
    this.entries.set(mac, { chainXid: xid, at: now })
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break
      this.entries.delete(oldest)
    }
  }

  /** We answered `mac`'s chained iPXE (exchange `xid`) with the script. */
  scripted(mac: string, xid: number): void {
    const e = this.entries.get(mac)
    if (e) e.scriptXid = xid
  }

  get size(): number {
    return this.entries.size
  }
}
