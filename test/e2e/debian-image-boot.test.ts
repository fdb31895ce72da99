/**
 * A real Debian with systemd boots from Rackboot (root, QEMU TCG, `rackboot lab`): the node gets its address
 * from Rackboot's DHCP, iPXE loads kernel, image, modules and system overlay over Rackboot's HTTP, the
 * bootstrap execs the image's /sbin/init (systemd) which reaches multi-user.target on ttyS0, the agent reports
 * the inventory, and a runtime file set in the settings while the node runs reaches it at the agent's next
 * poll (rackboot.poll=5 on the node's kernel command line instead of the 60 s default).
 * Names: prefix `rbim0`, addresses 198.19.20.0/24 (this suite's budget: rbim*, 198.19.20-29.0/24).
 * Needs the built image: `npm run build:debian-image` (root; .ci/install builds it into .cache/debian-image).
 */
import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Rackboot } from '../../electron/core/rackboot'
import { missing } from '../support/env'
import { buildCli } from '../support/cli'
import { labFixture, waitFor } from '../support/lab'

const IMAGE_DIR = join(__dirname, '..', '..', '.cache', 'debian-image')
const ROOTFS = join(IMAGE_DIR, 'debian-systemd.tar.gz')
const KERNEL = join(IMAGE_DIR, 'vmlinuz')
const skip = missing({
  root: true,
  commands: ['ip', 'qemu-system-x86_64', 'curl', 'cpio', 'gzip'],
  files: ['/usr/lib/ipxe', ROOTFS, KERNEL],
})

/** TCG on a shared 2-core machine: generous, and nothing asserts how long a step took. */
const BOOT_MS = 420_000
const MAC = '52:54:00:14:00:01'
const IP = '198.19.20.11'

/** Names in a gzip cpio, read by GNU cpio (not our own reader), and one file's content. */
function cpioFile(archive: string, path: string): string | null {
  const raw = execFileSync('gzip', ['-dc', archive])
  const names = execFileSync('cpio', ['-t', '--quiet'], { input: raw }).toString().split('\n')
  if (!names.includes(path)) return null
  return execFileSync('cpio', ['-i', '--to-stdout', '--quiet', path], { input: raw }).toString()
}

describe.skipIf(skip)(
  'the Debian systemd image boots in the lab through Rackboot DHCP, TFTP and HTTP',
  () => {
    const lab = labFixture({ prefix: 'rbim0', id: 20, subnet: '198.19.20.0/24' })
    beforeAll(() => buildCli())
    afterAll(() => lab.close())

    it(
      'systemd reaches multi-user, the agent reports inventory, and a runtime file reaches the running node',
      async () => {
        const imported = lab.cli(
          'images',
          'import',
          'debian-systemd',
          '--rootfs',
          ROOTFS,
          '--kernel',
          KERNEL,
          '--args',
          'console=tty0 console=ttyS0,115200',
        )
        expect(imported).toContain('imported debian-systemd (rootfs')
        lab.cli('nodes', 'add', 'deb1', '--mac', MAC, '--ip', IP, '--image', 'debian-systemd')
        // Before the lab's serve holds the store: the node's own kernel arguments make the agent poll fast.
        const core = await Rackboot.open({ dataDir: lab.dataDir() })
        try {
          await core.store.update((db) => {
            db.nodes.find((n) => n.name === 'deb1')!.kernelArgs = 'rackboot.poll=5 rackboot.heartbeat=10'
          })
        } finally {
          await core.close()
        }
        lab.up(1, '--mem', '1024')
        expect(lab.cli('lab', 'power-on', 'all')).toContain('powered on slot 1')
        const detail = () => `${lab.console(1)}\n--- serve.log:\n${lab.serveLog().slice(-3000)}`

        await waitFor(
          'systemd to reach multi-user.target',
          () => /Reached target.*multi-user\.target/.test(lab.console(1)),
          detail,
          BOOT_MS,
        )
        const c = lab.console(1)
        expect(c).toMatch(/Linux version 6\.\d+\.\d+/)
        expect(c).toContain(`rackboot-init: node deb1 (${MAC}), server http://${lab.serverAddress}:9873`)
        expect(c).toContain('rackboot-init: exec /sbin/init')
        // The image's own init is systemd, and it started after the bootstrap handed over.
        expect(c).toMatch(/Welcome to .*Debian GNU\/Linux 12/)
        expect(c.indexOf('rackboot-init: exec /sbin/init')).toBeLessThan(c.search(/Welcome to .*Debian/))
        expect(c).not.toContain('rackboot-init: FAILED')
        // Each artifact came from Rackboot's HTTP server, to this node.
        for (const route of ['ipxe', 'kernel', 'image', 'modules', 'system'])
          expect(lab.serveLog()).toMatch(new RegExp(`HTTP ${route} for ${MAC} \\(deb1\\): 200`))

        // The agent (started by /init before systemd) reports; systemd-networkd brought the NIC up.
        await waitFor(
          "the agent's inventory in /status",
          () => lab.httpStatus().nodes.find((n) => n.name === 'deb1')?.agent?.cpus !== undefined,
          detail,
          BOOT_MS,
        )
        const nodes = JSON.parse(lab.cli('lab', 'exec', '--', 'nodes', 'list', '--json')) as Array<{
          name: string
          state: string
        }>
        expect(nodes.find((n) => n.name === 'deb1')?.state).toBe('up')
        const agent = lab.httpStatus().nodes.find((n) => n.name === 'deb1')!.agent!
        expect(agent.hostname).toBe('deb1')
        expect(agent.cpus).toBeGreaterThan(0)
        expect(agent.memoryKiB).toBeGreaterThan(512 * 1024)
        expect(agent.nics).toEqual(
          expect.arrayContaining([expect.objectContaining({ mac: MAC, operstate: 'up' })]),
        )
        expect(agent.dmi).toMatchObject({ vendor: 'QEMU' })

        // A runtime file set now, while the node runs: the agent's next poll (privileged port) applies it.
        const motd = `rackboot runtime file ${Date.now()}\n`
        lab.api('settings/update', { runtimeFiles: [{ path: '/etc/motd', mode: 0o644, content: motd }] })
        const archive = join(lab.dataDir(), 'overlays', 'deb1', 'runtime.cpio.gz')
        const servedSha = () => createHash('sha256').update(readFileSync(archive)).digest('hex')
        await waitFor(
          'the node to report the runtime overlay holding the new file as applied',
          () => {
            const sha = lab.httpStatus().nodes.find((n) => n.name === 'deb1')?.agent?.runtimeSha256
            return sha !== undefined && sha === servedSha() && cpioFile(archive, 'etc/motd') === motd
          },
          () => `${detail()}\n--- status:\n${JSON.stringify(lab.httpStatus())}`,
          BOOT_MS,
        )
        // Fetched from a privileged source port: the server refuses the runtime overlay otherwise.
        expect(lab.serveLog()).toMatch(new RegExp(`HTTP runtime for ${MAC} \\(deb1\\): 200`))

        expect(lab.cli('lab', 'down')).toContain('lab removed')
      },
      3 * BOOT_MS,
    )
  },
)
