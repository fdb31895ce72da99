/**
 * A subscription several components share: the first start() subscribes, the last user's disposer
 * unsubscribes. A disposer works once (a second call does nothing), so one component stopping twice cannot
 * take another user's subscription away.
 */
export interface SharedSubscription {
  /** Starts following (once for all users); returns this user's disposer. */
  start(): () => void
  /** Whether anyone follows now. */
  active(): boolean
}

export function sharedSubscription(subscribe: () => () => void): SharedSubscription {
  let users = 0
  let unsubscribe: (() => void) | null = null
  return {
    start() {
      users += 1
      unsubscribe ??= subscribe()
      let stopped = false
      return () => {
        if (stopped) return
        stopped = true
        users -= 1
        if (users > 0) return
        unsubscribe?.()
        unsubscribe = null
      }
    },
    active: () => users > 0,
  }
}
