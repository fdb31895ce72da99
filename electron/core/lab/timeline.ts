/**
 * A lab node's boot as `lab status` shows it: the server's timeline of the node's newest boot (boot/timeline)
 * plus what only the lab knows: when it powered the machine on, whether QEMU still runs, and the console
 * markers the server never sees (the bootstrap starting, `/sbin/init` taking over). Pure.
 */
import {
  type BootRecord,
  type BootState,
  type Milestone,
  type MilestoneMark,
  mark,
  newBoot,
  viewOf,
} from '../boot/timeline/model'

export interface LabTimeline {
  stage: Milestone | null
  /** `off`: QEMU is not running (never started, powered off, or it exited) before the node came up. */
  state: BootState | 'off'
  problem: string | null
  milestones: MilestoneMark[]
  serverRestarts: string[]
}

/** Console lines that mark a milestone, written by Rackboot's bootstrap (images/bootstrap/init-script.ts). */
const CONSOLE_MARKERS: Array<[Milestone, RegExp]> = [
  ['bootstrap', /rackboot-init: node /],
  ['sbin-init', /rackboot-init: exec \/sbin\/init/],
]

export function labTimeline(o: {
  /** The server's newest boot of this MAC; ignored when it started before this power-on (a previous one). */
  boot: BootRecord | null
  console: string
  poweredOnAt: string | null
  running: boolean
  now: number
  stallMs: number
  /** When the console file last changed: the markers carry no time of their own, so this is an upper bound. */
  consoleChangedAt: string | null
}): LabTimeline {
  const fresh =
    o.boot && (!o.poweredOnAt || Date.parse(o.boot.startedAt) >= Date.parse(o.poweredOnAt)) ? o.boot : null
  // No server boot yet: an empty one from power-on, so the lab's own milestones still make a timeline.
  const record: BootRecord = fresh
    ? structuredClone(fresh)
    : newBoot('', o.poweredOnAt ?? new Date(o.now).toISOString())
  if (o.poweredOnAt) mark(record, { milestone: 'power-on', time: o.poweredOnAt })
  for (const [milestone, re] of CONSOLE_MARKERS)
    if (re.test(o.console) && o.consoleChangedAt) {
      mark(record, { milestone, time: o.consoleChangedAt, detail: 'console' })
      if (Date.parse(o.consoleChangedAt) > Date.parse(record.updatedAt)) record.updatedAt = o.consoleChangedAt
    }
  const view = viewOf(record, o.now, o.stallMs)
  const off = !o.running && view.state !== 'up'
  // A transfer the server saw start but not end: where the machine went off (the server may only notice
  // minutes later, when its idle timeout drops the dead connection).
  const cut = Object.entries(view.transfers)
    .filter(([, t]) => t.total !== null && t.bytes < t.total)
    .map(([stage, t]) => `${stage} cut off at ${t.bytes} of ${t.total} bytes`)
  return {
    stage: view.stage,
    state: off ? 'off' : view.state,
    problem: off
      ? view.stage && view.stage !== 'power-on'
        ? `the machine is off; its boot stopped after ${view.stage}${cut.length ? `, ${cut.join(', ')}` : ''}${view.problem ? ` (${view.problem})` : ''}`
        : 'the machine is off'
      : view.problem,
    milestones: view.milestones,
    serverRestarts: view.serverRestarts,
  }
}
