/** Runs the real `rackboot` command (bin/rackboot.js over the esbuild bundle) as a child process. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll } from 'vitest'

export const BIN = 'bin/rackboot.js'

export function buildCli(): void {
  const r = spawnSync('node', ['build/build-node.mjs'], { stdio: 'inherit' })
  if (r.status !== 0) throw new Error('building the CLI bundle failed')
}

export function rackboot(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('node', [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

export interface Served {
  child: ChildProcess
  ready: Record<string, unknown> & {
    ui: string
    api: string
    http: string | null
    tftp: string | null
    pid: number
  }
  stderr: () => string
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/** Starts `rackboot serve …` and resolves on its `rackboot ready {json}` line (or rejects with its stderr). */
export function serve(args: string[], timeoutMs = 30_000): Promise<Served> {
  const child = spawn('node', [BIN, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`serve did not become ready in ${timeoutMs} ms; stderr:\n${err}`))
    }, timeoutMs)
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`serve exited with ${code} before ready; stderr:\n${err}`))
    })
    const lines = createInterface({ input: child.stdout! })
    lines.on('line', (line) => {
      const m = /^rackboot ready (\{.*\})$/.exec(line)
      if (!m) return
      clearTimeout(timer)
      resolve({
        child,
        ready: JSON.parse(m[1]!) as Served['ready'],
        stderr: () => err,
        stop: (signal = 'SIGTERM') => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal)
          return exited
        },
      })
    })
  })
}

/**
 * The scratch space of a CLI test file: builds the CLI once, and after each test kills the serves it was
 * handed (by PID) and removes its temp dirs. Call at the top level of the test file.
 */
export function cliScratch(prefix: string): { tmp(): string; keep(s: Served): Served } {
  const dirs: string[] = []
  const running: Served[] = []
  beforeAll(() => buildCli())
  afterEach(async () => {
    for (const s of running.splice(0)) await s.stop('SIGKILL')
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })
  return {
    tmp() {
      const d = mkdtempSync(join(tmpdir(), prefix))
      dirs.push(d)
      return d
    },
    keep(s) {
      running.push(s)
      return s
    },
  }
}
