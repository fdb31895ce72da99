/**
 * Processes a benchmark starts: one-shot commands with a deadline, and long-running servers stopped by their
 * own PID. A `Cleanup` runs every registered stop on normal exit, on error and on Ctrl-C.
 */
import { spawn } from 'node:child_process'
import path from 'node:path'

export interface RunResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  ms: number
  timedOut: boolean
}

/** Runs argv to completion; killed (SIGKILL, by its PID) after timeoutMs. Never rejects. */
export function run(argv: string[], o: { timeoutMs: number; cwd?: string }): Promise<RunResult> {
  const started = performance.now()
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => {
      timedOut = true
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL')
    }, o.timeoutMs)
    child.on('error', (e) => {
      clearTimeout(timer)
      resolve({
        code: null,
        signal: null,
        stdout,
        stderr: stderr + e.message,
        ms: performance.now() - started,
        timedOut,
      })
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started, timedOut })
    })
  })
}

export interface Daemon {
  name: string
  pid: number
  /** stdout + stderr so far (last 64 KiB). */
  output(): string
  /** SIGTERM, then SIGKILL after graceMs; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>
}

/**
 * Starts a long-running process and waits until `ready` resolves true (polled) or a line of its output matches
 * `readyLine`. Rejects, after killing it, if it exits or is not ready within readyTimeoutMs.
 */
export async function startDaemon(
  name: string,
  argv: string[],
  o: { readyLine?: RegExp; ready?: () => Promise<boolean>; readyTimeoutMs: number; cleanup: Cleanup },
): Promise<Daemon> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let exited = false
  const exit = new Promise<void>((resolve) =>
    child.on('close', () => {
      exited = true
      resolve()
    }),
  )
  child.on('error', (e) => (out += `spawn error: ${e.message}\n`))
  const append = (d: Buffer) => (out = (out + d.toString()).slice(-65536))
  child.stdout.on('data', append)
  child.stderr.on('data', append)
  const pid = child.pid
  const stop = async (graceMs = 3000) => {
    if (exited || pid === undefined) return
    process.kill(pid, 'SIGTERM')
    const t = setTimeout(() => !exited && process.kill(pid, 'SIGKILL'), graceMs)
    await exit
    clearTimeout(t)
  }
  const unregister = o.cleanup.add(`stop ${name}`, () => stop())
  void exit.then(unregister)
  const daemon: Daemon = { name, pid: pid ?? -1, output: () => out, stop }
  const deadline = Date.now() + o.readyTimeoutMs
  for (;;) {
    if (exited || pid === undefined)
      throw new Error(`${name} exited before it was ready:\n${out.slice(-2000)}`)
    if (o.readyLine?.test(out)) return daemon
    if (o.ready && (await o.ready())) return daemon
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`${name} not ready after ${o.readyTimeoutMs} ms:\n${out.slice(-2000)}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Stops registered in order of registration, run in reverse; also on SIGINT/SIGTERM (then exit 130). */
export class Cleanup {
  private readonly steps = new Map<number, { what: string; fn: () => Promise<void> | void }>()
  private next = 0
  private running: Promise<void> | null = null

  add(what: string, fn: () => Promise<void> | void): () => void {
    const id = this.next++
    this.steps.set(id, { what, fn })
    return () => this.steps.delete(id)
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const id of [...this.steps.keys()].reverse()) {
        const step = this.steps.get(id)!
        this.steps.delete(id)
        try {
          await step.fn()
        } catch (e) {
          process.stderr.write(`cleanup: ${step.what} failed: ${(e as Error).message}\n`)
        }
      }
    })()
    return this.running
  }

  /** Ctrl-C and kill run the cleanup before exiting; returns the remover. */
  onSignals(): () => void {
    const handler = (sig: NodeJS.Signals) => {
      process.stderr.write(`\n${sig}: cleaning up\n`)
      void this.run().finally(() => process.exit(130))
    }
    process.on('SIGINT', handler)
    process.on('SIGTERM', handler)
    return () => {
      process.off('SIGINT', handler)
      process.off('SIGTERM', handler)
    }
  }
}

/** True once something in namespace `ns` listens on `port` (udp or tcp), on `address` when one is given. */
export async function listening(
  ns: string,
  proto: 'udp' | 'tcp',
  port: number,
  address?: string,
): Promise<boolean> {
  const r = await run(
    ['ip', 'netns', 'exec', ns, 'ss', '-Hln', proto === 'udp' ? '-u' : '-t', `sport = :${port}`],
    {
      timeoutMs: 5000,
    },
  )
  if (r.code !== 0) return false
  const lines = r.stdout.split('\n').filter((l) => l.trim() !== '')
  return address === undefined ? lines.length > 0 : lines.some((l) => l.includes(` ${address}:${port} `))
}

/** Resident set size of a process in bytes (VmRSS), null once it is gone. */
export async function rssBytes(pid: number): Promise<number | null> {
  const { readFile } = await import('node:fs/promises')
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8')
    const m = /^VmRSS:\s+(\d+) kB/m.exec(status)
    return m ? Number(m[1]) * 1024 : null
  } catch {
    return null
  }
}

/**
 * Rackboot's side of a bench: bench/lib/serve-ours.ts in the server namespace with the given flags, under
 * --cpu-prof when a profile directory is asked for; resolves once it prints its ready line.
 */
export function startOurServer(
  ns: string,
  flags: string[],
  o: { cpuProfDir?: string; cleanup: Cleanup },
): Promise<Daemon> {
  const prof = o.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(o.cpuProfDir)] : []
  const script = path.resolve(import.meta.dirname, 'serve-ours.ts')
  return startDaemon(
    'rackboot',
    ['ip', 'netns', 'exec', ns, process.execPath, ...prof, '--import', 'tsx', script, ...flags],
    {
      readyLine: /serve-ours ready/,
      readyTimeoutMs: 30_000,
      cleanup: o.cleanup,
    },
  )
}
