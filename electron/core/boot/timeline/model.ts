/**
 * One boot of one machine, as a timeline: the server's boot events folded into named milestones (DHCP
 * discover → … → agent up), a current stage and a state that says what went wrong. Pure: the recorder
 * (recorder.ts) keeps these in files; the lab adds power-on and console markers (lab/timeline.ts).
 */
import type { BootEvent } from '../events'

/** Boot milestones in order. power-on and sbin-init come from outside the server (the lab, a console). */
export const MILESTONES = [
  'power-on',
  'dhcp-discover',
  'dhcp-ack',
  'tftp',
  'ipxe-script',
  'kernel',
  'image',
  'overlays',
  'bootstrap',
  'sbin-init',
  'agent-up',
] as const
export type Milestone = (typeof MILESTONES)[number]

export interface MilestoneMark {
  milestone: Milestone
  time: string
  detail?: string
}

/**
 * running: events still coming; up: the agent reported; failed: a transfer or DHCP failed and nothing
 * came after; aborted: a transfer stopped half-way (machine off or reset) and nothing came after; stalled:
 * no event for `stallMs` before reaching up. The last three carry `problem`.
 */
export type BootState = 'running' | 'up' | 'failed' | 'aborted' | 'stalled'

export interface BootRecord {
  version: 1
  /** `<mac with dashes>/<startedAt>`: unique per machine and boot. */
  id: string
  mac: string
  node: string | null
  startedAt: string
  updatedAt: string
  /** The first firmware that asked (BIOS PXE, UEFI PXE, iPXE …). */
  clientType: string | null
  ip: string | null
  milestones: MilestoneMark[]
  /** Set by the recorder when it found this boot on disk after a restart: the gap is the server's, not the node's. */
  serverRestarts: string[]
  /** The last step of each stage and every failure, bounded (progress events only update `transfers`). */
  events: BootEvent[]
  /** Bytes moved per stage, from progress events: the last count seen. */
  transfers: Record<string, { bytes: number; total: number | null }>
}

export interface BootView extends BootRecord {
  state: BootState
  /** The furthest milestone reached. */
  stage: Milestone | null
  problem: string | null
}

export const MAX_EVENTS = 200

const PXE_CLIENTS = new Set(['BIOS PXE', 'UEFI PXE', 'iPXE', 'HTTPBoot', 'PXE (other)'])
/**
 * Milestones after which a firmware or iPXE DISCOVER means the machine started over (reset, power cycle):
 * once iPXE runs its script nothing in a boot asks DHCP as PXE again (its retries and waits re-fetch over HTTP).
 */
const PAST_FIRMWARE = new Set<Milestone>(MILESTONES.slice(MILESTONES.indexOf('ipxe-script')))
const FAILED = new Set(['failed', 'nak', 'no-offer', 'init-failed'])

export const macKey = (mac: string): string => mac.toLowerCase().replace(/:/g, '-')

export function newBoot(mac: string, time: string): BootRecord {
  return {
    version: 1,
    id: `${macKey(mac)}/${time}`,
    mac,
    node: null,
    startedAt: time,
    updatedAt: time,
    clientType: null,
    ip: null,
    milestones: [],
    serverRestarts: [],
    events: [],
    transfers: {},
  }
}

/**
 * Whether `e` may start a timeline for a MAC that has none (the recorder follows a MAC once it has one): a
 * boot we can follow starts at a PXE firmware or iPXE, or is a known node's. A plain DHCP client that is no
 * node (a phone, a BMC, a load generator's 20,000 MACs) is not a machine booting from us, and a file written
 * per such client and DHCP step cost ~30× the exchange itself (bench/dhcp-engine.ts --timelines).
 */
export function startsTimeline(e: BootEvent): boolean {
  return e.stage !== 'dhcp' || e.node !== null || PXE_CLIENTS.has(e.clientType ?? '')
}

/**
 * True when `e` starts a new boot rather than continuing `current`: a firmware DISCOVER after the boot got
 * past the firmware stages, or after it ended in a failure or abort, or after `gapMs` of silence.
 */
export function startsNewBoot(current: BootRecord | null, e: BootEvent, gapMs: number): boolean {
  if (!current) return true
  if (Date.parse(e.time) - Date.parse(current.updatedAt) > gapMs) return true
  if (e.stage !== 'dhcp' || e.step !== 'discover' || !PXE_CLIENTS.has(e.clientType ?? '')) return false
  const last = current.events.at(-1)
  if (last && (last.step === 'aborted' || (last.stage !== 'dhcp' && FAILED.has(last.step)))) return true
  return current.milestones.some((m) => PAST_FIRMWARE.has(m.milestone))
}

function milestoneOf(e: BootEvent): Milestone | null {
  switch (e.stage) {
    case 'dhcp':
      return e.step === 'discover' ? 'dhcp-discover' : e.step === 'ack' ? 'dhcp-ack' : null
    case 'tftp':
      return e.step === 'done' ? 'tftp' : null
    case 'ipxe':
      return e.step === 'done' ? 'ipxe-script' : null
    case 'kernel':
      return e.step === 'done' ? 'kernel' : null
    case 'image':
    case 'modules':
      return e.step === 'done' ? 'image' : null
    case 'overlay':
      return e.step === 'done' ? 'overlays' : null
    case 'init':
      return e.step === 'init' ? 'bootstrap' : null
    case 'agent':
      return e.step === 'up' ? 'agent-up' : null
  }
}

