/**
 * Capture mode as a pure state machine: the first PXE DISCOVER from an unknown MAC takes the next empty slot
 * in rack order. A second unknown MAC inside the guard window pauses capture and puts both in front of the
 * engineer, because then nobody knows which node was powered on first: nothing is assigned silently.
 * The caller (DHCP server) passes only PXE clients; BMCs, phones and switches never reach this.
 */
import { compareNodes } from '../inventory/repo'
import type { Node } from '../inventory/schema'

export interface CaptureState {
  active: boolean
  /** Set while two unknown MACs arrived inside the guard window; cleared by resolve/undo/stop. */
  ambiguity: { node: string; candidates: string[] } | null
  /** The last assignment: undo target and start of the guard window. */
  last: { mac: string; node: string; at: number } | null
  /** Unknown MACs seen while capture could not take them, newest last, capped (a flood cannot grow it). */
  waiting: string[]
}

export const MAX_WAITING = 64
export const MAX_CANDIDATES = 8

export const initialCapture: CaptureState = { active: false, ambiguity: null, last: null, waiting: [] }

export type CaptureDecision =
  | { kind: 'known'; node: string }
  | { kind: 'assign'; mac: string; node: string }
  | { kind: 'ambiguous'; node: string; candidates: string[] }
  | { kind: 'waiting'; reason: 'inactive' | 'paused' | 'full' }

/** The planned nodes still without a MAC, in rack order: where the next captured MACs go. */
export function emptySlots(nodes: readonly Node[]): Node[] {
  return nodes.filter((n) => n.macs.length === 0 && n.rack !== null && n.slot !== null).sort(compareNodes)
}

export function onPxeDiscover(
  state: CaptureState,
  nodes: readonly Node[],
  mac: string,
  now: number,
  guardMs: number,
): { state: CaptureState; decision: CaptureDecision } {
  const known = nodes.find((n) => n.macs.includes(mac))
  if (known) return { state, decision: { kind: 'known', node: known.name } }
  if (!state.active) return { state: remember(state, mac), decision: { kind: 'waiting', reason: 'inactive' } }
  if (state.ambiguity) {
    const a = state.ambiguity
    const candidates =
      a.candidates.includes(mac) || a.candidates.length >= MAX_CANDIDATES
        ? a.candidates
        : [...a.candidates, mac]
    return {
      state: { ...state, ambiguity: { ...a, candidates } },
      decision: { kind: 'waiting', reason: 'paused' },
    }
  }
  if (state.last && state.last.mac !== mac && now - state.last.at < guardMs) {
    const ambiguity = { node: state.last.node, candidates: [state.last.mac, mac] }
    return { state: { ...state, ambiguity }, decision: { kind: 'ambiguous', ...ambiguity } }
  }
  const slot = emptySlots(nodes)[0]
  if (!slot) return { state: remember(state, mac), decision: { kind: 'waiting', reason: 'full' } }
  return {
    state: {
      ...state,
      last: { mac, node: slot.name, at: now },
      waiting: state.waiting.filter((m) => m !== mac),
    },
    decision: { kind: 'assign', mac, node: slot.name },
  }
}

function remember(state: CaptureState, mac: string): CaptureState {
  if (state.waiting.includes(mac)) return state
  return { ...state, waiting: [...state.waiting, mac].slice(-MAX_WAITING) }
}
