import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Store, type StoreOptions } from '../../electron/core/inventory/store'
import { DbFileAdapter } from '../../electron/core/inventory/db-file'
import { DurableWriteError } from '../../electron/core/inventory/durable-file'
import { processStartTicks } from '../../electron/core/inventory/lock'
import { decodeDb } from '../../electron/core/inventory/codec'
import { type Db, type Node, emptyDb, nodeSchema } from '../../electron/core/inventory/schema'
import { RackbootError } from '../../electron/core/util/result'
import type { Logger } from '../../electron/core/util/logger'

interface Recorded extends Logger {
  lines: string[]
}
function recorder(): Recorded {
  const lines: string[] = []
  return {
    lines,
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
  }
}

const node = (name: string, mac: string): Node => nodeSchema.parse({ name, macs: [mac] })
const fixedNow = () => new Date('2026-11-26T10:11:12.345Z')

let root: string
let dir: string
let log: Recorded
const open = (extra: Partial<StoreOptions> = {}) =>
  Store.open({ dataDir: dir, logger: log, now: fixedNow, ...extra })
const dbFile = () => join(dir, 'db.json')
const bakFile = () => join(dir, 'db.json.bak')
const lockFile = () => join(dir, 'rackboot.lock')
const onDisk = async (file = dbFile()): Promise<Db> => {
  const decoded = decodeDb(await readFile(file))
  if (!decoded.ok) throw new Error(`${file}: ${decoded.error.details.join('; ')}`)
  return decoded.value.db
}
const corruptFiles = async () => (await readdir(dir)).filter((n) => n.startsWith('db.json.corrupt-')).sort()

/** A store file with one node, as an earlier run would leave it (db.json and a backup of the same state). */
async function seedGoodStoreWithBackup(): Promise<void> {
  const s = await open()
  await s.update((d) => void d.nodes.push(node('web1', '52:54:00:00:00:01')))
  await s.close()
  await (await open()).close() // reopening refreshes the backup from the validated file
}

async function expectRefusal(p: Promise<unknown>): Promise<RackbootError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  )
  expect(e).toBeInstanceOf(RackbootError)
  return e as RackbootError
}

