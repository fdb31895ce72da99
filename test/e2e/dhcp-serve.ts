/**
 * Helpers shared by the DHCP e2e tests: `rackboot serve` started inside a namespace (from the CLI bundle
 * built by build/build-node.mjs), polling, and the relay client of dhcp-relay-client.ts.
 */
import type { ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import type { NetnsPair } from '../support/netns'

export interface InNsServe {
  child: ChildProcess
  pid: number
  /** The `rackboot ready {json}` line's fields (ui carries the API token). */
  ready: { ui: string; api: string; pid: number } & Record<string, unknown>
  stderr(): string
  /** Sends the signal and resolves when the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>
}

/** Starts `node bin/rackboot.js serve ARGS` in the server namespace; resolves on its ready line. */
export function serveInNs(net: NetnsPair, args: string[], timeoutMs = 30_000): Promise<InNsServe> {
  const child = net.spawn('srv', process.execPath, ['bin/rackboot.js', 'serve', ...args])
  let err = ''
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once('exit', () => resolve())
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`rackboot serve did not become ready in ${timeoutMs} ms; stderr:\n${err}`))
    }, timeoutMs)
    void exited.then(() => {
      clearTimeout(timer)
      reject(new Error(`rackboot serve exited before ready; stderr:\n${err}`))
    })
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^rackboot ready (\{.*\})$/.exec(line)
      if (!m) return
      clearTimeout(timer)
      const ready = JSON.parse(m[1]!) as InNsServe['ready']
      resolve({
        child,
        pid: ready.pid,
        ready,
        stderr: () => err,
        stop: (signal = 'SIGTERM') => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal)
          return exited
        },
      })
    })
  })
}

/** Polls `check` every 100 ms until it returns a value other than undefined, or throws after timeoutMs. */
export async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const v = check()
    if (v !== undefined) return v
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

export const RELAY_CLIENT = join(import.meta.dirname, 'dhcp-relay-client.ts')

/** Runs the relay client in the client namespace and returns its JSON lines. */
export function relayClient(
  net: NetnsPair,
  config: Record<string, unknown>,
  timeoutMs = 60_000,
): Promise<Array<Record<string, unknown>>> {
  const child = net.spawn('cli', process.execPath, ['--import', 'tsx', RELAY_CLIENT, JSON.stringify(config)])
  let out = ''
  let err = ''
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`relay client ran over ${timeoutMs} ms; stderr:\n${err}`))
    }, timeoutMs)
    child.once('exit', (code) => {
      clearTimeout(timer)
      if (code !== 0) return reject(new Error(`relay client exited ${code}; stderr:\n${err}`))
      resolve(
        out
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as Record<string, unknown>),
      )
    })
  })
}
