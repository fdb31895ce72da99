/**
 * CPU seconds of a process and every descendant still running, from /proc/PID/stat (utime + stime, plus
 * cutime + cstime: children it already waited for, such as a finished ssh-keygen). Linux only; a process that
 * is gone counts 0, so sample while the tree is alive.
 */
import { readdir, readFile } from 'node:fs/promises'

const TICKS_PER_S = 100 // USER_HZ: 100 on every Linux ABI Node runs on

async function own(pid: number): Promise<{ ticks: number; children: number[] }> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name, which may hold spaces and parentheses: split after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // f[0] is field 3 (state): utime = field 14 → f[11], stime f[12], cutime f[13], cstime f[14].
    const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(f[i] ?? 0), 0)
    const children: number[] = []
    for (const task of await readdirSafe(`/proc/${pid}/task`)) {
      const list = await readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '')
      for (const c of list.split(' ')) if (c.trim()) children.push(Number(c))
    }
    return { ticks, children }
  } catch {
    return { ticks: 0, children: [] }
  }
}

async function readdirSafe(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => [])
}

/** Sum over the trees rooted at `pids`, in seconds. */
export async function treeCpuSeconds(pids: number[]): Promise<number> {
  let ticks = 0
  const seen = new Set<number>()
  const queue = [...pids]
  for (let i = 0; i < queue.length && i < 10_000; i++) {
    const pid = queue[i]!
    if (seen.has(pid)) continue
    seen.add(pid)
    const o = await own(pid)
    ticks += o.ticks
    queue.push(...o.children)
  }
  return ticks / TICKS_PER_S
}