/** Adds a milestone once (the first time it is reached in this boot); returns whether it was new. */
export function mark(r: BootRecord, m: MilestoneMark): boolean {
  if (r.milestones.some((x) => x.milestone === m.milestone)) return false
  r.milestones.push(m)
  r.milestones.sort((a, b) => MILESTONES.indexOf(a.milestone) - MILESTONES.indexOf(b.milestone))
  return true
}

/**
 * How soon an event should reach the disk: 'now' for a boot ending badly (aborted, failed: rare, and what a
 * crash right after must not lose), 'soon' for a new milestone or a transfer's first bytes, 'later' for
 * routine steps and progress.
 */
export type SaveUrgency = 'now' | 'soon' | 'later'

/** Folds one event into the record (mutates it; the recorder owns it) and says how soon to save it. */
export function applyEvent(r: BootRecord, e: BootEvent): SaveUrgency {
  r.updatedAt = e.time
  if (e.node) r.node = e.node
  if (!r.clientType && e.clientType) r.clientType = e.clientType
  if (e.ip && (e.step === 'ack' || r.ip === null)) r.ip = e.ip
  // The first bytes of a stage are saved at once: a machine that dies right after shows where it was.
  const started = e.bytes !== undefined && !(e.stage in r.transfers)
  if (e.bytes !== undefined) r.transfers[e.stage] = { bytes: e.bytes, total: e.total ?? null }
  if (e.step === 'progress' || e.step === 'heartbeat') {
    // An agent whose `up` report never arrived (its NIC came up after the bootstrap tried) is up at its
    // first heartbeat the server hears.
    if (e.stage === 'agent' && e.step === 'heartbeat')
      return mark(r, { milestone: 'agent-up', time: e.time, detail: 'first heartbeat' }) || started
        ? 'soon'
        : 'later'
    return started ? 'soon' : 'later'
  }
  r.events.push(e)
  if (r.events.length > MAX_EVENTS) r.events.splice(0, r.events.length - MAX_EVENTS)
  const m = milestoneOf(e)
  const reached =
    m !== null && mark(r, { milestone: m, time: e.time, ...(e.detail ? { detail: e.detail } : {}) })
  if (e.step === 'aborted' || FAILED.has(e.step)) return 'now'
  return reached || started ? 'soon' : 'later'
}

const NEXT: Partial<Record<Milestone | 'none', string>> = {
  'power-on': 'no DHCP DISCOVER reached the server: is it running, on the interface the node is wired to?',
  none: 'no DHCP answer: is the MAC planned, or capture on? (unknown MACs get no offer otherwise)',
  'dhcp-discover': 'DISCOVERs but no lease: is the MAC planned, capture on, the pool not full?',
  'dhcp-ack': 'leased but fetched no boot file: check TFTP/HTTP reach the node (rackboot doctor)',
  tftp: 'got the iPXE binary but asked for no script: watch the node console',
  'ipxe-script': 'has its script but fetched no kernel: does the node have an image? (rackboot nodes list)',
  kernel: 'kernel but no image: check the image and free disk space (rackboot doctor)',
  image: 'image but no overlays: check the overlays (rackboot doctor)',
  overlays: 'everything downloaded but the bootstrap never reported: watch the node console',
  bootstrap: 'the bootstrap ran but the agent never reported: does the image start it? network up?',
  'sbin-init': 'init started but the agent never reported: check the node reaches this server over HTTP',
}

/** The record with its state at `now`. */
export function viewOf(r: BootRecord, now: number, stallMs: number): BootView {
  const stage = r.milestones.at(-1)?.milestone ?? null
  const last = r.events.at(-1)
  const where = stage ?? 'none'
  let state: BootState = 'running'
  let problem: string | null = null
  if (r.milestones.some((m) => m.milestone === 'agent-up')) state = 'up'
  else if (last?.step === 'aborted') {
    state = 'aborted'
    problem = `${last.stage} stopped half-way (${transferText(r, last.stage)}): the machine went off or reset`
  } else if (last && FAILED.has(last.step)) {
    state = 'failed'
    problem = `${last.stage} ${last.step}${last.detail ? `: ${last.detail}` : ''}`
  } else if (now - Date.parse(r.updatedAt) > stallMs) {
    state = 'stalled'
    problem = `nothing for ${Math.round((now - Date.parse(r.updatedAt)) / 1000)} s after ${where}: ${NEXT[where] ?? 'watch the node console'}`
  }
  return { ...r, state, stage, problem }
}

function transferText(r: BootRecord, stage: string): string {
  const t = r.transfers[stage]
  if (!t) return 'no bytes'
  return t.total ? `${t.bytes} of ${t.total} bytes` : `${t.bytes} bytes`
}
