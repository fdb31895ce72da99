/**
 * One writer per data directory. `rackboot.lock` holds who owns the directory (PID, host, start time). It is
 * created atomically with link(2) from a fully written temp file, so nobody ever reads a half-written lock.
 * A lock whose PID is dead (kill(pid, 0) -> ESRCH) is taken over with a warning; EPERM means alive (another user).
 * On Linux the lock also records the holder's start time from /proc/<pid>/stat, so a PID reused after a reboot
 * or a container restart (where rackboot is often PID 1 every time) is recognised as stale, not as "alive".
 */
import { hostname as osHostname } from 'node:os'
import { link, open, readFile, readdir, unlink } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { type Result, ok, err, RackbootError, errorMessage } from '../util/result'
import type { Logger } from '../util/logger'
import { syncDir } from './durable-file'

export const LOCK_FILE = 'rackboot.lock'

export interface LockInfo {
  pid: number
  hostname: string
  startedAt: string
  /** Kernel start time of the holder (clock ticks since boot, /proc/<pid>/stat field 22); null off Linux. */
  pidStart: string | null
  /** Random per acquisition: release() only removes the lock if it is still this one. */
  token: string
}

export interface DirLock {
  readonly file: string
  readonly info: LockInfo
  /** Removes the lock if it is still ours; idempotent. */
  release(): Promise<void>
}

export interface LockOptions {
  dir: string
  logger: Logger
  now: () => Date
}

/** Accepts our JSON form and, for people writing one by hand, a bare PID. Never throws. */
export function decodeLock(text: string): Result<LockInfo> {
  const trimmed = text.trim()
  if (/^\d+$/.test(trimmed))
    return ok({
      pid: Number(trimmed),
      hostname: osHostname(),
      startedAt: 'unknown',
      pidStart: null,
      token: '',
    })
  let raw: unknown
  try {
    raw = JSON.parse(trimmed)
  } catch {
    return err('not JSON')
  }
  if (typeof raw !== 'object' || raw === null) return err('not an object')
  const o = raw as Record<string, unknown>
  if (typeof o.pid !== 'number' || !Number.isInteger(o.pid) || o.pid <= 0) return err('no valid pid')
  const str = (v: unknown, fallback: string) => (typeof v === 'string' ? v : fallback)
  return ok({
    pid: o.pid,
    hostname: str(o.hostname, osHostname()),
    startedAt: str(o.startedAt, 'unknown'),
    pidStart: typeof o.pidStart === 'string' ? o.pidStart : null,
    token: str(o.token, ''),
  })
}

/** State (field 3) and start time (field 22) from /proc/<pid>/stat; null where there is no /proc (macOS). */
function procStat(pid: number): { state: string; startTicks: string } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Split after the parenthesised command, which may itself contain spaces: fields[0] is field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return fields[0] && fields[19] ? { state: fields[0], startTicks: fields[19] } : null
  } catch {
    return null
  }
}

export function processStartTicks(pid: number): string | null {
  return procStat(pid)?.startTicks ?? null
}

type Holder = 'alive' | 'dead' | 'other-host'

export function holderState(info: LockInfo): Holder {
  if (info.hostname !== osHostname()) return 'other-host'
  try {
    process.kill(info.pid, 0)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ESRCH') return 'dead'
    if (code !== 'EPERM') throw e
  }
  const stat = procStat(info.pid)
  if (stat?.state === 'Z') return 'dead' // killed, not yet reaped by its parent: kill(pid, 0) still succeeds
  if (info.pidStart !== null && stat !== null && stat.startTicks !== info.pidStart) return 'dead' // PID reused
  return 'alive'
}

async function readText(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw e
  }
}

function inUseError(dir: string, info: LockInfo, state: Holder, lockFile: string): RackbootError {
  if (state === 'other-host')
    return new RackbootError(
      `data dir ${dir} is in use by rackboot PID ${info.pid} on host ${info.hostname} (started ${info.startedAt}); ` +
        `stop it or use another --data-dir. If that host no longer runs rackboot, delete ${lockFile}`,
      'data-dir-locked',
    )
  return new RackbootError(
    `data dir ${dir} is in use by rackboot PID ${info.pid} (started ${info.startedAt}); stop it or use another --data-dir`,
    'data-dir-locked',
  )
}

