import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { describe, expect, it } from 'vitest'
import { cpuReader, statTicks, treePids } from '../../bench/lib/proc-cpu'

describe('bench CPU readings from /proc', () => {
  it('sums utime, stime, cutime and cstime after a command name with spaces and parentheses', () => {
    // Fields 1-2, then state (3) … utime (14) stime (15) cutime (16) cstime (17).
    const stat = '4242 (we (ird) name) S 1 2 3 4 5 6 7 8 9 10 11 22 33 44 20 0 1 0 5 6 7'
    expect(statTicks(stat)).toBe(11 + 22 + 33 + 44)
  })

  it.runIf(process.platform === 'linux')(
    "counts a child's CPU under its parent's tree, and a gone process as 0",
    async () => {
      // The child burns 150 ms of its own CPU (not wall time: the machine may be busy), says so, then waits.
      const child = spawn(
        process.execPath,
        [
          '-e',
          "const t=process.cpuUsage();while((process.cpuUsage(t).user+process.cpuUsage(t).system)<150000);process.stdout.write('burnt\\n');setTimeout(()=>{},60000)",
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      )
      const pid = child.pid
      if (pid === undefined) throw new Error('the child has no pid')
      try {
        await once(child.stdout, 'data')
        expect(await treePids([process.pid])).toContain(pid)
        expect(await cpuReader([pid], 0)()).toBeGreaterThanOrEqual(0.1)
      } finally {
        child.kill('SIGKILL')
        await once(child, 'exit')
      }
      expect(await cpuReader([pid], 0)()).toBe(0)
    },
  )
})
