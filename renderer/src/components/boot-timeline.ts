/**
 * A node's boot as the dashboard draws it: one cell per stage (DHCP → … → up), each pending, active, done
 * or failed, with the bytes and throughput of transfers and, for a failure or a stall, the next step to take.
 * Pure: built from the boot events the boot store kept and the node's saved state.
 */
import type { BootEvent } from '../../../electron/ipc/contract'
import type { NodeState } from '../../../electron/core/inventory/schema'

export const TIMELINE_STAGES = [
  'dhcp',
  'tftp',
  'ipxe',
  'kernel',
  'image',
  'overlay',
  'init',
  'agent',
  'up',
] as const
export type TimelineStage = (typeof TIMELINE_STAGES)[number]

export const stageLabels: Record<TimelineStage, string> = {
  dhcp: 'DHCP',
  tftp: 'TFTP',
  ipxe: 'iPXE',
  kernel: 'kernel',
  image: 'image',
  overlay: 'overlay',
  init: 'init',
  agent: 'agent',
  up: 'up',
}

/**
 * 'skipped': this window watched the node pass the stage without a word from it (an iPXE ROM goes from DHCP
 * straight to HTTP, with no TFTP). A stage passed before the window connected is shown 'done' instead.
 */
export type CellStatus = 'pending' | 'active' | 'done' | 'skipped' | 'failed'

export interface StageCell {
  stage: TimelineStage
  status: CellStatus
  bytes: number | null
  total: number | null
  /** Bytes per second over the stage's events, when it moved bytes over measurable time. */
  rate: number | null
  detail: string | null
}

export interface Timeline {
  cells: StageCell[]
  /** The furthest stage reached, for filtering and sorting. */
  current: TimelineStage | null
  /** What went wrong (or is stuck) and what to do next; null when nothing is. */
  problem: { stage: TimelineStage; message: string } | null
}

const FAILED_STEPS = new Set(['failed', 'aborted', 'nak', 'decline', 'error', 'timeout'])
const DONE_STEPS = new Set(['ack', 'done', 'up', 'ready', 'complete'])

/** 'modules' travels with the image (same HTTP route family); the timeline shows one cell for both. */
function cellOf(stage: BootEvent['stage']): TimelineStage {
  return stage === 'modules' ? 'image' : stage
}

export const nextSteps: Record<TimelineStage, string> = {
  dhcp: 'no DHCP answer: is capture on and the node in a planned slot? (a MAC the inventory does not know gets no offer)',
  tftp: 'TFTP failed: check the iPXE binaries (rackboot doctor)',
  ipxe: 'iPXE script failed: does the node have an image? (rackboot nodes list)',
  kernel: 'kernel download failed: check the image (rackboot images list, rackboot doctor)',
  image: 'image download failed: check the image and free disk space (rackboot doctor)',
  overlay: "overlay failed: check the node's overlays exist (rackboot doctor)",
  init: 'init failed: watch the node console (serial or BMC) for the kernel or init error',
  agent: 'the agent did not report: check the node reaches this server over HTTP (firewall, route)',
  up: 'the node went down after it was up: check its console',
}

export function buildTimeline(events: readonly BootEvent[], state: NodeState | null): Timeline {
  const byStage = new Map<TimelineStage, BootEvent[]>()
  for (const e of events) {
    const s = cellOf(e.stage)
    byStage.set(s, [...(byStage.get(s) ?? []), e])
  }
  const reached = TIMELINE_STAGES.filter((s) => byStage.has(s))
  let furthest = reached.length ? TIMELINE_STAGES.indexOf(reached[reached.length - 1]!) : -1
  if (state === 'up') furthest = TIMELINE_STAGES.length - 1
  else if (state === 'booting' && furthest < 0) furthest = 0

  const firstSeen = reached.length ? TIMELINE_STAGES.indexOf(reached[0]!) : -1

  let problem: Timeline['problem'] = null
  const cells = TIMELINE_STAGES.map((stage, i): StageCell => {
    const own = byStage.get(stage) ?? []
    const last = own[own.length - 1]
    const transfer = [...own].reverse().find((e) => e.bytes !== undefined)
    let status: CellStatus = 'pending'
    if (stage === 'up')
      status =
        state === 'up' || byStage.get('agent')?.some((e) => DONE_STEPS.has(e.step)) ? 'done' : 'pending'
    else if (last && FAILED_STEPS.has(last.step)) status = 'failed'
    else if (i < furthest) status = own.length === 0 && firstSeen >= 0 && i > firstSeen ? 'skipped' : 'done'
    else if (last && DONE_STEPS.has(last.step)) status = 'done'
    else if (i === furthest) status = state === 'failed' ? 'failed' : 'active'
    if (status === 'failed' && !problem) problem = { stage, message: nextSteps[stage] }
    return {
      stage,
      status,
      bytes: transfer?.bytes ?? null,
      total: transfer?.total ?? null,
      rate: rateOf(own),
      detail: last?.detail ?? (last ? last.step : null),
    }
  })
  // A DISCOVER that nothing answered is the commonest field problem: say so while it is the latest word.
  const dhcp = byStage.get('dhcp') ?? []
  if (!problem && furthest === 0 && dhcp.length > 0 && !dhcp.some((e) => e.step !== 'discover'))
    problem = { stage: 'dhcp', message: nextSteps.dhcp }
  return { cells, current: furthest >= 0 ? TIMELINE_STAGES[furthest]! : null, problem }
}

function rateOf(events: readonly BootEvent[]): number | null {
  const moved = events.filter((e) => e.bytes !== undefined)
  if (moved.length < 2) return null
  const first = moved[0]!
  const last = moved[moved.length - 1]!
  const seconds = (Date.parse(last.time) - Date.parse(first.time)) / 1000
  if (!(seconds > 0)) return null
  return (last.bytes! - (first.bytes ?? 0)) / seconds
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB']
  let v = n / 1024
  let u = 0
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`
}

/** "1.0 MiB / 4.0 MiB · 512 KiB/s" (just the size once complete): what a transfer cell says under its name. */
export function transferText(c: Pick<StageCell, 'bytes' | 'total' | 'rate'>): string {
  if (c.bytes === null) return ''
  const size =
    c.total && c.total !== c.bytes
      ? `${formatBytes(c.bytes)} / ${formatBytes(c.total)}`
      : formatBytes(c.bytes)
  return c.rate !== null ? `${size} · ${formatRate(c.rate)}` : size
}
