/**
 * A ContractClient for component tests: answers calls from a table (or holds them until the test resolves
 * them), and lets the test push core events.
 */
import type {
  Channel,
  ContractClient,
  EventName,
  Events,
  RequestOf,
  ResponseOf,
} from '../../../electron/ipc/contract'
import { nodeSchema, type Node, type NodeInput } from '../../../electron/core/inventory/schema'
import type { StackStatus } from '../../../electron/ipc/contract'

type Answer<C extends Channel> = ResponseOf<C> | Error | (() => Promise<ResponseOf<C>>)

export class FakeClient implements ContractClient {
  readonly calls: { channel: Channel; request: unknown }[] = []
  private readonly answers = new Map<Channel, Answer<Channel>>()
  private readonly listeners = new Map<EventName, Set<(payload: never) => void>>()

  answer<C extends Channel>(channel: C, value: Answer<C>): this {
    this.answers.set(channel, value as Answer<Channel>)
    return this
  }

  async call<C extends Channel>(channel: C, request: RequestOf<C>): Promise<ResponseOf<C>> {
    this.calls.push({ channel, request })
    const a = this.answers.get(channel)
    if (a === undefined) throw new Error(`${channel}: no answer configured in the fake client`)
    if (a instanceof Error) throw a
    if (typeof a === 'function') return (a as () => Promise<ResponseOf<C>>)()
    return structuredClone(a) as ResponseOf<C>
  }

  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void {
    let set = this.listeners.get(event)
    if (!set) this.listeners.set(event, (set = new Set()))
    set.add(listener as (payload: never) => void)
    return () => set.delete(listener as (payload: never) => void)
  }

  emit<E extends EventName>(event: E, payload: Events[E]): void {
    for (const l of this.listeners.get(event) ?? []) (l as (p: Events[E]) => void)(structuredClone(payload))
  }

  listenerCount(event?: EventName): number {
    if (event) return this.listeners.get(event)?.size ?? 0
    return [...this.listeners.values()].reduce((n, s) => n + s.size, 0)
  }
}

/** Like the headless WebSocket client: reports its connection state. */
export class FakeWsClient extends FakeClient {
  state: 'connecting' | 'open' | 'waiting' | 'closed' = 'connecting'
  private readonly stateListeners = new Set<(state: FakeWsClient['state']) => void>()

  onState(listener: (state: FakeWsClient['state']) => void): () => void {
    this.stateListeners.add(listener)
    return () => this.stateListeners.delete(listener)
  }

  setState(state: FakeWsClient['state']): void {
    this.state = state
    for (const l of this.stateListeners) l(state)
  }

  stateListenerCount(): number {
    return this.stateListeners.size
  }
}

export function node(input: NodeInput): Node {
  return nodeSchema.parse(input)
}

export function stackStatus(overrides: Partial<StackStatus> = {}): StackStatus {
  return {
    state: 'stopped',
    interface: null,
    dhcp: { mode: 'off', listening: null },
    tftp: { listening: null },
    http: { listening: null },
    error: null,
    ...overrides,
  }
}

/** A promise the test settles by hand, to hold a call in flight. */
export function deferred<T>(): { promise: Promise<T>; resolve(value: T): void; reject(e: Error): void } {
  let resolve!: (value: T) => void
  let reject!: (e: Error) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}
