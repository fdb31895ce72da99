import { describe, it, expect } from 'vitest'
import { writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { createServer } from 'node:net'
import { createSocket } from 'node:dgram'
import { cliScratch, rackboot, serve } from '../support/cli'

const { tmp, keep } = cliScratch('rackboot-cli-')

const loopbackPorts = ['--http-port', '0', '--tftp-port', '0', '--ui-port', '0']

function portOf(hostPort: string): number {
  return Number(hostPort.slice(hostPort.lastIndexOf(':') + 1))
}
function tcpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer()
    s.once('error', () => resolve(false))
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
  })
}
function udpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4')
    s.once('error', () => resolve(false))
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)))
  })
}

describe('rackboot CLI', () => {
  it('--help lists the commands and exits 0', () => {
    const r = rackboot(['--help'])
    expect(r.status).toBe(0)
    for (const cmd of ['serve', 'nodes', 'doctor']) expect(r.stdout).toContain(cmd)
    const s = rackboot(['serve', '--help'])
    expect(s.status).toBe(0)
    for (const flag of [
      '--data-dir',
      '--interface',
      '--dhcp-mode',
      '--pool',
      '--http-port',
      '--ui-host',
      '--ui-port',
      '--config',
    ])
      expect(s.stdout).toContain(flag)
  })

  it('an unknown flag exits 2 and names the flag', () => {
    const r = rackboot(['serve', '--no-such-flag'])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('--no-such-flag')
  })

  it('bad values exit 2 naming the flag', () => {
    const d = tmp()
    expect(rackboot(['serve', '--data-dir', d, '--dhcp-mode', 'sometimes']).stderr).toContain('--dhcp-mode')
    const pool = rackboot(['serve', '--data-dir', d, '--pool', '198.18.0.200-198.18.0.100', ...loopbackPorts])
    expect(pool.status).toBe(2)
    expect(pool.stderr).toContain('--pool')
    const ui = rackboot(['serve', '--data-dir', d, '--ui-host', '0.0.0.0', ...loopbackPorts])
    expect(ui.status).toBe(2)
    expect(ui.stderr).toContain('--ui-host')
    const port = rackboot(['serve', '--data-dir', d, '--http-port', '70000'])
    expect(port.status).toBe(2)
    expect(port.stderr).toContain('--http-port')
  })

  it('serve prints one ready line, answers, and SIGTERM exits 0 leaving no socket open', async () => {
    const d = tmp()
    const s = await serve(['--data-dir', d, ...loopbackPorts])
    keep(s)
    const { ready } = s
    expect(ready.dhcp).toEqual({ mode: 'off', listening: null })
    expect(ready.interface).toBeNull()
    expect(ready.ui).toMatch(/^http:\/\/127\.0\.0\.1:[0-9]+\/\?token=[0-9a-f]{32,}$/)
    expect(ready.http).toMatch(/^http:\/\/127\.0\.0\.1:[0-9]+/)
    expect(ready.tftp).toMatch(/^127\.0\.0\.1:[0-9]+$/)
    const token = new URL(ready.ui).searchParams.get('token')!
    const status = await fetch(`${ready.api}/api/app/status`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    })
    expect(status.status).toBe(200)
    const body = (await status.json()) as { ok: boolean; value: { stack: { state: string } } }
    expect(body.ok).toBe(true)
    expect(body.value.stack.state).toBe('running')
    expect((await fetch(`${ready.http}/status`)).status).toBe(200)

    const ports = {
      ui: portOf(new URL(ready.api).host),
      http: portOf(new URL(ready.http!).host),
      tftp: portOf(ready.tftp!),
    }
    expect(await s.stop('SIGTERM')).toBe(0)
    expect(await tcpPortFree(ports.ui)).toBe(true)
    expect(await tcpPortFree(ports.http)).toBe(true)
    expect(await udpPortFree(ports.tftp)).toBe(true)
    expect(existsSync(join(d, 'rackboot.api.json'))).toBe(false)
    expect(existsSync(join(d, 'db.json'))).toBe(true)
  })

  it('a second serve on the same data dir refuses and names the PID holding it', async () => {
    const d = tmp()
    const first = await serve(['--data-dir', d, ...loopbackPorts])
    keep(first)
    const second = rackboot(['serve', '--data-dir', d, ...loopbackPorts])
    expect(second.status).toBe(1)
    expect(second.stderr).toContain(String(first.ready.pid))
    expect(await first.stop()).toBe(0)
  })

  it('nodes add/list/remove work on the store, and through a running serve', async () => {
    const d = tmp()
    const add = rackboot([
      'nodes',
      'add',
      'node01',
      '--mac',
      '52-54-00-AA-BB-01',
      '--ip',
      '198.18.0.11',
      '--data-dir',
      d,
    ])
    expect(add.stderr).not.toMatch(/error|warn/)
    expect(add.status).toBe(0)
    const dup = rackboot(['nodes', 'add', 'node02', '--mac', '5254.00aa.bb01', '--data-dir', d])
    expect(dup.status).toBe(1)
    expect(dup.stderr).toContain("already belongs to node 'node01'")
    const badMac = rackboot(['nodes', 'add', 'node03', '--mac', 'zz:zz', '--data-dir', d])
    expect(badMac.status).toBe(1)
    expect(badMac.stderr).toContain("'zz:zz' is not a MAC address")

    const s = await serve(['--data-dir', d, ...loopbackPorts])
    keep(s)
    expect(rackboot(['nodes', 'add', 'node02', '--mac', '52:54:00:aa:bb:02', '--data-dir', d]).status).toBe(0)
    const list = rackboot(['nodes', 'list', '--json', '--data-dir', d])
    expect(list.status).toBe(0)
    const nodes = JSON.parse(list.stdout) as Array<{ name: string; macs: string[]; ipv4: string | null }>
    expect(nodes.map((n) => [n.name, n.macs[0], n.ipv4])).toEqual([
      ['node01', '52:54:00:aa:bb:01', '198.18.0.11'],
      ['node02', '52:54:00:aa:bb:02', null],
    ])
    expect(rackboot(['nodes', 'remove', 'node02', '--data-dir', d]).status).toBe(0)
    expect(await s.stop()).toBe(0)
    const after = JSON.parse(rackboot(['nodes', 'list', '--json', '--data-dir', d]).stdout) as unknown[]
    expect(after).toHaveLength(1)
  })

  it('--config applies settings and names the bad field of a bad file', async () => {
    const d = tmp()
    const bad = join(d, 'bad.json')
    writeFileSync(bad, JSON.stringify({ dhcpMode: 'sometimes', httpPort: 'x' }))
    const r = rackboot(['serve', '--data-dir', join(d, 'data'), '--config', bad, ...loopbackPorts])
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('dhcpMode')
    expect(r.stderr).toContain('httpPort')
  })

  it('doctor prints one line per check with fixes', () => {
    const r = rackboot(['doctor', '--interface', 'rb-no-such-nic'])
    expect(r.status).toBe(1)
    expect(r.stdout).toMatch(/fail\s+interface 'rb-no-such-nic' does not exist/)
    expect(r.stdout).toContain('iPXE binary undionly.kpxe')
  })
})
