/**
 * The storm rig's links are running when up() returns (electron/core/net/link-ready.ts): a process started
 * in either namespace at once sees the link in os.networkInterfaces(), as `rackboot serve --interface` needs.
 * Without the wait, `ip link set up` returned before the kernel's link watch marked the veth running and a
 * serve started then failed with "interface 'rbsx-q-v0' does not exist (present: lo)" (storm-qemu, CI).
 * Both wirings: the veth end holding the clients, and the bridge with a QEMU tap.
 * Namespaces rbqf-*, addresses 198.19.216.0/22.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { missing } from '../support/env'
import { StormRig } from '../../electron/core/sim/rig'
import { silentLogger } from '../../electron/core/util/logger'

const execFileP = promisify(execFile)
const skip = missing({ root: true, commands: ['ip'] })
const LIST = 'console.log(JSON.stringify(Object.keys(require("os").networkInterfaces())))'

describe.skipIf(skip)('storm rig: links are running when up() returns', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rbqf-'))
  const rigs: StormRig[] = []
  afterAll(async () => {
    for (const rig of rigs) await rig.down()
    rmSync(dir, { recursive: true, force: true })
  })

  const seenIn = async (ns: string): Promise<string[]> =>
    JSON.parse(
      (await execFileP('ip', ['netns', 'exec', ns, process.execPath, '-e', LIST], { timeout: 30_000 }))
        .stdout,
    ) as string[]

  for (const qemuSlots of [0, 1])
    it(`${qemuSlots ? 'bridge with a tap' : 'veth only'}: both ends are listed by Node at once`, async () => {
      const rig = new StormRig({
        prefix: 'rbqf',
        subnet: '198.19.216.0/22',
        dataDir: join(dir, `data${qemuSlots}`),
        selfCommand: [process.execPath, 'bin/rackboot.js'],
        logger: silentLogger,
        qemuSlots,
      })
      rigs.push(rig)
      await rig.up()
      const [srv, cli] = await Promise.all([seenIn(rig.srv), seenIn(rig.cli)])
      expect(srv).toContain(rig.srvIf)
      expect(cli).toContain(rig.clientIface)
      await rig.down()
      expect((await execFileP('ip', ['netns', 'list'])).stdout).not.toMatch(/^rbqf-/m)
    })
})
