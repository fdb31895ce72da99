/**
 * Crash-safe file primitives (repo-independent). A reader of `path` sees either the old bytes or the new bytes,
 * never a mix, and once `writeFileAtomic` resolves the new bytes survive a crash or power loss:
 * write a temp file in the same directory, fsync it, rename it over the target (rename(2) is atomic within one
 * file system), then fsync the directory so the rename itself is on disk (without that, ext4/xfs may forget it).
 */
import { open, rename, unlink, readFile, readdir, link, mkdir, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'

/** Which step failed: before 'rename' the target is untouched; at 'sync-dir' it already holds the new bytes. */
export type WriteStage = 'write' | 'rename' | 'sync-dir'

export class DurableWriteError extends Error {
  constructor(
    readonly file: string,
    readonly stage: WriteStage,
    cause: unknown,
  ) {
    const detail = cause instanceof Error ? cause.message : String(cause)
    super(
      stage === 'sync-dir'
        ? `${file} was replaced but its directory could not be synced (${detail}); the change may not survive a power loss`
        : `could not write ${file} (${detail}); the file on disk is unchanged`,
      { cause },
    )
    this.name = 'DurableWriteError'
  }
}

/** Temp names start with the target's name so a crashed writer's leftovers are easy to find (see removeTempFiles). */
export function tempPrefix(file: string): string {
  return `${basename(file)}.tmp-`
}

export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(file)
  const temp = join(dir, `${tempPrefix(file)}${process.pid}-${randomBytes(4).toString('hex')}`)
  let stage: WriteStage = 'write'
  try {
    const handle = await open(temp, 'wx', 0o600)
    try {
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }
    stage = 'rename'
    await rename(temp, file)
    stage = 'sync-dir'
    await syncDir(dir)
  } catch (e) {
    if (stage !== 'sync-dir') await unlink(temp).catch(() => {})
    throw new DurableWriteError(file, stage, e)
  }
}

/** The file's bytes, or null when it does not exist. Other errors (EACCES, EISDIR) are thrown as they are. */
export async function readFileIfExists(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw e
  }
}

/**
 * Renames `file` to `<file>.<suffix>` without overwriting anything already there (adds -1, -2, ... on a clash),
 * durably, and returns the new path. link+unlink instead of rename because rename silently replaces.
 */
export async function moveAside(file: string, suffix: string): Promise<string> {
  for (let n = 0; n < 1000; n++) {
    const target = `${file}.${suffix}${n === 0 ? '' : `-${n}`}`
    try {
      await link(file, target)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue
      throw e
    }
    await unlink(file)
    await syncDir(dirname(file))
    return target
  }
  throw new Error(`could not find a free name to move ${file} aside`)
}

/** A timestamp usable in a file name on every OS: ISO 8601 with ':' replaced. */
export function fileTimestamp(date: Date): string {
  return date.toISOString().replace(/:/g, '-')
}

/**
 * Deletes temp files a killed writer left next to `file` (they are never the authoritative copy: the rename is
 * what publishes a write). Only call while holding the directory's writer lock, or a live writer's temp goes too.
 */
export async function removeTempFiles(file: string): Promise<string[]> {
  const prefix = tempPrefix(file)
  const removed: string[] = []
  for (const name of await readdir(dirname(file))) {
    if (!name.startsWith(prefix)) continue
    const path = join(dirname(file), name)
    await unlink(path).then(
      () => removed.push(path),
      () => {},
    )
  }
  return removed
}

/**
 * mkdir -p without `{ recursive: true }`: Node 20's recursive mkdir never settles under /proc (it retries the
 * ENOENT the kernel returns there forever), which would hang start-up on a mistyped data dir. One level at a time.
 */
export async function ensureDir(dir: string, mode = 0o700): Promise<void> {
  try {
    if ((await stat(dir)).isDirectory()) return
    throw Object.assign(new Error(`${dir} exists and is not a directory`), { code: 'ENOTDIR' })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
  }
  const parent = dirname(dir)
  if (parent !== dir) await ensureDir(parent, mode)
  try {
    await mkdir(dir, { mode })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
  }
}
