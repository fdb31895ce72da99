/**
 * The default image, `rackboot-rescue`, boots for real in the lab (root, QEMU TCG, `rackboot lab`): Rackboot's
 * own DHCP gives the node its address and the iPXE ROM our script URL, and the kernel, image, modules and
 * system overlay come from Rackboot's HTTP server. The node comes up: kernel, Rackboot's /init, the image's
 * busybox init, DHCP, the marker line, and an agent report that moves the node to 'up'. An unknown MAC
 * under unknownNodes 'default-image' boots the same image without overlays.
 * Names: prefix `rbim1`, addresses 198.19.21.0/24 (this suite's budget: rbim*, 198.19.20-29.0/24).
 * Needs the built image: `npm run build:default-image` (.ci/install builds it).
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { missing } from '../support/env'
import { buildCli } from '../support/cli'
import { labFixture, waitFor } from '../support/lab'
import { Rackboot } from '../../electron/core/rackboot'
import {
  DEFAULT_IMAGE_NAME,
  defaultImageFiles,
  ensureDefaultImage,
} from '../../electron/core/images/default-image'

const RESOURCES = join(__dirname, '..', '..', 'resources')
const files = defaultImageFiles(RESOURCES)
const skip = missing({
  root: true,
  commands: ['ip', 'qemu-system-x86_64', 'curl'],
  files: ['/usr/lib/ipxe', files.archive, files.kernel],
})

const MARKER = 'RACKBOOT-DEFAULT-IMAGE-UP'
/** TCG on a busy shared machine: generous, and no assertion on how long anything took. */
const BOOT_MS = 300_000
/** Lab id 21: slot n has MAC 52:54:00:15:00:0n. */
const PLANNED = '52:54:00:15:00:01'
const UNKNOWN = '52:54:00:15:00:02'

describe.skipIf(skip)('the default image boots in the lab through Rackboot DHCP and HTTP', () => {
  const lab = labFixture({ prefix: 'rbim1', id: 21, subnet: '198.19.21.0/24' })
  beforeAll(() => buildCli())
  afterAll(() => lab.close())

  it(
    'a node assigned rackboot-rescue runs /init, the image init and the agent; an unknown MAC boots it bare',
    async () => {
      // Before the lab's serve holds the store: the image, the policy for unknown MACs, and slot 1's node.
      const core = await Rackboot.open({ dataDir: lab.dataDir() })
      try {
        expect((await ensureDefaultImage(core, { resourcesDir: RESOURCES })).status).toBe('imported')
        await core.store.update((db) => {
          db.settings.unknownNodes = 'default-image'
        })
      } finally {
        await core.close()
      }
      lab.cli(
        'nodes',
        'add',
        'rescue1',
        '--mac',
        PLANNED,
        '--ip',
        '198.19.21.11',
        '--image',
        DEFAULT_IMAGE_NAME,
      )
      lab.up(2)
      expect(lab.cli('lab', 'power-on', 'all')).toContain('powered on slot 1, 2')
      const detail = (slot: number) => () =>
        `${lab.console(slot)}\n--- serve.log:\n${lab.serveLog().slice(-3000)}`

      await waitFor('the marker on slot 1', () => lab.console(1).includes(MARKER), detail(1), BOOT_MS)
      const c = lab.console(1)
      expect(c).toMatch(/Linux version 6\.\d+\.\d+/)
      expect(c).toContain(`rackboot-init: node rescue1 (${PLANNED}), server http://${lab.serverAddress}:9873`)
      expect(c).toContain('rackboot-init: agent started')
      expect(c).toContain('rackboot-init: exec /sbin/init')
      // The image's own init got the reserved address from Rackboot's DHCP.
      expect(c).toContain(`rackboot-rescue: eth0 ${PLANNED} up: 198.19.21.11/24`)
      // The bootstrap ran before the image's init, which printed the marker.
      expect(c.indexOf('rackboot-init: exec /sbin/init')).toBeLessThan(c.indexOf(MARKER))
      await waitFor(
        "the agent's report (node state 'up')",
        () => lab.httpStatus().nodes.find((n) => n.name === 'rescue1')?.state === 'up',
        detail(1),
        BOOT_MS,
      )
      const agent = lab.httpStatus().nodes.find((n) => n.name === 'rescue1')!.agent!
      expect(agent.nics).toEqual(expect.arrayContaining([expect.objectContaining({ mac: PLANNED })]))

      await waitFor('the marker on slot 2', () => lab.console(2).includes(MARKER), detail(2), BOOT_MS)
      const u = lab.console(2)
      expect(u).toMatch(/Linux version 6\.\d+\.\d+/)
      // No node, so no system overlay: the image's own /init runs, not Rackboot's bootstrap.
      expect(u).not.toContain('rackboot-init:')
      // An address from the lab's pool (.100-.199).
      expect(u).toMatch(new RegExp(`rackboot-rescue: eth0 ${UNKNOWN} up: 198\\.19\\.21\\.1\\d\\d/24`))

      expect(lab.cli('lab', 'down')).toContain('lab removed')
    },
    3 * BOOT_MS,
  )
})
