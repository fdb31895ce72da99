import { describe, it, expect, afterEach } from 'vitest'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, lstatSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { OverlayCache } from '../../electron/core/images/overlays/cache'
import { viaNodeCrypto } from '../../electron/core/images/overlays/hostkeys'
import type { OverlayInputs } from '../../electron/core/images/overlays/templates'
import { INIT_SCRIPT } from '../../electron/core/images/bootstrap/init-script'
import { AGENT_SCRIPT } from '../../electron/core/images/bootstrap/agent-script'
import { missing } from '../support/env'

const dirs: string[] = []
const tmp = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), p))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const sample = (): OverlayInputs => ({
  node: {
    name: 'n1',
    macs: ['52:54:00:00:00:01', '52:54:00:00:01:01'],
    ipv4: '198.18.0.11',
    assetKey: "it's",
  },
  nodes: [
    { name: 'n2', ipv4: '198.18.0.12' },
    { name: 'n1', ipv4: '198.18.0.11' },
    { name: 'spare', ipv4: null },
  ],
  settings: {
    subnet: '198.18.0.0/24',
    gateway: '198.18.0.1',
    dns: ['198.18.0.1', '198.18.0.2'],
    domain: 'lab',
  },
  authorizedKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample admin@desk'],
  serverUrl: 'http://198.18.0.1:9873',
  runtimeOverlays: ['generic'],
  runtimeFiles: [],
})

/** Unpacks with the real GNU cpio, not with our own reader. */
function extract(archive: string): { dir: string; list: string[] } {
  const dir = tmp('rackboot-ovx-')
  const raw = execFileSync('gzip', ['-dc', archive])
  const list = execFileSync('cpio', ['-t', '--quiet'], { input: raw }).toString().trim().split('\n')
  execFileSync('cpio', ['-idm', '--quiet', '--no-absolute-filenames'], { input: raw, cwd: dir })
  return { dir, list }
}

const mode = (p: string) => (lstatSync(p).mode & 0o7777).toString(8)
const skip = missing({ commands: ['cpio', 'gzip', 'ssh-keygen'] })

describe.skipIf(skip)('system overlay', () => {
  it('holds the node identity, network, SSH, agent config, /init and the agent (golden)', async () => {
    const cache = new OverlayCache({
      root: tmp('rackboot-ov-'),
      keyGenerator: 'node',
      now: () => new Date(1_700_000_000_000),
    })
    const { dir, list } = extract(await cache.path('system', sample()))
    expect(list).toEqual([
      'dev',
      'dev/console',
      'etc',
      'etc/hostname',
      'etc/hosts',
      'etc/resolv.conf',
      'etc/network',
      'etc/network/interfaces',
      'etc/rackboot',
      'etc/rackboot/agent.conf',
      'etc/ssh',
      'etc/ssh/ssh_host_ed25519_key',
      'etc/ssh/ssh_host_ed25519_key.pub',
      'etc/systemd',
      'etc/systemd/network',
      'etc/systemd/network/10-rackboot.network',
      'init',
      'root',
      'root/.ssh',
      'root/.ssh/authorized_keys',
      'usr',
      'usr/sbin',
      'usr/sbin/rackboot-agent',
    ])
    const read = (p: string) => readFileSync(join(dir, p), 'utf8')
    expect(read('etc/hostname')).toBe('n1\n')
    expect(read('etc/hosts')).toBe(
      '# Written by Rackboot: every node of the cluster.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' +
        '198.18.0.11\tn1.lab n1\n198.18.0.12\tn2.lab n2\n',
    )
    expect(read('etc/resolv.conf')).toBe(
      '# Written by Rackboot.\nsearch lab\nnameserver 198.18.0.1\nnameserver 198.18.0.2\n',
    )
    expect(read('etc/network/interfaces')).toBe(
      '# Written by Rackboot for n1. At boot /init replaces @RACKBOOT_IFACE@ with the interface whose MAC is 52:54:00:00:00:01.\n' +
        'auto lo\niface lo inet loopback\n\nauto @RACKBOOT_IFACE@\niface @RACKBOOT_IFACE@ inet static\n' +
        '    address 198.18.0.11/24\n    gateway 198.18.0.1\n',
    )
    expect(read('etc/systemd/network/10-rackboot.network')).toBe(
      '# Written by Rackboot for n1.\n[Match]\nMACAddress=52:54:00:00:00:01\n\n[Network]\n' +
        'Address=198.18.0.11/24\nGateway=198.18.0.1\nDNS=198.18.0.1\nDNS=198.18.0.2\nDomains=lab\n',
    )
    expect(read('etc/rackboot/agent.conf')).toContain("RACKBOOT_ASSETKEY='it'\\''s'\n")
    // The quoting holds: a shell reads back exactly the values.
    const sourced = execFileSync(
      'sh',
      [
        '-c',
        '. ./etc/rackboot/agent.conf; printf "%s|%s|%s|%s" "$RACKBOOT_SERVER" "$RACKBOOT_MAC" "$RACKBOOT_NODE" "$RACKBOOT_ASSETKEY"',
      ],
      { cwd: dir },
    ).toString()
    expect(sourced).toBe("http://198.18.0.1:9873|52:54:00:00:00:01|n1|it's")
    expect(read('root/.ssh/authorized_keys')).toBe(
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample admin@desk\n',
    )
    expect(read('init')).toBe(INIT_SCRIPT)
    expect(read('usr/sbin/rackboot-agent')).toBe(AGENT_SCRIPT)
    expect(mode(join(dir, 'init'))).toBe('755')
    expect(mode(join(dir, 'usr/sbin/rackboot-agent'))).toBe('755')
    expect(mode(join(dir, 'etc/ssh/ssh_host_ed25519_key'))).toBe('600')
    expect(mode(join(dir, 'etc/rackboot/agent.conf'))).toBe('600')
    expect(mode(join(dir, 'root'))).toBe('700')
    expect(mode(join(dir, 'root/.ssh'))).toBe('700')
    expect(mode(join(dir, 'root/.ssh/authorized_keys'))).toBe('600')
    expect(mode(join(dir, 'etc'))).toBe('755')
    const console = statSync(join(dir, 'dev/console'))
    expect(console.isCharacterDevice()).toBe(true)
    expect(console.rdev).toBe((5 << 8) | 1)
    // The host key is one OpenSSH itself reads, and its public half matches.
    const pub = execFileSync('ssh-keygen', ['-y', '-f', join(dir, 'etc/ssh/ssh_host_ed25519_key')])
      .toString()
      .trim()
    expect(read('etc/ssh/ssh_host_ed25519_key.pub').startsWith(pub)).toBe(true)
    expect(statSync(join(dir, 'etc/hostname')).mtimeMs).toBe(1_700_000_000_000)
  })

  it('without an address or subnet falls back to DHCP and leaves authorized_keys alone', async () => {
    const cache = new OverlayCache({ root: tmp('rackboot-ov-'), keyGenerator: 'node' })
    const i = sample()
    i.node.ipv4 = null
    i.authorizedKeys = []
    const { dir, list } = extract(await cache.path('system', i))
    expect(list).not.toContain('root/.ssh/authorized_keys')
    expect(list).not.toContain('root')
    expect(readFileSync(join(dir, 'etc/network/interfaces'), 'utf8')).toContain(
      'iface @RACKBOOT_IFACE@ inet dhcp\n',
    )
    expect(readFileSync(join(dir, 'etc/systemd/network/10-rackboot.network'), 'utf8')).toContain(
      '\nDHCP=ipv4\n',
    )
  })
})

