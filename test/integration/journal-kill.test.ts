/**
 * A lease recorded 'written' (a reserved address's ACK: journal.ts) survives the process being SIGKILLed right
 * after the ACK would have left, without any fdatasync: the writer below never syncs, and every lease it
 * acknowledged is in the journal after each kill (the kernel holds written data whatever the process does).
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { LeaseJournal } from '../../electron/core/boot/dhcp/journal'
import { silentLogger } from '../../electron/core/util/logger'
import { macOf } from '../support/writer-child'

const repo = resolve(import.meta.dirname, '../..')
const writer = join(repo, 'test/support/journal-writer.ts')
const KILLS = 6

let dir: string
let child: ChildProcess | null = null
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rackboot-journal-kill-'))
})
afterAll(async () => {
  if (child?.exitCode === null) child.kill('SIGKILL')
  await rm(dir, { recursive: true, force: true })
})

/** Runs the writer until it acknowledged at least `minAcks` leases plus a random moment, then SIGKILLs it. */
async function runAndKill(file: string, minAcks: number): Promise<number> {
  const proc = spawn(process.execPath, ['--import', 'tsx', writer, file], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child = proc
  let out = ''
  let err = ''
  let acked = 0
  const exited = new Promise<void>((r) => proc.once('exit', () => r()))
  await new Promise<void>((resolvePromise, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const lines = out.split('\n')
      out = lines.pop()!
      for (const l of lines) if (l.startsWith('ack ')) acked = Number(l.slice(4))
      if (acked >= minAcks) resolvePromise()
    })
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()))
    void exited.then(() =>
      reject(new Error(`writer exited (${proc.exitCode}) before ${minAcks} acks: ${err}`)),
    )
  })
  await new Promise((r) => setTimeout(r, Math.random() * 30))
  proc.kill('SIGKILL')
  await exited
  // What it printed before dying is what it acknowledged.
  for (const l of out.split('\n')) if (l.startsWith('ack ')) acked = Number(l.slice(4))
  return acked
}

it('every lease acknowledged once written (never fdatasynced) is in the journal after SIGKILL', async () => {
  const file = join(dir, 'leases.jsonl')
  let lastAcked = 0
  for (let kill = 0; kill < KILLS; kill++) {
    const acked = await runAndKill(file, lastAcked + 20)
    const opened = await LeaseJournal.open(file, silentLogger, Date.now())
    await opened.journal.close()
    const macs = new Set(opened.entries.map((e) => e.mac))
    const lost = Array.from({ length: acked }, (_, i) => macOf(i + 1)).filter((m) => !macs.has(m))
    expect(lost, `after kill ${kill + 1}: acknowledged leases missing`).toEqual([])
    lastAcked = acked
  }
  expect(lastAcked).toBeGreaterThanOrEqual(KILLS * 20)
}, 120_000)
