/**
 * The elevated stack on Windows: the UAC prompt comes from an unelevated PowerShell that starts the elevated
 * one and exits (commands.ts, windowsElevatedServe), so no pipe reaches the stack. Its exit code says whether
 * the prompt was accepted; the stack then announces itself the way `rackboot serve` always does, in
 * `<dataDir>/rackboot.api.json` (URL, token, PID; in the user's own profile, mode 0600 where modes exist).
 * A handle from an earlier run is never taken: it must be newer than the prompt and name a live PID.
 */
import { spawn as spawnChild, type ChildProcess } from 'node:child_process'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { z } from 'zod'
import { errorMessage } from '../../core/util/result'
import type { Logger } from '../../core/util/logger'
import { API_HANDLE_FILE } from '../../cli/serve'
import type { CommandLine } from './commands'
import type { ElevatedStack, ElevatedStart } from './elevated-stack'

export interface DetachedOptions {
  dataDir: string
  logger: Logger
  readyTimeoutMs?: number
  /** How often the handle file and the stack's PID are looked at. */
  pollMs?: number
  graceMs?: number
  spawn?: (command: CommandLine) => ChildProcess
}

const handleSchema = z.object({
  url: z.string().regex(/^http:\/\/(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|localhost):\d{1,5}$/),
  token: z.string().min(16),
  pid: z.number().int().positive(),
})

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The handle of a stack started after `since`, or null (absent, half-written, stale, dead). */
async function freshHandle(file: string, since: number): Promise<z.infer<typeof handleSchema> | null> {
  try {
    const info = await stat(file)
    if (info.mtimeMs < since) return null
    const parsed = handleSchema.safeParse(JSON.parse(await readFile(file, 'utf8')))
    return parsed.success && parsed.data.pid !== process.pid && alive(parsed.data.pid) ? parsed.data : null
  } catch {
    return null
  }
}

const defaultSpawn = (command: CommandLine): ChildProcess =>
  spawnChild(command.command, command.args, { stdio: ['ignore', 'ignore', 'pipe'], windowsHide: true })

export async function startElevatedDetached(
  command: CommandLine,
  o: DetachedOptions,
): Promise<ElevatedStart> {
  const readyTimeoutMs = o.readyTimeoutMs ?? 10 * 60_000
  const pollMs = o.pollMs ?? 250
  const graceMs = o.graceMs ?? 10_000
  // Coarse file system clocks: a second of slack, and the PID check still refuses a dead writer.
  const since = Date.now() - 1000
  const launcher = (o.spawn ?? defaultSpawn)(command)
  let stderr = ''
  launcher.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)))
  const code = await new Promise<number | null>((resolve) => {
    launcher.once('exit', (c) => resolve(c))
    launcher.once('error', (e) => {
      stderr = errorMessage(e)
      resolve(null)
    })
  })
  const last = stderr.trim().split('\n').at(-1) ?? ''
  if (code !== 0) {
    // Start-Process -Verb RunAs: "The operation was canceled by the user." when UAC is declined.
    if (/cancel/i.test(stderr))
      return { ok: false, reason: 'denied', message: 'administrator rights were not granted (UAC declined)' }
    return {
      ok: false,
      reason: 'failed',
      message: `the elevation prompt failed (exit ${code})${last ? `: ${last}` : ''}`,
    }
  }
  const file = join(o.dataDir, API_HANDLE_FILE)
  const deadline = Date.now() + readyTimeoutMs
  let handle: z.infer<typeof handleSchema> | null = null
  while (!handle && Date.now() < deadline) {
    await sleep(pollMs)
    handle = await freshHandle(file, since)
  }
  if (!handle)
    return {
      ok: false,
      reason: 'failed',
      message: `the elevated boot stack did not announce itself in ${file} within ${Math.round(readyTimeoutMs / 1000)} s`,
    }
  const { pid } = handle
  // Not our child: its end is seen by polling its PID.
  const exited = (async () => {
    while (alive(pid)) await sleep(pollMs)
    return { code: null, signal: null }
  })()
  let stopping: Promise<void> | null = null
  const stack: ElevatedStack = {
    origin: handle.url,
    token: handle.token,
    pid,
    exited,
    stop: () =>
      (stopping ??= (async () => {
        if (!alive(pid)) return
        try {
          process.kill(pid, 'SIGTERM')
        } catch (e) {
          o.logger.warn(`cannot stop the elevated boot stack (PID ${pid}): ${errorMessage(e)}`)
          return
        }
        const done = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)])
        if (!done && alive(pid)) process.kill(pid, 'SIGKILL')
        await exited
      })()),
  }
  return { ok: true, stack }
}
