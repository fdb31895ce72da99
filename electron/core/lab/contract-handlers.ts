/**
 * `lab/status` and `lab/power`: the virtual rack through the contract, for the UI of a lab's own serve.
 * The lab itself (lab.ts) does the work; this file adds what a long-lived core needs and the one-shot CLI
 * does not: one state-file change at a time (two clicks must not overwrite each other's state.json) and an
 * `all` power-on with an interval that goes on after the answer and that a power-off cancels.
 * Outside a lab (no deps) both channels answer 'not a virtual rack'.
 */
import { setTimeout as delay } from 'node:timers/promises'
import type { Handlers, LabNodeView, LabStatusView } from '../../ipc/contract'
import type { Logger } from '../util/logger'
import { RackbootError, errorMessage } from '../util/result'
import type { Lab } from './lab'

/** What the handlers use of a Lab (tests pass a fake). */
export type LabControl = Pick<Lab, 'state' | 'status' | 'powerOn' | 'powerOff'>

export interface LabHandlerDeps {
  lab: LabControl
  logger: Logger
  /** Waits `ms` or until `signal` aborts (then rejects); defaults to a real timer. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>
}

export interface LabHandlers {
  handlers: Pick<Handlers, 'lab/status' | 'lab/power'>
  /** Cancels a running interval power-on and waits for it; the nodes already on stay on. */
  stop(): Promise<void>
}

const notALab = () =>
  new RackbootError(
    'this Rackboot is not a virtual rack: lab/status and lab/power answer only in the serve of `rackboot lab up`',
    'not-found',
    'start one with `npm start -- --lab` or `rackboot lab up --ui` (Linux, root, qemu)',
  )

export function createLabHandlers(deps: LabHandlerDeps | null): LabHandlers {
  if (!deps)
    return {
      handlers: {
        'lab/status': async () => {
          throw notALab()
        },
        'lab/power': async () => {
          throw notALab()
        },
      },
      stop: async () => undefined,
    }
  const { lab, logger } = deps
  const sleep = deps.sleep ?? ((ms: number, signal: AbortSignal) => delay(ms, undefined, { signal }))
  // One change of the lab state at a time: each Lab call reads and rewrites state.json whole.
  let queue: Promise<unknown> = Promise.resolve()
  const serial = <T>(f: () => Promise<T>): Promise<T> => {
    const next = queue.then(f, f)
    queue = next.catch(() => undefined)
    return next
  }
  let sequence: { pending: number[]; abort: AbortController; done: Promise<void> } | null = null

  const cancelSequence = async () => {
    const s = sequence
    if (!s) return
    s.abort.abort()
    await s.done
  }

  /** Powers `slots` on in order, `intervalS` apart (counted between nodes actually started). */
  const powerOnInOrder = async (slots: number[], intervalS: number) => {
    const started: number[] = []
    let i = 0
    // Up to and including the first node started: the answer says it is on.
    for (; i < slots.length && started.length === 0; i++)
      started.push(...(await serial(() => lab.powerOn(slots[i]!))))
    const rest = slots.slice(i)
    if (rest.length === 0) return { slots: started, pending: [] }
    if (intervalS === 0) {
      for (const slot of rest) started.push(...(await serial(() => lab.powerOn(slot))))
      return { slots: started, pending: [] }
    }
    const abort = new AbortController()
    const s = { pending: rest, abort, done: Promise.resolve() }
    s.done = (async () => {
      try {
        // The interval runs between nodes actually started: an already-running one took no time.
        let wait = true
        while (s.pending.length > 0) {
          if (wait) await sleep(intervalS * 1000, abort.signal)
          const slot = s.pending[0]!
          const on = await serial(() => lab.powerOn(slot))
          s.pending = s.pending.filter((p) => p !== slot)
          wait = on.length > 0
        }
      } catch (e) {
        if (!abort.signal.aborted) logger.warn(`lab: power-on in rack order stopped: ${errorMessage(e)}`)
      } finally {
        if (sequence === s) sequence = null
      }
    })()
    sequence = s
    return { slots: started, pending: [...rest] }
  }

  return {
    handlers: {
      'lab/status': async (): Promise<LabStatusView> => {
        const s = await lab.status()
        const nodes: LabNodeView[] = s.nodes.map((n) => ({
          slot: n.slot,
          name: n.name,
          mac: n.mac,
          firmware: n.firmware,
          running: n.running,
          stage: n.stage,
          bootStage: n.timeline.stage,
          bootState: n.timeline.state,
          problem: n.timeline.problem,
          lastLine: n.lastLine,
        }))
        return {
          prefix: s.state.prefix,
          subnet: s.state.subnet,
          interface: s.state.serverInterface,
          serverAddress: s.state.serverAddress,
          serveRunning: s.serveRunning,
          nodes,
          pending: sequence ? [...sequence.pending] : [],
        }
      },
      'lab/power': async (req) => {
        if (!req.on) {
          if (req.slot === 'all') await cancelSequence()
          else if (sequence) sequence.pending = sequence.pending.filter((p) => p !== req.slot)
          const slots = await serial(() => lab.powerOff(req.slot))
          return { slots, pending: sequence ? [...sequence.pending] : [] }
        }
        if (req.slot !== 'all') return { slots: await serial(() => lab.powerOn(req.slot)), pending: [] }
        // A second 'all' replaces a sequence still running (its next slots are among these).
        await cancelSequence()
        const state = await lab.state()
        if (!state) throw new RackbootError('the virtual rack is gone (no lab state)', 'not-found')
        const all = state.nodes.map((n) => n.slot).sort((a, b) => a - b)
        return powerOnInOrder(all, req.intervalS)
      },
    },
    stop: cancelSequence,
  }
}