/** PID of a process that has exited (and been reaped), so kill(pid, 0) gives ESRCH. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  const pid = child.pid!
  await new Promise((r) => child.once('exit', r))
  return pid
}

beforeEach(async () => {
  root = dir = await mkdtemp(join(tmpdir(), 'rackboot-store-'))
  log = recorder()
})
afterEach(async () => {
  vi.restoreAllMocks()
  await rm(root, { recursive: true, force: true })
})

describe('open', () => {
  it('creates the data dir and an empty store when nothing exists, and holds the lock until close', async () => {
    dir = join(dir, 'nested', 'data')
    const s = await open()
    expect(s.openedAs).toBe('created')
    expect(s.data).toEqual(emptyDb())
    expect(await onDisk()).toEqual(emptyDb())
    expect(JSON.parse(await readFile(lockFile(), 'utf8')).pid).toBe(process.pid)
    await s.close()
    expect(existsSync(lockFile())).toBe(false)
    await s.close() // idempotent
  })

  it('loads what an earlier run wrote and refreshes the backup from it', async () => {
    const s = await open()
    await s.update((d) => void d.nodes.push(node('web1', '52:54:00:00:00:01')))
    await s.close()
    const again = await open()
    expect(again.openedAs).toBe('loaded')
    expect(again.data.nodes.map((n) => n.name)).toEqual(['web1'])
    expect((await onDisk(bakFile())).nodes.map((n) => n.name)).toEqual(['web1'])
    await again.close()
  })

  it('restores the backup when db.json is garbage bytes, keeping the garbage as db.json.corrupt-<time>', async () => {
    await seedGoodStoreWithBackup()
    const garbage = Buffer.from([0xff, 0xfe, 0x00, 0x13, 0x37, 0x80, 0x81])
    await writeFile(dbFile(), garbage)
    const s = await open()
    expect(s.openedAs).toBe('restored')
    expect(s.data.nodes.map((n) => n.name)).toEqual(['web1'])
    expect(await corruptFiles()).toEqual(['db.json.corrupt-2026-11-26T10-11-12.345Z'])
    expect(await readFile(join(dir, 'db.json.corrupt-2026-11-26T10-11-12.345Z'))).toEqual(garbage)
    expect((await onDisk()).nodes.map((n) => n.name)).toEqual(['web1'])
    expect(
      log.lines.some(
        (l) => l.startsWith('warn') && l.includes('restored the last good backup') && l.includes('corrupt-'),
      ),
    ).toBe(true)
    await s.close()
  })

  it('refuses truncated JSON without a backup, naming the moved file and --reset-store, and keeps refusing', async () => {
    const text = JSON.stringify({ version: 1, nodes: [node('a1', '52:54:00:00:00:01')] })
    await writeFile(dbFile(), text.slice(0, text.length - 9))
    const e = await expectRefusal(open())
    expect(e.message).toContain('is corrupt')
    expect(e.message).toContain('not valid JSON')
    expect(e.message).toContain('db.json.corrupt-2026-11-26T10-11-12.345Z')
    expect(e.message).toContain('--reset-store')
    expect(await readFile(join(dir, 'db.json.corrupt-2026-11-26T10-11-12.345Z'), 'utf8')).toBe(
      text.slice(0, text.length - 9),
    )
    expect(existsSync(lockFile())).toBe(false) // a refused open releases the lock

    // db.json is gone now; a second start must not quietly begin empty.
    const again = await expectRefusal(open())
    expect(again.message).toContain('--reset-store')
    expect(existsSync(dbFile())).toBe(false)

    const reset = await open({ resetStore: true })
    expect(reset.openedAs).toBe('reset')
    expect(reset.data).toEqual(emptyDb())
    expect(await corruptFiles()).toEqual(['db.json.corrupt-2026-11-26T10-11-12.345Z'])
    await reset.close()
  })

  it('lists the schema problems of an invalid file (bad MAC, duplicate MACs)', async () => {
    const bad = {
      version: 1,
      nodes: [
        { name: 'a1', macs: ['52:54:00:zz:00:01'] },
        { name: 'a2', macs: ['52:54:00:00:00:02'] },
        { name: 'a3', macs: ['52:54:00:00:00:02'] },
      ],
    }
    await writeFile(dbFile(), JSON.stringify(bad))
    const e = await expectRefusal(open())
    expect(e.message).toContain('not a valid rackboot store')
    expect(e.message).toContain('nodes[0].macs[0]: a MAC in lowercase colon form')
    expect(e.message).toContain("nodes[2].macs: MAC 52:54:00:00:00:02 is on both 'a2' and 'a3'")
    expect(JSON.parse(await readFile(join(dir, (await corruptFiles())[0]!), 'utf8'))).toEqual(bad)
  })

  it('with resetStore moves a bad file aside and starts empty when no backup is usable, and never deletes', async () => {
    await writeFile(dbFile(), '{"version":1,"nodes":[{"name":"-bad-"}]}')
    await writeFile(bakFile(), 'also broken')
    const s = await open({ resetStore: true })
    expect(s.openedAs).toBe('reset')
    expect(s.data).toEqual(emptyDb())
    const names = await readdir(dir)
    expect(names).toContain('db.json.corrupt-2026-11-26T10-11-12.345Z')
    expect(names).toContain('db.json.bak.corrupt-2026-11-26T10-11-12.345Z')
    expect(await readFile(join(dir, 'db.json.bak.corrupt-2026-11-26T10-11-12.345Z'), 'utf8')).toBe(
      'also broken',
    )
    expect(log.lines.some((l) => l.startsWith('warn') && l.includes('--reset-store'))).toBe(true)
    await s.close()
  })

  it('ignores resetStore when the file is valid', async () => {
    await seedGoodStoreWithBackup()
    const s = await open({ resetStore: true })
    expect(s.openedAs).toBe('loaded')
    expect(s.data.nodes).toHaveLength(1)
    await s.close()
  })

  it('restores the backup when db.json is missing', async () => {
    await seedGoodStoreWithBackup()
    await rm(dbFile())
    const s = await open()
    expect(s.openedAs).toBe('restored')
    expect(s.data.nodes.map((n) => n.name)).toEqual(['web1'])
    expect(log.lines.some((l) => l.startsWith('warn') && l.includes('is missing'))).toBe(true)
    await s.close()
  })

  it('migrates an unversioned (v0) file, keeping the original as db.json.v0-<time>', async () => {
    const v0 = { settings: { domain: 'lab' }, nodes: [{ name: 'old1', macs: ['52:54:00:00:00:09'] }] }
    await writeFile(dbFile(), JSON.stringify(v0))
    const s = await open()
    expect(s.openedAs).toBe('migrated')
    expect(s.data.version).toBe(1)
    expect(s.data.settings.domain).toBe('lab')
    expect(s.data.nodes.map((n) => n.name)).toEqual(['old1'])
    expect(JSON.parse(await readFile(dbFile(), 'utf8')).version).toBe(1)
    expect(JSON.parse(await readFile(join(dir, 'db.json.v0-2026-11-26T10-11-12.345Z'), 'utf8'))).toEqual(v0)
    await s.close()
  })

  it('refuses a file from a newer rackboot and leaves it exactly where it is', async () => {
    const future = JSON.stringify({ version: 99, nodes: [] })
    await writeFile(dbFile(), future)
    const e = await expectRefusal(open())
    expect(e.message).toContain('newer rackboot (schema version 99')
    expect(await readFile(dbFile(), 'utf8')).toBe(future)
    expect(await corruptFiles()).toEqual([])
  })

  it('removes temp files left by a killed writer', async () => {
    await (await open()).close()
    await writeFile(join(dir, 'db.json.tmp-999999-deadbeef'), '{"half')
    const s = await open()
    expect((await readdir(dir)).filter((n) => n.includes('.tmp-'))).toEqual([])
    await s.close()
  })
})

describe('lock', () => {
  it('refuses a second open in the same process, naming our PID', async () => {
    const s = await open()
    const e = await expectRefusal(open())
    expect(e.message).toContain(
      `data dir ${dir} is in use by rackboot PID ${process.pid} (started 2026-11-26T10:11:12.345Z)`,
    )
    expect(e.message).toContain('stop it or use another --data-dir')
    expect(s.data).toEqual(emptyDb()) // the refused open changed nothing
    await s.close()
  })

  it('refuses a lock file naming a live process (a spawned sleeper)', async () => {
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' })
    try {
      await mkdir(dir, { recursive: true })
      await writeFile(lockFile(), `${sleeper.pid}\n`)
      const e = await expectRefusal(open())
      expect(e.message).toContain(`in use by rackboot PID ${sleeper.pid}`)
      expect(await readFile(lockFile(), 'utf8')).toBe(`${sleeper.pid}\n`)
    } finally {
      sleeper.kill('SIGKILL')
    }
  })

  it('takes over a stale lock from a dead PID with a warning', async () => {
    const pid = await deadPid()
    await writeFile(
      lockFile(),
      JSON.stringify({ pid, hostname: (await import('node:os')).hostname(), startedAt: 'yesterday' }),
    )
    const s = await open()
    expect(
      log.lines.some((l) => l.startsWith('warn') && l.includes(`took over`) && l.includes(`PID ${pid}`)),
    ).toBe(true)
    expect(JSON.parse(await readFile(lockFile(), 'utf8')).pid).toBe(process.pid)
    await s.close()
  })

  it.runIf(processStartTicks(process.pid) !== null)(
    'treats a killed but unreaped (zombie) holder as dead',
    async () => {
      // sh starts a short sleep in the background, prints its PID and execs a long sleep, which never reaps
      // the short one when it exits: a zombie.
      const parent = spawn('sh', ['-c', 'sleep 0.2 & echo $!; exec sleep 30'], {
        stdio: ['ignore', 'pipe', 'ignore'],
      })
      try {
        const zombie = Number(
          await new Promise<string>((r) => parent.stdout!.once('data', (c: Buffer) => r(c.toString()))),
        )
        await vi.waitFor(
          async () => expect((await readFile(`/proc/${zombie}/stat`, 'utf8')).split(') ')[1]![0]).toBe('Z'),
          { timeout: 10_000, interval: 20 },
        )
        await writeFile(lockFile(), `${zombie}\n`)
        await writeFile(join(dir, `rackboot.lock.tmp-${zombie}-abc`), 'left by a killed start')
        const s = await open()
        expect(log.lines.some((l) => l.includes('took over') && l.includes(`PID ${zombie}`))).toBe(true)
        expect((await readdir(dir)).filter((n) => n.startsWith('rackboot.lock.tmp-'))).toEqual([])
        await s.close()
      } finally {
        parent.kill('SIGKILL')
      }
    },
  )

  it.runIf(processStartTicks(process.pid) !== null)(
    'treats our own PID with another start time as stale (PID reuse after a restart)',
    async () => {
      const os = await import('node:os')
      await writeFile(
        lockFile(),
        JSON.stringify({ pid: process.pid, hostname: os.hostname(), startedAt: 'boot', pidStart: '1' }),
      )
      const s = await open()
      expect(log.lines.some((l) => l.includes('took over'))).toBe(true)
      await s.close()
    },
  )
})

describe('update', () => {
  it('writes durably before resolving and returns the mutator result', async () => {
    const s = await open()
    const count = await s.update((d) => d.nodes.push(node('a1', '52:54:00:00:00:01')))
    expect(count).toBe(1)
    expect((await onDisk()).nodes.map((n) => n.name)).toEqual(['a1'])
    await s.close()
  })

  it('keeps state and file untouched when the change is invalid or the mutator throws', async () => {
    const s = await open()
    await s.update((d) => void d.nodes.push(node('a1', '52:54:00:00:00:01')))
    const before = s.data
    const bytes = await readFile(dbFile())
    const invalid = await expectRefusal(
      s.update((d) => void d.nodes.push({ ...node('a2', '52:54:00:00:00:02'), macs: ['52:54:00:00:00:01'] })),
    )
    expect(invalid.message).toContain("MAC 52:54:00:00:00:01 is on both 'a1' and 'a2'")
    await expect(
      s.update(() => {
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    expect(() => s.updateSoon((d) => void (d.settings.httpPort = 0))).toThrow(/settings.httpPort/)
    expect(s.data).toBe(before)
    expect(await readFile(dbFile())).toEqual(bytes)
    await s.close()
  })

  it('rolls back to the last written state when the write fails, and names the file', async () => {
    const s = await open()
    await s.update((d) => void d.nodes.push(node('a1', '52:54:00:00:00:01')))
    const before = s.data
    const bytes = await readFile(dbFile())
    vi.spyOn(DbFileAdapter.prototype, 'write').mockRejectedValueOnce(
      new DurableWriteError(
        dbFile(),
        'write',
        Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }),
      ),
    )
    const e = await expectRefusal(s.update((d) => void d.nodes.push(node('a2', '52:54:00:00:00:02'))))
    expect(e.message).toContain(`could not write ${dbFile()} (ENOSPC`)
    expect(e.message).toContain('the change was not applied')
    expect(s.data).toEqual(before)
    expect(await readFile(dbFile())).toEqual(bytes)
    await s.flush() // nothing pending: the rolled-back state is what is on disk
    await s.update((d) => void d.nodes.push(node('a3', '52:54:00:00:00:03')))
    expect((await onDisk()).nodes.map((n) => n.name)).toEqual(['a1', 'a3'])
    await s.close()
  })

  it('keeps an update that failed under stacked updateSoon changes in memory and saves both at the next write', async () => {
    const s = await open({ groupCommitMs: 60_000 })
    let failWrite: (e: Error) => void = () => {}
    const write = vi
      .spyOn(DbFileAdapter.prototype, 'write')
      .mockImplementationOnce(() => new Promise<void>((_, reject) => (failWrite = reject)))
    const pending = s.update((d) => void d.nodes.push(node('a1', '52:54:00:00:00:01')))
    await vi.waitFor(() => expect(write).toHaveBeenCalledTimes(1))
    expect(s.data.nodes.map((n) => n.name)).toEqual(['a1']) // visible while its write runs
    s.updateSoon((d) => void (d.settings.domain = 'stacked.lab'))
    failWrite(new DurableWriteError(dbFile(), 'write', new Error('EIO: i/o error, write')))
    await expect(pending).rejects.toThrow('the change is in memory but not saved yet')
    expect(s.data.nodes.map((n) => n.name)).toEqual(['a1'])
    await s.flush()
    const saved = await onDisk()
    expect(saved.nodes.map((n) => n.name)).toEqual(['a1'])
    expect(saved.settings.domain).toBe('stacked.lab')
    await s.close()
  })

  it('serialises concurrent updates in call order', async () => {
    const s = await open()
    const names = Array.from({ length: 20 }, (_, i) => `c${i}`)
    await Promise.all(
      names.map((n, i) =>
        s.update((d) => void d.nodes.push(node(n, `52:54:00:00:01:${i.toString(16).padStart(2, '0')}`))),
      ),
    )
    expect((await onDisk()).nodes.map((n) => n.name)).toEqual(names)
    await s.close()
  })

  it('hands out frozen state, notifies listeners, and refuses changes after close', async () => {
    const s = await open()
    const seen: number[] = []
    const dispose = s.onChange((db) => seen.push(db.nodes.length))
    expect(() => (s.data.nodes as Node[]).push(node('x', '52:54:00:00:00:07'))).toThrow(TypeError)
    await s.update((d) => void d.nodes.push(node('a1', '52:54:00:00:00:01')))
    dispose()
    await s.update((d) => void d.nodes.push(node('a2', '52:54:00:00:00:02')))
    expect(seen).toEqual([1])
    await s.close()
    expect(() => s.update(() => 0)).toThrow(/closed/)
    expect(() => s.updateSoon(() => 0)).toThrow(/closed/)
  })
})

describe('updateSoon', () => {
  it('applies at once and coalesces many calls into one write on flush', async () => {
    const s = await open({ groupCommitMs: 60_000 })
    const write = vi.spyOn(DbFileAdapter.prototype, 'write')
    for (let i = 0; i < 50; i++) {
      const ip = s.updateSoon((d) => {
        d.leases.push({
          mac: `52:54:00:00:02:${i.toString(16).padStart(2, '0')}`,
          ip: `198.18.0.${i + 10}`,
          expiresAt: 1,
          state: 'bound',
          hostname: null,
        })
        return `198.18.0.${i + 10}`
      })
      expect(ip).toBe(`198.18.0.${i + 10}`)
    }
    expect(s.data.leases).toHaveLength(50)
    expect(write).not.toHaveBeenCalled()
    expect((await onDisk()).leases).toHaveLength(0)
    await s.flush()
    expect(write).toHaveBeenCalledTimes(1)
    expect((await onDisk()).leases).toHaveLength(50)
    await s.flush()
    expect(write).toHaveBeenCalledTimes(1) // nothing pending, nothing written
    await s.close()
  })

  it('is written by close, which leaves no timer behind', async () => {
    const s = await open({ groupCommitMs: 60_000 })
    // Fake only the timer functions, so the store's own timer is counted and unrelated timers of the
    // process (other tests, libraries) cannot change the count; file I/O stays real.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      s.updateSoon((d) => void (d.settings.domain = 'rack.lab'))
      expect(vi.getTimerCount()).toBe(1)
      await s.close()
      expect(vi.getTimerCount()).toBe(0)
    } finally {
      vi.useRealTimers()
    }
    expect((await onDisk()).settings.domain).toBe('rack.lab')
  })

  it('is written by the timer without flush', async () => {
    const s = await open({ groupCommitMs: 5 })
    s.updateSoon((d) => void (d.settings.domain = 'timer.lab'))
    await vi.waitFor(async () => expect((await onDisk()).settings.domain).toBe('timer.lab'), {
      timeout: 10_000,
      interval: 20,
    })
    await s.close()
  })

  it('keeps changes in memory after a failed group write and writes them on the next flush', async () => {
    const s = await open({ groupCommitMs: 60_000 })
    s.updateSoon((d) => void (d.settings.domain = 'retry.lab'))
    vi.spyOn(DbFileAdapter.prototype, 'write').mockRejectedValueOnce(
      new DurableWriteError(dbFile(), 'write', new Error('EROFS: read-only file system')),
    )
    await expect(s.flush()).rejects.toThrow(`could not write ${dbFile()}`)
    expect(s.data.settings.domain).toBe('retry.lab')
    await s.flush()
    expect((await onDisk()).settings.domain).toBe('retry.lab')
    await s.close()
  })
})

describe('updateLater', () => {
  it('applies nothing until the group commit, then every key once (newest wins) in one copy and one write', async () => {
    const s = await open({ groupCommitMs: 60_000 })
    await s.update((d) => {
      for (let i = 0; i < 20; i++)
        d.nodes.push(node(`n${i}`, `52:54:00:00:03:${i.toString(16).padStart(2, '0')}`))
    })
    const write = vi.spyOn(DbFileAdapter.prototype, 'write')
    const changed = vi.fn()
    s.onChange(changed)
    for (let i = 0; i < 20; i++)
      for (const value of ['old', 'new'])
        s.updateLater(`n${i}`, (d) => void (d.nodes.find((n) => n.name === `n${i}`)!.uuid = `${value}${i}`))
    expect(s.data.nodes.every((n) => n.uuid === null)).toBe(true)
    expect(changed).not.toHaveBeenCalled()
    await s.flush()
    expect(changed).toHaveBeenCalledTimes(1)
    expect(write).toHaveBeenCalledTimes(1)
    expect((await onDisk()).nodes.map((n) => n.uuid)).toEqual(Array.from({ length: 20 }, (_, i) => `new${i}`))
    await s.close()
  })

  it('commits on its own within laterCommitMs, not at the group commit delay; a group commit takes it along', async () => {
    const s = await open({ groupCommitMs: 10, laterCommitMs: 60_000 })
    s.updateLater('domain', (d) => void (d.settings.domain = 'later.lab'))
    await new Promise((r) => setTimeout(r, 100)) // ten group-commit delays
    expect(s.data.settings.domain).not.toBe('later.lab')
    s.updateSoon((d) => void (d.settings.dns = ['198.18.0.53']))
    await vi.waitFor(async () => expect((await onDisk()).settings.domain).toBe('later.lab'))
    expect((await onDisk()).settings.dns).toEqual(['198.18.0.53'])
    await s.close()

    const t = await open({ groupCommitMs: 60_000, laterCommitMs: 20 })
    t.updateLater('domain', (d) => void (d.settings.domain = 'alone.lab'))
    await vi.waitFor(async () => expect((await onDisk()).settings.domain).toBe('alone.lab'))
    await t.close()
  })

  it('applies a refused batch change by change: the valid ones stay, the refused one is logged', async () => {
    const s = await open({ groupCommitMs: 60_000 })
    s.updateLater('ok', (d) => void (d.settings.domain = 'later.lab'))
    s.updateLater('bad', (d) => void (d.settings.httpPort = 0))
    await s.close()
    expect((await onDisk()).settings.domain).toBe('later.lab')
    expect((await onDisk()).settings.httpPort).not.toBe(0)
    expect(log.lines.some((l) => /deferred store change was refused.*httpPort/s.test(l))).toBe(true)
  })
})
