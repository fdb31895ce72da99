/**
 * `rackboot lab` end to end (root, QEMU TCG): `lab up` makes its namespaces and starts Rackboot's own serve
 * inside them, `lab power-on` boots a real PXE ROM against it, `lab down` leaves nothing behind. Observed
 * from every side: tcpdump on the lab's server interface (DHCP DISCOVER/OFFER/REQUEST/ACK), the lease
 * journal, serve's log (HTTP script fetches) and the node's serial console (iPXE fetching its script).
 * Names: prefix `rblab` (this suite's namespace budget), addresses 198.18.64.0/24 and 198.18.65.0/24.
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ipToInt } from '../../electron/core/util/ipv4'
import { dispatch } from '../../electron/core/api/dispatch'
import { Rackboot } from '../../electron/core/rackboot'
import { missing } from '../support/env'
import { BIN, buildCli } from '../support/cli'
import { BOOT_MS, alive, labFixture, namespaces, waitFor } from '../support/lab'

const OVMF = '/usr/share/ovmf/OVMF.fd'
const skip = missing({
  root: true,
  commands: ['ip', 'qemu-system-x86_64', 'tcpdump'],
  files: ['/usr/lib/ipxe', OVMF],
})

describe.skipIf(skip)('rackboot lab (namespaces, serve, QEMU)', () => {
  beforeAll(() => buildCli())

  describe('one planned node boots to its iPXE script, then lab down removes everything', () => {
    const lab = labFixture({ prefix: 'rblab', id: 64, subnet: '198.18.64.0/24' })
    const MAC = '52:54:00:40:00:01'
    afterAll(() => lab.close())

    it(
      'DHCP lease, HTTP script fetch, clean teardown',
      async () => {
        // Planned before the lab's serve runs, so `nodes add` opens the store itself.
        lab.cli('nodes', 'add', 'n1', '--mac', MAC, '--ip', '198.18.64.11')
        expect(lab.up(1)).toContain(`slot 1  rblab-node01  ${MAC}  bios`)
        expect(namespaces()).toEqual(expect.arrayContaining(['rblab-srv', 'rblab-cli']))
        const dhcp = await lab.tcpdump('udp port 67 or udp port 68')
        // Router advertisements (ICMPv6 type 134) from the lab's RA sender, decoded by tcpdump.
        const ra = await lab.tcpdump('icmp6 and ip6[40] == 134')

        expect(lab.cli('lab', 'power-on', 'all')).toContain('powered on slot 1')
        const qemuPid = lab.status().nodes[0]!.pid!
        expect(alive(qemuPid)).toBe(true)
        const scriptUrl = 'http://198.18.64.1:9873/ipxe/52-54-00-40-00-01'
        await waitFor(
          'the node to fetch its iPXE script and say it has no image',
          () => lab.console(1).includes('has no kernel and image yet'),
          () =>
            `${lab.console(1)}\n--- serve.log:\n${lab.serveLog()}\n--- tcpdump:\n${dhcp()}\n--- stack/counters:\n${lab.counters()}`,
        )
        // The console wraps at 80 columns: compare without line breaks.
        const consoleText = lab.console(1).replace(/[\r\n]/g, '')
        expect(consoleText).toContain(`${scriptUrl}... ok`)
        expect(lab.console(1)).toContain('net0: 198.18.64.11/255.255.255.0')
        expect(lab.serveLog()).toContain(`HTTP ipxe for ${MAC} (n1): 200`)

        // tcpdump -v names the option 53 type of each packet, in the order they crossed the wire.
        const types = [...dhcp().matchAll(/DHCP-Message[^:]*: (\w+)/g)].map((m) => m[1]!.toUpperCase())
        expect(types.slice(0, 4)).toEqual(['DISCOVER', 'OFFER', 'REQUEST', 'ACK'])
        expect(ra()).toMatch(/hlim 255.*\[icmp6 sum ok\] ICMP6, router advertisement/)
        expect(ra()).toContain('router lifetime 0s')
        expect(ra()).toContain('2001:db8:0:40::/64, Flags [onlink, auto]')
        const journal = readFileSync(join(lab.dataDir(), 'leases.jsonl'), 'utf8')
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as { m: string; i: number; s: string })
        expect(journal).toContainEqual(
          expect.objectContaining({ m: MAC, i: ipToInt('198.18.64.11'), s: 'bound' }),
        )

        const st = lab.status()
        expect(st.serveRunning).toBe(true)
        expect(st.nodes[0]).toMatchObject({ slot: 1, mac: MAC, running: true, stage: 'ipxe-script' })

        expect(lab.cli('lab', 'down')).toContain('lab removed')
        expect(namespaces()).not.toContain('rblab-srv')
        expect(namespaces()).not.toContain('rblab-cli')
        expect(alive(qemuPid)).toBe(false)
        expect(() => execFileSync('ip', ['link', 'show', 'dev', 'rblab-t1'], { stdio: 'pipe' })).toThrow()
        expect(existsSync(join(lab.dataDir(), 'lab', 'state.json'))).toBe(false)
        expect(existsSync(join(lab.dataDir(), 'rackboot.api.json'))).toBe(false) // serve shut down cleanly
      },
      4 * BOOT_MS,
    )
  })

  describe('capture: two unknown nodes powered on 20 s apart take slots 1 and 2', () => {
    const lab = labFixture({ prefix: 'rblab', id: 65, subnet: '198.18.65.0/24' })
    afterAll(() => lab.close())

    it(
      'assigns the MACs in power-on order',
      async () => {
        // The rack and its two empty slots are planned before the lab's serve holds the store.
        const core = await Rackboot.open({ dataDir: lab.dataDir() })
        try {
          const rack = await dispatch(core.handlers, 'racks/upsert', {
            name: 'r1',
            heightU: 42,
            numbering: 'bottom-up',
          })
          expect(rack.ok).toBe(true)
        } finally {
          await core.close()
        }
        lab.cli('nodes', 'add', 'c1', '--rack', 'r1', '--slot', '1')
        lab.cli('nodes', 'add', 'c2', '--rack', 'r1', '--slot', '2')
        lab.up(2)
        // The serve runs in the lab's server namespace: `lab exec` reaches it there.
        expect(lab.cli('lab', 'exec', '--', 'capture', 'start')).toContain('capture ON')

        // 20 s apart: longer than the 10 s capture guard, so each arrival is unambiguous.
        expect(lab.cli('lab', 'power-on', 'all', '--interval', '20')).toContain('powered on slot 1, 2')
        for (const slot of [1, 2])
          await waitFor(
            `slot ${slot} to fetch its script as a captured node`,
            () => lab.console(slot).includes('has no kernel and image yet'),
            () =>
              `${lab.console(slot)}\n--- serve.log:\n${lab.serveLog()}\n--- stack/counters:\n${lab.counters()}`,
          )
        const nodes = JSON.parse(lab.cli('lab', 'exec', '--', 'nodes', 'list', '--json')) as Array<{
          name: string
          macs: string[]
        }>
        const macs = Object.fromEntries(nodes.map((n) => [n.name, n.macs]))
        expect(macs).toEqual({ c1: ['52:54:00:41:00:01'], c2: ['52:54:00:41:00:02'] })

        const [pid1, pid2] = lab.status().nodes.map((n) => n.pid!)
        expect(lab.cli('lab', 'power-off', '1')).toContain('powered off slot 1')
        expect(alive(pid1!)).toBe(false)
        expect(lab.status().nodes.map((n) => n.running)).toEqual([false, true])
        expect(alive(pid2!)).toBe(true)
        expect(lab.cli('lab', 'down')).toContain('lab removed')
        expect(namespaces()).not.toContain('rblab-srv')
      },
      6 * BOOT_MS,
    )
  })

  describe('a crashed `lab up` leaves a state file that `lab down` cleans up', () => {
    const lab = labFixture({ prefix: 'rblab', id: 66, subnet: '198.18.66.0/24' })
    afterAll(() => lab.close())

    it(
      'kills the orphaned serve and deletes the namespaces by their recorded names',
      async () => {
        const stateFile = join(lab.dataDir(), 'lab', 'state.json')
        const recorded = () => {
          try {
            return JSON.parse(readFileSync(stateFile, 'utf8')) as {
              processes: Array<{ role: string; pid: number }>
            }
          } catch {
            return null // not written yet, or caught mid-rename
          }
        }
        const up = spawn(
          process.execPath,
          [
            BIN,
            'lab',
            'up',
            '--nodes',
            '2',
            '--id',
            '66',
            '--prefix',
            'rblab',
            '--subnet',
            '198.18.66.0/24',
            '--data-dir',
            lab.dataDir(),
          ],
          { stdio: 'ignore' },
        )
        const upExited = new Promise((r) => up.once('exit', r))
        // The serve is recorded the moment it is spawned, well before it is ready: kill `lab up` there.
        await waitFor(
          'lab up to record its serve',
          () => (recorded()?.processes.length ?? 0) > 0,
          () => (existsSync(stateFile) ? readFileSync(stateFile, 'utf8') : 'no state file'),
          60_000,
        )
        up.kill('SIGKILL')
        await upExited
        const servePid = recorded()!.processes.find((p) => p.role === 'serve')!.pid
        expect(namespaces()).toEqual(expect.arrayContaining(['rblab-srv', 'rblab-cli']))

        expect(lab.cli('lab', 'down')).toContain('lab removed')
        expect(alive(servePid)).toBe(false)
        expect(namespaces()).not.toContain('rblab-srv')
        expect(namespaces()).not.toContain('rblab-cli')
        expect(existsSync(stateFile)).toBe(false)
        // And a second down has nothing left to do.
        expect(lab.cli('lab', 'down')).toContain('no lab to remove')
      },
      2 * BOOT_MS,
    )
  })
})
