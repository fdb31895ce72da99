/**
 * Starts the elevated boot stack (pkexec + helper, or any CommandLine from commands.ts) and waits for its
 * `rackboot ready {json}` line. That line travels over a pipe only this process holds, so the API token never
 * appears in argv (visible to every user in `ps`). A prompt the user dismissed (pkexec exit 126) or refused
 * (127) is "denied"; anything else that ends the child before it is ready is "failed", with its last words.
 */
import { spawn as spawnChild, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { z } from 'zod'
import { errorMessage } from '../../core/util/result'
import type { Logger } from '../../core/util/logger'
import type { CommandLine } from './commands'

/** pkexec(1): 126 = the authentication dialog was dismissed, 127 = not authorized or could not authenticate. */
export const PKEXEC_DISMISSED = 126
export const PKEXEC_NOT_AUTHORIZED = 127

export interface ElevatedStack {
  /** `http://127.0.0.1:PORT` of the stack's contract API. */
  origin: string
  token: string
  pid: number
  /** Resolves when the stack's process ends, for whatever reason. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** SIGTERM (the stack closes its sockets and flushes its store), SIGKILL after graceMs; idempotent. */
  stop(): Promise<void>
}

export type ElevatedStart =
  { ok: true; stack: ElevatedStack } | { ok: false; reason: 'denied' | 'failed'; message: string }

export interface ElevatedStackOptions {
  logger: Logger
  /** A person is typing a password meanwhile: generous. */
  readyTimeoutMs?: number
  /** How long stop() waits for a clean exit before SIGKILL. */
  graceMs?: number
  spawn?: (command: CommandLine) => ChildProcess
}

const readySchema = z.object({ ui: z.string(), api: z.string(), pid: z.number().int().positive() })
const LOOPBACK_ORIGIN = /^http:\/\/(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|localhost):\d{1,5}$/
const STDERR_TAIL = 2000

/** The stack's origin and token from its ready line; null for any other line. */
export function parseReadyLine(line: string): { origin: string; token: string; pid: number } | null {
  const m = /^rackboot ready (\{.*\})$/.exec(line)
  if (!m) return null
  let raw: unknown
  try {
    raw = JSON.parse(m[1]!)
  } catch {
    return null
  }
  const ready = readySchema.safeParse(raw)
  if (!ready.success || !LOOPBACK_ORIGIN.test(ready.data.api)) return null
  let token: string | null
  try {
    token = new URL(ready.data.ui).searchParams.get('token')
  } catch {
    return null
  }
  return token ? { origin: ready.data.api, token, pid: ready.data.pid } : null
}

const defaultSpawn = (command: CommandLine): ChildProcess =>
  spawnChild(command.command, command.args, { stdio: ['ignore', 'pipe', 'pipe'] })

export function startElevatedStack(command: CommandLine, o: ElevatedStackOptions): Promise<ElevatedStart> {
  const readyTimeoutMs = o.readyTimeoutMs ?? 10 * 60_000
  const graceMs = o.graceMs ?? 10_000
  const child = (o.spawn ?? defaultSpawn)(command)
  let stderrTail = ''
  child.stderr?.on('data', (d: Buffer) => {
    stderrTail = (stderrTail + d.toString()).slice(-STDERR_TAIL)
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }))
    child.once('error', () => resolve({ code: null, signal: null }))
  })
  let stopping: Promise<void> | null = null
  const stop = () =>
    (stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      let timer: NodeJS.Timeout | undefined
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          o.logger.warn(
            `elevated boot stack (PID ${child.pid}) ignored SIGTERM for ${graceMs} ms: killing it`,
          )
          child.kill('SIGKILL')
          resolve()
        }, graceMs)
      })
      await Promise.race([exited, killed])
      clearTimeout(timer)
      await exited
    })())
  const lastWords = () => {
    const last = stderrTail.trim().split('\n').at(-1)
    return last ? `: ${last}` : ''
  }

  return new Promise<ElevatedStart>((resolve) => {
    let settled = false
    const settle = (outcome: ElevatedStart) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(outcome)
    }
    const timer = setTimeout(() => {
      void stop()
      settle({
        ok: false,
        reason: 'failed',
        message: `the administrator prompt or the boot stack did not finish within ${Math.round(readyTimeoutMs / 1000)} s`,
      })
    }, readyTimeoutMs)
    child.once('error', (e) =>
      settle({
        ok: false,
        reason: 'failed',
        message: `cannot start ${command.command}: ${errorMessage(e)}${
          (e as NodeJS.ErrnoException).code === 'ENOENT' ? ' (is polkit installed?)' : ''
        }`,
      }),
    )
    void exited.then(({ code, signal }) => {
      if (code === PKEXEC_DISMISSED || code === PKEXEC_NOT_AUTHORIZED)
        settle({
          ok: false,
          reason: 'denied',
          message: `administrator rights were not granted (pkexec exit ${code})`,
        })
      else
        settle({
          ok: false,
          reason: 'failed',
          message: `the boot stack stopped before it was ready (${signal ?? `exit ${code}`})${lastWords()}`,
        })
    })
    if (!child.stdout) return settle({ ok: false, reason: 'failed', message: 'no pipe to the boot stack' })
    // Keep reading after ready: a full pipe would block the stack's writes.
    createInterface({ input: child.stdout }).on('line', (line) => {
      const ready = parseReadyLine(line)
      if (ready && child.pid !== undefined)
        settle({ ok: true, stack: { ...ready, pid: ready.pid, exited, stop } })
    })
  })
}
