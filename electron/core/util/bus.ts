/** A typed event bus with disposers; owned by the core, one per running instance (no module state). */
export class EventBus<E extends object> {
  private readonly listeners = new Map<keyof E, Set<(payload: never) => void>>()

  on<K extends keyof E>(name: K, listener: (payload: E[K]) => void): () => void {
    let set = this.listeners.get(name)
    if (!set) this.listeners.set(name, (set = new Set()))
    set.add(listener as (payload: never) => void)
    return () => set.delete(listener as (payload: never) => void)
  }

  /** Listens to every event; used by transports that forward all events to a UI. */
  onAny(listener: <K extends keyof E>(name: K, payload: E[K]) => void): () => void {
    this.anyListeners.add(listener)
    return () => this.anyListeners.delete(listener)
  }
  private readonly anyListeners = new Set<<K extends keyof E>(name: K, payload: E[K]) => void>()

  emit<K extends keyof E>(name: K, payload: E[K]): void {
    for (const l of this.listeners.get(name) ?? []) (l as (p: E[K]) => void)(payload)
    for (const l of this.anyListeners) l(name, payload)
  }

  listenerCount(): number {
    let n = this.anyListeners.size
    for (const s of this.listeners.values()) n += s.size
    return n
  }
}
