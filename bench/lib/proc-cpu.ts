/**
 * CPU seconds of a process and every descendant still running, from /proc/PID/stat (utime + stime, plus
 * cutime + cstime: children it already waited for, such as a finished ssh-keygen). Linux only; a process that
 * is gone counts 0, so sample while the tree is alive.
 */
import { readFileSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'

const TICKS_PER_S = 100 // USER_HZ: 100 on every Linux ABI Node runs on

/** utime + stime + cutime + cstime, in ticks, from the text of /proc/PID/stat. */
export function statTicks(stat: string): number {
  // Fields after the command name, which may hold spaces and parentheses: split after the last ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // f[0] is field 3 (state): utime = field 14 → f[11], stime f[12], cutime f[13], cstime f[14].
  return [11, 12, 13, 14].reduce((sum, i) => sum + Number(f[i] ?? 0), 0)
}

/** The children of every thread of `pid`; none when it is gone. */
async function childrenOf(pid: number): Promise<number[]> {
  const children: number[] = []
  for (const task of await readdir(`/proc/${pid}/task`).catch(() => [])) {
    const list = await readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '')
    for (const c of list.split(' ')) if (c.trim()) children.push(Number(c))
  }
  return children
}

/** Every process of the trees rooted at `pids` that is running now (roots included). */
export async function treePids(pids: number[]): Promise<number[]> {
  const seen = new Set<number>()
  const queue = [...pids]
  for (let i = 0; i < queue.length && i < 10_000; i++) {
    const pid = queue[i]!
    if (seen.has(pid)) continue
    seen.add(pid)
    queue.push(...(await childrenOf(pid)))
  }
  return [...seen]
}

/**
 * Repeated readings of the trees' CPU seconds for a sampler: the trees' members are looked up again at most
 * every `refreshMs`, and a reading is one synchronous read of /proc/PID/stat per member. Walking the trees on
 * every sample (every thread's children file, through the thread pool) cost the bench process about 0.2 s of CPU
 * per second of a 20 ms trace, on the same two cores as the storm it measured (bench/RESULTS.md, session 9).
 */
export function cpuReader(pids: number[], refreshMs = 500): () => Promise<number> {
  let members: number[] = []
  let lookedUp = -Infinity
  return async () => {
    if (Date.now() - lookedUp >= refreshMs) {
      members = await treePids(pids)
      lookedUp = Date.now()
    }
    let ticks = 0
    for (const pid of members) {
      try {
        ticks += statTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'))
      } catch {
        // Gone since the lookup: it counts 0.
      }
    }
    return ticks / TICKS_PER_S
  }
}

/** Sum over the trees rooted at `pids`, in seconds. */
export function treeCpuSeconds(pids: number[]): Promise<number> {
  return cpuReader(pids, 0)()
}
