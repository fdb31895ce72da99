/**
 * Which core the window talks to, and the hand-over between them. The window starts with its own
 * unprivileged core. To serve DHCP/TFTP it hands the data dir to the elevated stack: it closes its core
 * first (the store's lock allows one writer per data dir, and a closed store has flushed everything), starts
 * the stack through the one OS prompt, and then talks to it over its authenticated loopback contract. A denied
 * prompt, a stack that fails to start, or one that later dies gives the data dir back: the window reopens its
 * own core and says so in one sentence. Electron-free: the lifecycle injects how each step is done.
 */
import type { AppNotice, CallResult, Channel } from '../ipc/contract'
import { failure } from '../core/api/protocol'
import type { Logger } from '../core/util/logger'
import { errorMessage } from '../core/util/result'
import type { AnyEventListener, CoreBackend } from './backend/backend'
import type { CommandLine } from './privilege/commands'
import type { ElevatedStack, ElevatedStart } from './privilege/elevated-stack'

export interface CoreHostDeps {
  /** Opens the in-process core (takes the data dir lock); stackError says why its stack did not start. */
  openLocal(): Promise<{ backend: CoreBackend; stackError: unknown }>
  startElevated(command: CommandLine): Promise<ElevatedStart>
  /** Connects to a ready elevated stack; onLost fires if its connection ends on its own. */
  connect(stack: ElevatedStack, onLost: (reason: string) => void): Promise<CoreBackend>
  /** Every notice also reaches the event listeners as `app/notice`; this is for the log. */
  notify(notice: AppNotice): void
  logger: Logger
}

export type ElevateOutcome = 'elevated' | 'denied' | 'failed' | 'busy'

export interface CoreHost {
  /** Never throws; while the core changes hands a call fails with a message saying so. */
  dispatch(channel: unknown, payload: unknown): Promise<CallResult<Channel>>
  /** Events of whichever core is current; the listener survives hand-overs. */
  onAny(listener: AnyEventListener): () => void
  kind(): CoreBackend['kind'] | 'none'
  /** Hands the data dir to the elevated stack started by `command`; falls back to the own core on failure. */
  elevate(command: CommandLine): Promise<ElevateOutcome>
  /** Resolves once the current hand-over (if any) has finished; for the lifecycle and tests. */
  settled(): Promise<void>
  /** Closes the current core, stopping an elevated stack this window started; idempotent. */
  close(): Promise<void>
}

export const DENIED_MESSAGE =
  'Administrator rights were not granted, so the boot stack runs without them (no DHCP or TFTP); everything else works.'

/** Opens the own core and returns a host around it, plus why its stack did not start (null when it runs). */
export async function openCoreHost(deps: CoreHostDeps): Promise<{ host: CoreHost; stackError: unknown }> {
  const first = await deps.openLocal()
  const listeners = new Set<AnyEventListener>()
  let current: CoreBackend | null = null
  let unsubscribe: () => void = () => {}
  /** Why there is no core right now (shown to calls made meanwhile). */
  let gap = 'the boot stack is changing hands'
  let elevated: ElevatedStack | null = null
  let work: Promise<unknown> = Promise.resolve()
  let busy = false
  let closed = false

  const use = (backend: CoreBackend | null) => {
    unsubscribe()
    unsubscribe = () => {}
    current = backend
    if (backend) unsubscribe = backend.onAny((name, payload) => forEach(listeners, (l) => l(name, payload)))
  }
  use(first.backend)
  const notify = (notice: AppNotice) => {
    deps.notify(notice)
    forEach(listeners, (l) => l('app/notice', notice))
  }

  /** Reopens the own core after the elevated one is gone; says so with `message`. */
  async function reopenLocal(message: string, level: AppNotice['level']): Promise<void> {
    try {
      const { backend } = await deps.openLocal()
      if (closed) return void (await backend.close())
      use(backend)
      notify({ level, message, coreSwitched: true })
    } catch (e) {
      gap = `Rackboot could not reopen its data: ${errorMessage(e)}`
      deps.logger.error(gap)
      notify({ level: 'error', message: gap, coreSwitched: true })
    }
  }

  /** The elevated stack ended (exit, crash, lost socket): make sure it is gone, then take the data dir back. */
  function lost(stack: ElevatedStack, reason: string): void {
    if (elevated !== stack || closed) return
    elevated = null
    busy = true
    const backend = current
    use(null)
    gap = 'the elevated boot stack stopped; Rackboot is reopening its own core'
    work = (async () => {
      await backend?.close()
      await stack.stop()
      deps.logger.warn(`elevated boot stack ended: ${reason}`)
      await reopenLocal(
        `The elevated boot stack stopped (${reason}); Rackboot reopened its own core without administrator rights.`,
        'warn',
      )
    })().finally(() => (busy = false))
  }

  async function elevate(command: CommandLine): Promise<ElevateOutcome> {
    if (busy || closed || current?.kind !== 'in-process') return 'busy'
    busy = true
    const task = (async (): Promise<ElevateOutcome> => {
      const own = current
      use(null)
      gap = 'waiting for the administrator prompt: the data dir is being handed to the elevated boot stack'
      // Releases the data dir lock; the store flushes every pending write first.
      await own?.close()
      const started = await deps.startElevated(command)
      if (!started.ok) {
        deps.logger.warn(`elevated boot stack: ${started.message}`)
        await reopenLocal(
          started.reason === 'denied'
            ? DENIED_MESSAGE
            : `The boot stack could not start with administrator rights (${started.message}); Rackboot runs it without them.`,
          'warn',
        )
        return started.reason
      }
      const stack = started.stack
      let backend: CoreBackend
      try {
        backend = await deps.connect(stack, (reason) => lost(stack, reason))
      } catch (e) {
        await stack.stop()
        await reopenLocal(
          `The elevated boot stack started but did not answer (${errorMessage(e)}); Rackboot runs the stack without administrator rights.`,
          'warn',
        )
        return 'failed'
      }
      if (closed) {
        await backend.close()
        await stack.stop()
        return 'failed'
      }
      elevated = stack
      use(backend)
      void stack.exited.then(({ code, signal }) => lost(stack, signal ?? `exit ${code}`))
      notify({
        level: 'info',
        message: `The boot stack now runs with administrator rights (PID ${stack.pid}); this window talks to it.`,
        coreSwitched: true,
      })
      return 'elevated'
    })()
    work = task
    return task.finally(() => (busy = false))
  }

  const host: CoreHost = {
    dispatch(channel, payload) {
      if (current) return current.dispatch(channel, payload)
      return Promise.resolve(failure('internal', `${gap}; try again in a moment`))
    },
    onAny(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    kind: () => current?.kind ?? 'none',
    elevate,
    settled: async () => {
      // A hand-over may start another step (lost → reopen): wait until the chain is quiet.
      for (let i = 0; i < 10 && busy; i++) await work.catch(() => {})
    },
    async close() {
      if (closed) return
      closed = true
      await work.catch(() => {})
      const backend = current
      const stack = elevated
      elevated = null
      use(null)
      gap = 'Rackboot is closing'
      await backend?.close()
      await stack?.stop()
    },
  }
  return { host, stackError: first.stackError }
}

/** Calls every listener; one that throws does not stop the others. */
function forEach<T>(set: Set<T>, call: (item: T) => void): void {
  for (const item of set) {
    try {
      call(item)
    } catch {
      // A window that is gone must not stop events to the others.
    }
  }
}