describe.skipIf(skip)('overlay cache', () => {
  it('rebuilds when the inputs change and not otherwise; host keys are kept', async () => {
    const root = tmp('rackboot-ov-')
    const cache = new OverlayCache({ root, keyGenerator: 'ssh-keygen' })
    const i = sample()
    const p1 = await cache.path('system', i)
    const ino1 = statSync(p1).ino
    const key1 = readFileSync(join(root, 'n1/hostkeys/ssh_host_ed25519_key'), 'utf8')
    expect(await cache.path('system', sample())).toBe(p1)
    expect(statSync(p1).ino).toBe(ino1)

    i.settings.dns = ['198.18.0.53']
    await cache.path('system', i)
    expect(statSync(p1).ino).not.toBe(ino1)
    const { dir } = extract(p1)
    expect(readFileSync(join(dir, 'etc/resolv.conf'), 'utf8')).toContain('nameserver 198.18.0.53\n')
    expect(readFileSync(join(dir, 'etc/ssh/ssh_host_ed25519_key'), 'utf8')).toBe(key1)

    // A new cache over the same directory (a restart) reuses the file.
    const ino2 = statSync(p1).ino
    await new OverlayCache({ root, keyGenerator: 'node' }).path('system', i)
    expect(statSync(p1).ino).toBe(ino2)
    // A removed archive is rebuilt even though the sidecar matches.
    rmSync(p1)
    expect(statSync(await cache.path('system', i)).isFile()).toBe(true)
  })

  it('counts runtime generations only when the runtime inputs change', async () => {
    let t = 1_700_000_000_000
    const cache = new OverlayCache({
      root: tmp('rackboot-ov-'),
      keyGenerator: 'node',
      now: () => new Date((t += 1000)),
    })
    const gen = async (i: OverlayInputs) => {
      const { dir } = extract(await cache.path('runtime', i))
      return JSON.parse(readFileSync(join(dir, 'etc/rackboot/runtime.json'), 'utf8')) as {
        generation: number
        renderedAt: string
        node: string
        overlays: string[]
      }
    }
    const first = await gen(sample())
    expect(first).toMatchObject({ node: 'n1', generation: 1 })
    const i = sample()
    i.settings.dns = ['198.18.0.53'] // a system input: the runtime overlay stays
    expect(await gen(i)).toEqual(first)
    i.runtimeOverlays = ['generic', 'users']
    const second = await gen(i)
    expect(second).toMatchObject({ generation: 2, overlays: ['generic', 'users'] })
    expect(second.renderedAt > first.renderedAt).toBe(true)
    expect(await gen(i)).toEqual(second)
  })

  it('carries the runtime files with their modes, and a changed file is a new generation (golden)', async () => {
    const cache = new OverlayCache({
      root: tmp('rackboot-ov-'),
      keyGenerator: 'node',
      now: () => new Date(1_700_000_000_000),
    })
    const i = sample()
    i.runtimeFiles = [
      { path: '/etc/motd', mode: 0o644, content: 'welcome to n1\n' },
      { path: '/opt/site/secret.env', mode: 0o600, content: 'TOKEN=abc\n' },
    ]
    const { dir, list } = extract(await cache.path('runtime', i))
    expect(list).toEqual([
      'etc',
      'etc/rackboot',
      'etc/rackboot/runtime.json',
      'etc/motd',
      'opt/site/secret.env',
    ])
    expect(readFileSync(join(dir, 'etc/motd'), 'utf8')).toBe('welcome to n1\n')
    expect(mode(join(dir, 'etc/motd'))).toBe('644')
    expect(readFileSync(join(dir, 'opt/site/secret.env'), 'utf8')).toBe('TOKEN=abc\n')
    expect(mode(join(dir, 'opt/site/secret.env'))).toBe('600')
    const doc = JSON.parse(readFileSync(join(dir, 'etc/rackboot/runtime.json'), 'utf8')) as unknown
    expect(doc).toEqual({
      node: 'n1',
      generation: 1,
      renderedAt: '2023-11-14T22:13:20.000Z',
      overlays: ['generic'],
      files: ['/etc/motd', '/opt/site/secret.env'],
      users: [],
      groups: [],
    })
    i.runtimeFiles = [{ path: '/etc/motd', mode: 0o644, content: 'changed\n' }]
    const again = extract(await cache.path('runtime', i))
    expect(readFileSync(join(again.dir, 'etc/motd'), 'utf8')).toBe('changed\n')
    expect(again.list).not.toContain('opt/site/secret.env')
    expect(JSON.parse(readFileSync(join(again.dir, 'etc/rackboot/runtime.json'), 'utf8'))).toMatchObject({
      generation: 2,
    })
  })

  it('concurrent requests for one overlay share a consistent file', async () => {
    const cache = new OverlayCache({ root: tmp('rackboot-ov-'), keyGenerator: 'node' })
    const paths = await Promise.all([1, 2, 3].map(() => cache.path('system', sample())))
    expect(new Set(paths).size).toBe(1)
    expect(extract(paths[0]!).list).toContain('init')
  })

  it('refuses a node name that could leave the cache directory', () => {
    const cache = new OverlayCache({ root: tmp('rackboot-ov-') })
    expect(() => cache.nodeDir('../etc')).toThrow(/not a valid node name/)
  })
})

