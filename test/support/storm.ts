/**
 * A boot-storm rig for e2e tests (electron/core/sim/rig.ts) on its own temp data dir: namespaces
 * `<prefix>-srv`/`<prefix>-cli`, `rackboot serve` from the CLI bundle, and helpers to run the CLI inside the
 * server namespace (its API listens on that namespace's loopback). close() is safe in afterAll whatever
 * state the test left: it kills what the rig started (by PID) and deletes the namespaces and the temp dir.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { StormRig } from '../../electron/core/sim/rig'
import { silentLogger } from '../../electron/core/util/logger'
import { replay } from '../../electron/core/boot/dhcp/journal'
import { intToIp } from '../../electron/core/util/ipv4'
import { BIN } from './cli'

const execFileP = promisify(execFile)

export interface TestStorm {
  rig: StormRig
  dir: string
  /** `rackboot ARGS --data-dir <dir>` inside the server namespace (reaches the running serve's API). */
  cli(...args: string[]): Promise<string>
  /** The store as the last writer left it (throws if it does not parse). */
  db(): { nodes: Array<{ name: string; macs: string[]; ipv4: string | null }> }
  /** The lease journal replayed: bound leases by MAC, and lines that did not parse. */
  leases(): { byMac: Map<string, string[]>; badLines: number }
  close(): Promise<void>
}

export function testStorm(prefix: string, subnet: string): TestStorm {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`))
  const self = [process.execPath, resolve(BIN)]
  const rig = new StormRig({
    prefix,
    subnet,
    dataDir: join(dir, 'data'),
    selfCommand: self,
    logger: silentLogger,
  })
  return {
    rig,
    dir,
    cli: async (...args) =>
      (
        await execFileP('ip', ['netns', 'exec', rig.srv, ...self, ...args, '--data-dir', rig.dataDir], {
          timeout: 60_000,
        })
      ).stdout,
    db: () => JSON.parse(readFileSync(join(rig.dataDir, 'db.json'), 'utf8')) as ReturnType<TestStorm['db']>,
    leases: () => {
      let text = ''
      try {
        text = readFileSync(join(rig.dataDir, 'leases.jsonl'), 'utf8')
      } catch {
        // no lease yet
      }
      const { entries, badLines } = replay(text)
      const byMac = new Map<string, string[]>()
      for (const e of entries)
        if (e.state === 'bound') byMac.set(e.mac, [...(byMac.get(e.mac) ?? []), intToIp(e.ip)])
      return { byMac, badLines }
    },
    close: async () => {
      await rig.down()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
