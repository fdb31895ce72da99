/**
 * The rogue-DHCP probe against a real DHCP server (dnsmasq) on a namespace wire: `rackboot doctor
 * --probe-dhcp` run inside the client namespace must name it, and stay quiet on a wire without one.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { spawnSync } from 'node:child_process'
import { createNetnsPair, type NetnsPair } from '../support/netns'
import { missing } from '../support/env'
import { buildCli } from '../support/cli'

const skip = missing({ root: true, commands: ['ip', 'dnsmasq'] })

describe.skipIf(skip !== null)('rogue-DHCP probe on a namespace wire', () => {
  let net: NetnsPair
  const dir = mkdtempSync(join(tmpdir(), 'rackboot-rogue-'))
  const bin = resolve('bin/rackboot.js')

  beforeAll(() => {
    buildCli()
    net = createNetnsPair({ prefix: 'rbrg', serverAddress: '198.18.50.1/24' })
  })
  afterAll(() => {
    net?.destroy()
    rmSync(dir, { recursive: true, force: true })
  })

  // doctor exits 1 when an unrelated check fails (not root, no iPXE binaries): read its lines, not its status.
  const doctor = () =>
    spawnSync(
      'ip',
      ['netns', 'exec', net.client, 'node', bin, 'doctor', '--interface', net.clientIf, '--probe-dhcp'],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    ).stdout

  it('finds nothing on a quiet wire', () => {
    expect(doctor()).toMatch(/ok\s+no other DHCP server answered on rbrg-v1/)
  })

  it('names a DHCP server that answers, and suggests proxy mode', async () => {
    const dnsmasq = net.spawn('srv', 'dnsmasq', [
      '--no-daemon',
      '--port=0',
      `--interface=${net.serverIf}`,
      '--bind-interfaces',
      '--dhcp-range=198.18.50.100,198.18.50.150,255.255.255.0,1h',
      '--dhcp-boot=rogue.pxe',
      `--dhcp-leasefile=${join(dir, 'leases')}`,
      '--no-ping',
      `--pid-file=${join(dir, 'dnsmasq.pid')}`,
    ])
    await new Promise((r) => setTimeout(r, 1000))
    expect(dnsmasq.exitCode).toBeNull()
    const out = doctor()
    expect(out).toMatch(
      /warn\s+another DHCP server answers on rbrg-v1: 198\.18\.50\.1 \(offered 198\.18\.50\.1[0-9]{2}, boot file rogue\.pxe\)/,
    )
    expect(out).toContain('--dhcp-mode proxy')
  })
})