describe.skipIf(skip)('host keys', () => {
  it('the built-in ed25519 writer produces keys ssh-keygen accepts', async () => {
    const d = tmp('rackboot-key-')
    const k = await viaNodeCrypto('root@n9', 0x01020304)
    writeFileSync(join(d, 'k'), k.privateKey, { mode: 0o600 })
    const pub = execFileSync('ssh-keygen', ['-y', '-f', join(d, 'k')])
      .toString()
      .trim()
    expect(k.publicKey).toBe(`${pub}\n`)
    const fp = execFileSync('ssh-keygen', ['-l', '-f', join(d, 'k')]).toString()
    expect(fp).toMatch(/^256 SHA256:\S+ root@n9 \(ED25519\)/)
  })

  it('the default cache writes its host keys in-process; ssh-keygen reads them; they are kept', async () => {
    const root = tmp('rackboot-ov-')
    await new OverlayCache({ root }).path('system', sample())
    const priv = join(root, 'n1/hostkeys/ssh_host_ed25519_key')
    expect(readFileSync(priv, 'utf8')).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/)
    expect(mode(priv)).toBe('600')
    expect(mode(join(root, 'n1/hostkeys'))).toBe('700')
    const derived = execFileSync('ssh-keygen', ['-y', '-f', priv]).toString().trim()
    const pub = readFileSync(`${priv}.pub`, 'utf8')
    expect(pub).toBe(`${derived}\n`)
    expect(execFileSync('ssh-keygen', ['-l', '-f', `${priv}.pub`]).toString()).toMatch(
      /^256 SHA256:\S+ root@n1 \(ED25519\)/,
    )
    // A restart (new cache) and a changed input keep the same identity.
    const changed = sample()
    changed.settings.domain = 'other'
    await new OverlayCache({ root }).path('system', changed)
    expect(readFileSync(`${priv}.pub`, 'utf8')).toBe(pub)
  })
})
