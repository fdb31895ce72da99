/**
 * Where a storm's time goes (bench:storm --trace): the server veth's transmitted bytes (read from
 * /proc/<server pid>/net/dev, which shows the server namespace, so no process is spawned per sample) and the
 * CPU of the server and of the simulator, sampled every `intervalMs`, plus each node's stage start times.
 * The summary integrates the link's unused capacity (the time lost against bytes ÷ rate) over the start,
 * the middle and the tail of the storm, and says when HTTP bytes began to flow.
 */
import { readFileSync } from 'node:fs'
import { cpuReader } from './proc-cpu'
import type { NodeResult } from '../../electron/core/sim/summary'

export interface TraceSample {
  /** Epoch ms. */
  t: number
  /** Bytes the server's interface has transmitted so far. */
  tx: number
  /** CPU seconds so far: the server's process trees and the simulator's. */
  serverCpu: number
  clientCpu: number
}

export interface TraceSampler {
  stop(): Promise<TraceSample[]>
}

/** Reads `iface`'s tx_bytes as seen by process `netPid` (its network namespace); null if gone. */
function txBytes(netPid: number, iface: string): number | null {
  try {
    const line = readFileSync(`/proc/${netPid}/net/dev`, 'utf8')
      .split('\n')
      .find((l) => l.trim().startsWith(`${iface}:`))
    // Receive: bytes packets errs drop fifo frame compressed multicast; transmit bytes is the 9th field.
    const f = line
      ?.slice(line.indexOf(':') + 1)
      .trim()
      .split(/\s+/)
    return f ? Number(f[8]) : null
  } catch {
    return null
  }
}

export function startTraceSampler(o: {
  netPid: number
  iface: string
  serverPids: number[]
  clientPid: number
  intervalMs: number
}): TraceSampler {
  const samples: TraceSample[] = []
  let stopped = false
  const serverCpuNow = cpuReader(o.serverPids)
  const clientCpuNow = cpuReader([o.clientPid])
  const loop = (async () => {
    while (!stopped && samples.length < 100_000) {
      const t = Date.now()
      const tx = txBytes(o.netPid, o.iface)
      const serverCpu = await serverCpuNow()
      const clientCpu = await clientCpuNow()
      if (tx !== null) samples.push({ t, tx, serverCpu, clientCpu })
      await new Promise((r) => setTimeout(r, Math.max(0, o.intervalMs - (Date.now() - t))))
    }
  })()
  return {
    stop: async () => {
      stopped = true
      await loop
      return samples
    },
  }
}

export function readRecords(file: string): NodeResult[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as NodeResult)
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]! : NaN
}

/** Lines describing one storm: lost link time by phase, CPU by phase, and stage starts relative to power-on. */
export function traceSummary(
  samples: TraceSample[],
  records: NodeResult[],
  bytesPerSecond: number,
  binMs = 100,
): string[] {
  const t0 = Math.min(...records.map((r) => r.startedAt))
  const end = Math.max(...records.map((r) => r.doneAt ?? r.startedAt))
  const at = (t: number, key: 'tx' | 'serverCpu' | 'clientCpu'): number => {
    // Linear interpolation between samples; the first/last sample outside.
    const i = samples.findIndex((s) => s.t >= t)
    if (i <= 0) return samples[i === -1 ? samples.length - 1 : 0]![key]
    const a = samples[i - 1]!
    const b = samples[i]!
    return a[key] + ((b[key] - a[key]) * (t - a.t)) / Math.max(1, b.t - a.t)
  }
  const bins: Array<{ from: number; util: number; srv: number; cli: number }> = []
  for (let t = t0; t < end; t += binMs) {
    const to = Math.min(end, t + binMs)
    const ms = to - t
    bins.push({
      from: t - t0,
      util: (at(to, 'tx') - at(t, 'tx')) / ((bytesPerSecond * ms) / 1000),
      srv: ((at(to, 'serverCpu') - at(t, 'serverCpu')) * 1000) / ms,
      cli: ((at(to, 'clientCpu') - at(t, 'clientCpu')) * 1000) / ms,
    })
  }
  const lost = (from: number, to: number) =>
    bins.filter((b) => b.from >= from && b.from < to).reduce((a, b) => a + Math.max(0, 1 - b.util) * binMs, 0)
  const wall = end - t0
  const starts = (stage: string) =>
    records.filter((r) => r.stageStarts?.[stage] !== undefined).map((r) => r.stageStarts![stage]! - t0)
  const firstHttp = starts('http')
  const power = records.map((r) => r.startedAt - t0)
  const lines = [
    `wall ${wall} ms, bytes at the veth ${((at(end, 'tx') - at(t0, 'tx')) / 1e6).toFixed(1)} MB; link time unused: ` +
      `0–1 s ${lost(0, 1000).toFixed(0)} ms, 1–2 s ${lost(1000, 2000).toFixed(0)} ms, ` +
      `2 s–(end−1 s) ${lost(2000, wall - 1000).toFixed(0)} ms, last 1 s ${lost(wall - 1000, wall + binMs).toFixed(0)} ms`,
    `CPU s: server ${(at(end, 'serverCpu') - at(t0, 'serverCpu')).toFixed(2)}, simulator ${(at(end, 'clientCpu') - at(t0, 'clientCpu')).toFixed(2)}; ` +
      `first 2 s: server ${(at(t0 + 2000, 'serverCpu') - at(t0, 'serverCpu')).toFixed(2)}, simulator ${(at(t0 + 2000, 'clientCpu') - at(t0, 'clientCpu')).toFixed(2)}`,
    `since power-on ms (p0/p50/p100): power ${pct(power, 0)}/${pct(power, 50)}/${pct(power, 100)}, ` +
      ['tftp', 'ipxeDhcp', 'http']
        .map((s) => `${s} ${pct(starts(s), 0)}/${pct(starts(s), 50)}/${pct(starts(s), 100)}`)
        .join(', ') +
      `, done ${pct(
        records.map((r) => (r.doneAt ?? end) - t0),
        0,
      )}/${pct(
        records.map((r) => (r.doneAt ?? end) - t0),
        50,
      )}/${wall}`,
    `http start − power-on per node ms p50/p95: ${pct(
      records.filter((r) => r.stageStarts?.http).map((r) => r.stageStarts!.http! - r.startedAt),
      50,
    )}/${pct(
      records.filter((r) => r.stageStarts?.http).map((r) => r.stageStarts!.http! - r.startedAt),
      95,
    )}; nodes with HTTP started by 0.5/1/1.5/2 s: ${[500, 1000, 1500, 2000].map((x) => firstHttp.filter((v) => v <= x).length).join('/')}`,
    `per ${binMs} ms, link % | server CPU % | simulator CPU %` +
      " (link % is the veth's tx bytes ÷ rate, where a GSO packet's headers count once: a link the shaper keeps" +
      ' full shows ~96 %, and "unused" above counts that 4 % too; the table\'s × shaper limit is exact):',
    ...chunk(bins, 10).map(
      (row) =>
        `  ${String(row[0]!.from).padStart(6)}: ` +
        row
          .map(
            (b) =>
              `${Math.round(b.util * 100)
                .toString()
                .padStart(3)}|${Math.round(b.srv * 100)
                .toString()
                .padStart(3)}|${Math.round(b.cli * 100)
                .toString()
                .padStart(3)}`,
          )
          .join(' '),
    ),
  ]
  return lines
}

function chunk<T>(xs: T[], n: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n))
  return out
}