/**
 * Takes the lock or throws a RackbootError naming the holder. Stale locks are removed only inside a short
 * takeover section guarded by `rackboot.lock.takeover` (created with O_EXCL), and only if the lock still has the
 * exact bytes we judged stale, so two starting processes cannot both remove each other's fresh lock.
 */
export async function acquireDirLock(options: LockOptions): Promise<DirLock> {
  const { dir, logger, now } = options
  const file = join(dir, LOCK_FILE)
  const info: LockInfo = {
    pid: process.pid,
    hostname: osHostname(),
    startedAt: now().toISOString(),
    pidStart: processStartTicks(process.pid),
    token: randomBytes(8).toString('hex'),
  }
  const temp = `${file}.tmp-${process.pid}-${info.token}`
  const handle = await open(temp, 'wx', 0o644)
  try {
    await handle.writeFile(JSON.stringify(info) + '\n')
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        await link(temp, file)
        await syncDir(dir)
        await removeDeadLockTemps(dir)
        return makeLock(file, info, logger)
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      }
      const text = await readText(file)
      if (text === null) continue // released between our link and our read
      const decoded = decodeLock(text)
      if (decoded.ok) {
        const state = holderState(decoded.value)
        if (state !== 'dead') throw inUseError(dir, decoded.value, state, file)
      }
      const why = decoded.ok
        ? `rackboot PID ${decoded.value.pid} (started ${decoded.value.startedAt}) is no longer running`
        : `the lock file is unreadable (${decoded.error})`
      const outcome = await removeStaleLock(file, text, temp)
      if (outcome === 'removed') logger.warn(`took over ${file}: ${why}`)
      if (outcome === 'busy') await sleep(20 + attempt * 10)
    }
    throw new RackbootError(
      `could not take ${file}: it kept changing; is another rackboot starting on ${dir}?`,
      'data-dir-locked',
    )
  } finally {
    await unlink(temp).catch(() => {})
  }
}

/** Lock temp files and takeover guards (both hold a LockInfo) of processes killed while taking the lock. */
async function removeDeadLockTemps(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    if (!name.startsWith(`${LOCK_FILE}.tmp-`) && name !== `${LOCK_FILE}.takeover`) continue
    const text = await readText(join(dir, name)).catch(() => null)
    const decoded = text === null ? null : decodeLock(text)
    // A temp killed before its content was written is empty: its name still says whose it is.
    const pidInName = /^rackboot\.lock\.tmp-(\d+)-/.exec(name)?.[1]
    const owner = decoded?.ok
      ? decoded.value
      : pidInName
        ? { pid: Number(pidInName), hostname: osHostname(), startedAt: '', pidStart: null, token: '' }
        : null
    if (owner && owner.pid !== process.pid && holderState(owner) === 'dead')
      await unlink(join(dir, name)).catch(() => {})
  }
}

/** 'removed' the stale lock; it 'changed' meanwhile (someone else took it: look again); 'busy': another takeover runs. */
async function removeStaleLock(
  file: string,
  staleText: string,
  ourLockTemp: string,
): Promise<'removed' | 'changed' | 'busy'> {
  const guard = `${file}.takeover`
  try {
    await link(ourLockTemp, guard) // like the lock itself: atomic, and never seen half-written
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    // A guard left by a process killed mid-takeover would block everyone forever: clear it if its owner is dead.
    const text = await readText(guard)
    const owner = text === null ? null : decodeLock(text)
    if (text !== null && (owner === null || !owner.ok || holderState(owner.value) === 'dead'))
      await unlink(guard).catch(() => {})
    return 'busy'
  }
  try {
    const current = await readText(file)
    if (current !== staleText) return 'changed'
    await unlink(file).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e
    })
    return 'removed'
  } finally {
    await unlink(guard).catch(() => {})
  }
}

function makeLock(file: string, info: LockInfo, logger: Logger): DirLock {
  let released = false
  return {
    file,
    info,
    async release() {
      if (released) return
      released = true
      try {
        const text = await readText(file)
        const current = text === null ? null : decodeLock(text)
        if (current?.ok && current.value.token === info.token) await unlink(file)
        else logger.warn(`${file} no longer holds our lock (PID ${process.pid}); left it alone`)
      } catch (e) {
        logger.warn(`could not remove ${file}: ${errorMessage(e)}`)
      }
    },
  }
}
