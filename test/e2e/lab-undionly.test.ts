/**
 * `rackboot lab` end to end (root, QEMU TCG): a BIOS node chains through TFTP `undionly.kpxe`. SeaBIOS has
 * no PXE of its own and QEMU's NIC ROM is iPXE, which the default policy answers with the script URL; with
 * `lab up --ipxe-rom-chain own-ipxe` (setting ipxeRomChain) the ROM is handed undionly.kpxe over TFTP and
 * the chained undionly's own DHCP gets the script. Seen from every side: tcpdump (both DHCP exchanges and
 * the TFTP request), the serve log (TFTP transfer, HTTP script, kernel, image), the console (ROM, then
 * undionly's iPXE) and the agent's report. Names: prefix rbch1, addresses 198.19.170.0/24.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_IMAGE_NAME, ensureDefaultImage } from '../../electron/core/images/default-image'
import { Rackboot } from '../../electron/core/rackboot'
import { buildCli } from '../support/cli'
import { missing } from '../support/env'
import { BOOT_MS, labFixture, namespaces, waitFor } from '../support/lab'

const RESOURCES = join(__dirname, '..', '..', 'resources')
const skip = missing({
  root: true,
  commands: ['ip', 'qemu-system-x86_64', 'tcpdump'],
  files: [
    join(RESOURCES, 'ipxe', 'undionly.kpxe'),
    join(RESOURCES, 'default-image', 'rackboot-rescue.tar.gz'),
  ],
})
const MARKER = 'RACKBOOT-DEFAULT-IMAGE-UP'

describe.skipIf(skip)('rackboot lab: BIOS iPXE ROM chained through TFTP undionly.kpxe', () => {
  const lab = labFixture({ prefix: 'rbch1', id: 170, subnet: '198.19.170.0/24' })
  const MAC = '52:54:00:aa:00:01'
  const IP = '198.19.170.11'
  beforeAll(() => buildCli())
  afterAll(() => lab.close(), 120_000)

  it(
    'ROM DHCP -> TFTP undionly.kpxe -> chained iPXE DHCP -> HTTP script -> kernel/image -> agent up',
    async () => {
      const core = await Rackboot.open({ dataDir: lab.dataDir() })
      try {
        expect((await ensureDefaultImage(core, { resourcesDir: RESOURCES })).status).toBe('imported')
      } finally {
        await core.close()
      }
      lab.cli('nodes', 'add', 'u1', '--mac', MAC, '--ip', IP, '--image', DEFAULT_IMAGE_NAME)
      expect(lab.up(1, '--ipxe-rom-chain', 'own-ipxe')).toContain(`slot 1  rbch1-node01  ${MAC}  bios`)
      const settings = JSON.parse(lab.cli('lab', 'exec', '--', 'settings', 'get')) as {
        ipxeRomChain: string
      }
      expect(settings.ipxeRomChain).toBe('own-ipxe')
      const wire = await lab.tcpdump('udp port 67 or udp port 68 or udp port 69')
      expect(lab.cli('lab', 'power-on', 'all')).toContain('powered on slot 1')

      const detail = () =>
        `${lab.console(1)}\n--- serve.log:\n${lab.serveLog()}\n--- tcpdump:\n${wire()}\n--- stack/counters:\n${lab.counters()}`
      await waitFor(
        "the node to reach its image's init",
        () => lab.console(1).includes(MARKER),
        detail,
        4 * BOOT_MS,
      )
      const state = () =>
        (JSON.parse(lab.cli('lab', 'exec', '--', 'nodes', 'list', '--json')) as Array<{ state: string }>).map(
          (n) => n.state,
        )
      await waitFor(
        "the agent's report (state 'up')",
        () => state()[0] === 'up',
        () => state().join(', '),
      )

      // The wire: the ROM was offered undionly.kpxe and fetched it over TFTP; then a second DHCP exchange.
      const dump = wire()
      expect(dump).toMatch(/RRQ "undionly\.kpxe"/)
      expect(dump.match(/DHCP-Message \(53\), length 1: Discover/g)?.length ?? 0).toBeGreaterThanOrEqual(2)
      expect(dump).toMatch(/"undionly\.kpxe"/)
      expect(dump).toMatch(/"http:\/\/198\.19\.170\.1:9873\/ipxe\//)
      // The serve: TFTP sent the binary, then HTTP served the script, kernel and image to the node.
      const log = lab.serveLog()
      expect(log).toMatch(/TFTP 198\.19\.170\.11:\d+ 'undionly\.kpxe': sent \d+ bytes/)
      for (const route of ['ipxe', 'kernel', 'image'])
        expect(log).toMatch(new RegExp(`HTTP ${route} for ${MAC} \\(u1\\): 200`))
      // The console: the ROM's iPXE fetched undionly.kpxe, whose iPXE (PXE->EB: via the ROM's UNDI) then
      // fetched the script; in that order, and undionly was fetched once (the chain ended).
      const c = lab.console(1).replace(/[\r\n]/g, '')
      const tftpAt = c.indexOf('undionly.kpxe... ok')
      const scriptAt = c.indexOf('http://198.19.170.1:9873/ipxe/')
      expect(tftpAt).toBeGreaterThanOrEqual(0)
      expect(scriptAt).toBeGreaterThan(tftpAt)
      expect(c.split('undionly.kpxe... ok')).toHaveLength(2)
      expect(lab.console(1)).toContain(`rackboot-rescue: eth0 ${MAC} up: ${IP}/24`)

      expect(lab.cli('lab', 'down')).toContain('lab removed')
      expect(namespaces()).not.toContain('rbch1-srv')
    },
    6 * BOOT_MS,
  )
})
