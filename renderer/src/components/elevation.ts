/** What the rack elevation draws per node, and the word each state is written as. */
import type { NodeState } from '../../../electron/core/inventory/schema'

export interface ElevationNode {
  name: string
  slot: number
  heightU: number
  ipv4: string | null
  macs: string[]
  /** 'new' = in the plan on screen, not saved yet. */
  state: NodeState | 'new'
  /** Why this planned node cannot be applied, if it cannot. */
  problem?: string | null
}

export const stateLabels: Record<ElevationNode['state'], string> = {
  new: 'new',
  planned: 'planned',
  captured: 'captured',
  booting: 'booting',
  up: 'up',
  failed: 'failed',
}
