/**
 * Capture mode with its effects: runs the pure state machine (capture.ts) for each PXE DISCOVER, writes
 * assignments through the inventory, and tells the UI. Undo and ambiguity resolution live here too.
 */
import type { InventoryRepo } from '../inventory/repo'
import { RackbootError, errorMessage } from '../util/result'
import type { Logger } from '../util/logger'
import { emptySlots, initialCapture, onPxeDiscover, type CaptureState } from './capture'
import type { CaptureEvent, CaptureStatus } from './events'

export type { CaptureStatus }

export class CaptureController {
  private state: CaptureState = initialCapture
  /** Serialises decisions: two DISCOVERs must not both see the same empty slot. */
  private queue: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly deps: {
      repo: InventoryRepo
      now(): number
      logger: Logger
      onEvent(e: CaptureEvent): void
      onChange(s: CaptureStatus): void
    },
  ) {}

  status(): CaptureStatus {
    const next = emptySlots(this.deps.repo.listNodes())[0]
    return {
      active: this.state.active,
      ambiguity: this.state.ambiguity,
      last: this.state.last ? { mac: this.state.last.mac, node: this.state.last.node } : null,
      next: next ? { node: next.name, rack: next.rack, slot: next.slot } : null,
      waiting: [...this.state.waiting],
    }
  }

  start(): CaptureStatus {
    this.state = { ...this.state, active: true }
    return this.changed()
  }

  stop(): CaptureStatus {
    this.state = { ...initialCapture, waiting: this.state.waiting }
    return this.changed()
  }

  onPxeDiscover(mac: string, uuid: string | undefined): Promise<void> {
    const run = this.queue.then(() => this.decide(mac, uuid))
    this.queue = run.catch(() => undefined)
    return run
  }

  private async decide(mac: string, uuid: string | undefined): Promise<void> {
    const now = this.deps.now()
    const guardMs = this.deps.repo.settings().captureGuardSeconds * 1000
    const { state, decision } = onPxeDiscover(this.state, this.deps.repo.listNodes(), mac, now, guardMs)
    this.state = state
    const time = new Date(now).toISOString()
    switch (decision.kind) {
      case 'known':
        if (uuid) this.deps.repo.recordUuid(mac, uuid)
        return
      case 'assign':
        try {
          await this.deps.repo.assignMac(decision.node, mac)
          if (uuid) this.deps.repo.recordUuid(mac, uuid)
          this.deps.onEvent({ kind: 'assigned', mac, node: decision.node, time })
        } catch (e) {
          this.state = { ...this.state, last: null }
          this.deps.logger.warn(`capture: could not assign ${mac} to ${decision.node}: ${errorMessage(e)}`)
          this.deps.onEvent({ kind: 'duplicate', mac, node: decision.node, detail: errorMessage(e), time })
        }
        break
      case 'ambiguous':
        // Neither candidate keeps the slot while the question is open: the first one would otherwise boot
        // as that node (name, address, image) though it may be the wrong machine.
        await this.takeBack(decision.node, decision.candidates[0]!)
        this.deps.onEvent({ kind: 'ambiguous', node: decision.node, candidates: decision.candidates, time })
        break
      case 'waiting':
        if (decision.reason === 'full') this.deps.onEvent({ kind: 'full', mac, time })
        break
    }
    this.changed()
  }

  /** Takes back the last assignment: its MAC leaves the node, the slot is empty again. */
  async undo(): Promise<CaptureStatus> {
    const last = this.state.last
    if (!last) throw new RackbootError('nothing to undo: no assignment since capture started', 'not-found')
    await this.takeBack(last.node, last.mac)
    this.state = { ...this.state, last: null, ambiguity: null }
    this.deps.onEvent({
      kind: 'undone',
      mac: last.mac,
      node: last.node,
      time: new Date(this.deps.now()).toISOString(),
    })
    return this.changed()
  }

  /**
   * Ends an ambiguity: the MACs in `order` take the questioned slot and the next empty ones, in that order;
   * candidates left out are not assigned. The questioned assignment is undone first.
   */
  async resolve(order: string[]): Promise<CaptureStatus> {
    const a = this.state.ambiguity
    if (!a) throw new RackbootError('there is no ambiguity to resolve', 'not-found')
    const stray = order.filter((m) => !a.candidates.includes(m))
    if (stray.length > 0)
      throw new RackbootError(
        `not among the candidates (${a.candidates.join(', ')}): ${stray.join(', ')}`,
        'bad-request',
      )
    if (new Set(order).size !== order.length)
      throw new RackbootError('a MAC appears twice in the order', 'bad-request')
    const last = this.state.last
    if (last) await this.takeBack(last.node, last.mac)
    const time = new Date(this.deps.now()).toISOString()
    for (const mac of order) {
      const slot = emptySlots(this.deps.repo.listNodes())[0]
      if (!slot) throw new RackbootError(`no empty slot left for ${mac}`, 'conflict')
      await this.deps.repo.assignMac(slot.name, mac)
      this.deps.onEvent({ kind: 'assigned', mac, node: slot.name, time })
    }
    this.state = {
      ...this.state,
      ambiguity: null,
      last: null,
      waiting: this.state.waiting.filter((m) => !order.includes(m)),
    }
    return this.changed()
  }

  /** Removes `mac` from `node` when it is still there (an ambiguity may already have taken it back). */
  private async takeBack(node: string, mac: string): Promise<void> {
    if (this.deps.repo.listNodes().some((n) => n.name === node && n.macs.includes(mac)))
      await this.deps.repo.unassignMac(node, mac)
  }

  private changed(): CaptureStatus {
    const s = this.status()
    this.deps.onChange(s)
    return s
  }
}
