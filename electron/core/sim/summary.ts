/** The storm's JSON summary, from per-node results: counts, per-stage p50/p95, bytes, wall time. Pure. */
import type { SimFirmware } from './firmware'

export interface NodeResult {
  mac: string
  firmware: SimFirmware
  ok: boolean
  /** The address of the last ACK. */
  ip: string | null
  /** Every address ACKed to this MAC during the storm (more than one only after a lease was lost). */
  ips: string[]
  boots: number
  dhcpTries: number
  tftpAttempts: number
  /** Milliseconds per stage of the last boot: dhcp, tftp, ipxeDhcp, http, script, kernel, image, …, total. */
  stages: Record<string, number>
  /** When each stage of the last boot started (epoch ms): lines the client's view up with the server's timeline. */
  stageStarts?: Record<string, number>
  /** Payload bytes of the last boot (TFTP + HTTP bodies), every one checked. */
  bytes: number
  errors: string[]
  startedAt: number
  doneAt: number | null
}

export interface StageStats {
  n: number
  p50: number
  p95: number
  max: number
}

export interface StormSummary {
  nodes: number
  ok: number
  failed: number
  /** Milliseconds from the first power-on to the last node holding all its bytes (or the deadline). */
  wallMs: number
  totalBytes: number
  stagesMs: Record<string, StageStats>
  reboots: number
  dhcpRetries: number
  /** Addresses ACKed to more than one MAC (must be empty). */
  sharedIps: Array<{ ip: string; macs: string[] }>
  dhcpWire: { sent: number; received: number; unmatched: number; malformed: number }
  /** The first errors of failed nodes (at most 20), `mac: error`. */
  failures: string[]
  leases: Array<{ mac: string; ip: string | null }>
  /** DISCOVERs of the random-MAC flood sent alongside (absent without one). */
  floodSent?: number
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

export function summarize(
  results: readonly NodeResult[],
  wallMs: number,
  dhcpWire: StormSummary['dhcpWire'],
): StormSummary {
  const stageValues = new Map<string, number[]>()
  for (const r of results.filter((x) => x.ok))
    for (const [k, v] of Object.entries(r.stages)) stageValues.set(k, [...(stageValues.get(k) ?? []), v])
  const stagesMs: Record<string, StageStats> = {}
  for (const [k, vs] of stageValues) {
    const s = [...vs].sort((a, b) => a - b)
    stagesMs[k] = { n: s.length, p50: percentile(s, 50), p95: percentile(s, 95), max: s.at(-1)! }
  }
  const byIp = new Map<string, Set<string>>()
  for (const r of results) for (const ip of r.ips) byIp.set(ip, (byIp.get(ip) ?? new Set()).add(r.mac))
  const firstStart = Math.min(...results.map((r) => r.startedAt))
  const lastDone = Math.max(...results.map((r) => r.doneAt ?? r.startedAt))
  const failed = results.filter((r) => !r.ok)
  return {
    nodes: results.length,
    ok: results.length - failed.length,
    failed: failed.length,
    wallMs: failed.length === 0 && results.length > 0 ? lastDone - firstStart : wallMs,
    totalBytes: results.reduce((a, r) => a + (r.ok ? r.bytes : 0), 0),
    stagesMs,
    reboots: results.reduce((a, r) => a + r.boots - 1, 0),
    dhcpRetries: results.reduce((a, r) => a + Math.max(0, r.dhcpTries - 2 * r.boots), 0),
    sharedIps: [...byIp]
      .filter(([, macs]) => macs.size > 1)
      .map(([ip, macs]) => ({ ip, macs: [...macs].sort() })),
    dhcpWire,
    failures: failed.slice(0, 20).map((r) => `${r.mac}: ${r.errors.at(-1) ?? 'unknown'}`),
    leases: results.map((r) => ({ mac: r.mac, ip: r.ip })),
  }
}
