/**
 * SIGKILL a writer at random moments, many times: after every kill db.json (and its backup) must parse, validate
 * and hold a gap-free prefix n1..nk of the writes, k must never go backwards and must cover every write the child
 * acknowledged, and the next writer must take over the dead writer's lock.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { decodeDb } from '../../electron/core/inventory/codec'
import { Store } from '../../electron/core/inventory/store'

const repo = resolve(import.meta.dirname, '../..')
const writer = join(repo, 'test/support/store-writer.ts')
const KILLS = 30
const BUDGET_MS = 150_000

let dir: string
let child: ChildProcess | null = null
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rackboot-kill-'))
})
afterAll(async () => {
  if (child?.exitCode === null) child.kill('SIGKILL')
  await rm(dir, { recursive: true, force: true })
})

/** Starts the writer; resolves once `line` matches (or rejects if it exits first), returning what it printed. */
function startWriter(): {
  proc: ChildProcess
  lines: string[]
  waitFor: (re: RegExp) => Promise<string>
  exited: Promise<void>
} {
  const proc = spawn(process.execPath, ['--import', 'tsx', writer, dir], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  let stderr = ''
  let buffer = ''
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = []
  proc.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString()
    const parts = buffer.split('\n')
    buffer = parts.pop()!
    for (const line of parts) {
      lines.push(line)
      for (const w of [...waiters]) {
        if (!w.re.test(line)) continue
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(line)
      }
    }
  })
  proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()))
  const exited = new Promise<void>((r) => proc.once('exit', () => r()))
  const waitFor = (re: RegExp) =>
    new Promise<string>((resolvePromise, reject) => {
      const seen = lines.find((l) => re.test(l))
      if (seen !== undefined) return resolvePromise(seen)
      waiters.push({ re, resolve: resolvePromise })
      void exited.then(() =>
        reject(new Error(`writer exited (${proc.exitCode}/${proc.signalCode}) before ${re}: ${stderr}`)),
      )
    })
  return { proc, lines, waitFor, exited }
}

function prefixLength(names: string[], what: string): number {
  names.forEach((name, i) => expect(name, `${what}: entry ${i}`).toBe(`n${i + 1}`))
  return names.length
}

it(
  'leaves a valid prefix of the writes after every SIGKILL, and the next writer takes over',
  async () => {
    const started = Date.now()
    let lastK = 0
    let kills = 0
    for (; kills < KILLS && Date.now() - started < BUDGET_MS; kills++) {
      const w = startWriter()
      child = w.proc
      if (kills % 4 === 3) {
        // Kill during open: lock takeover, temp cleanup and the backup refresh are all in this window.
        await w.waitFor(/^opening$/)
        await new Promise((r) => setTimeout(r, Math.random() * 40))
      } else {
        const ready = await w.waitFor(/^ready \d+$/)
        expect(Number(ready.split(' ')[1])).toBeGreaterThanOrEqual(lastK)
        await new Promise((r) => setTimeout(r, 10 + Math.random() * 120))
      }
      w.proc.kill('SIGKILL')
      await w.exited
      const acked = Math.max(0, ...w.lines.filter((l) => l.startsWith('ack ')).map((l) => Number(l.slice(4))))

      const main = decodeDb(await readFile(join(dir, 'db.json')))
      expect(
        main.ok,
        `db.json after kill ${kills + 1}: ${main.ok ? '' : main.error.details.join('; ')}`,
      ).toBe(true)
      if (!main.ok) return
      const k = prefixLength(
        main.value.db.nodes.map((n) => n.name),
        `db.json after kill ${kills + 1}`,
      )
      expect(k).toBeGreaterThanOrEqual(lastK)
      expect(k).toBeGreaterThanOrEqual(acked) // an acknowledged write survives the kill

      const bak = decodeDb(await readFile(join(dir, 'db.json.bak')))
      expect(bak.ok, `db.json.bak after kill ${kills + 1}`).toBe(true)
      if (bak.ok)
        expect(
          prefixLength(
            bak.value.db.nodes.map((n) => n.name),
            'backup',
          ),
        ).toBeLessThanOrEqual(k)
      lastK = k
    }
    expect(kills).toBeGreaterThanOrEqual(10)
    expect(lastK).toBeGreaterThan(0) // the writers made progress between kills

    const warnings: string[] = []
    const store = await Store.open({
      dataDir: dir,
      logger: { info() {}, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) },
    })
    expect(store.openedAs).toBe('loaded')
    expect(store.data.nodes).toHaveLength(lastK)
    expect(warnings.some((m) => m.includes('took over'))).toBe(true)
    // Temp files and takeover guards of killed writers are cleaned up by the next writer.
    expect((await readdir(dir)).sort()).toEqual(['db.json', 'db.json.bak', 'rackboot.lock'])
    await store.close()
  },
  BUDGET_MS + 60_000,
)
