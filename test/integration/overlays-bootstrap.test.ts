/**
 * Runs the real /init in a throwaway root: busybox (static) as the userland, the test's HTTP server as the
 * Rackboot server. The busybox run mounts for real inside a private mount namespace (unshare -m), so
 * nothing leaks to the host; the dash run stubs `mount` to check the kernel-argument handling.
 */
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest'
import { spawn, spawnSync } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { INIT_SCRIPT } from '../../electron/core/images/bootstrap/init-script'
import { agentConf } from '../../electron/core/images/overlays/templates'
import { missing } from '../support/env'

const skip = missing({
  root: true,
  commands: ['busybox', 'unshare', 'chroot', 'dash'],
  files: ['/bin/busybox'],
})

const posts: Array<{ url: string; body: unknown }> = []
let server: Server
let url = ''
const dirs: string[] = []

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString()
      let body: unknown = text
      try {
        body = JSON.parse(text)
      } catch {
        // kept as text: the assertion below shows it
      }
      posts.push({ url: req.url ?? '', body })
      res.end('ok\n')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  await new Promise((r) => server?.close(r))
})
afterEach(async () => {
  posts.length = 0
  // Every run starts the stub agent in the background: let it finish writing before the root goes.
  for (const d of dirs.splice(0)) {
    await eventually(join(d, 'agent-ran'))
    rmSync(d, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 })
  }
})

const put = (root: string, path: string, text: string, mode = 0o644) => {
  mkdirSync(dirname(join(root, path)), { recursive: true })
  writeFileSync(join(root, path), text)
  chmodSync(join(root, path), mode)
}

/** A root with busybox applets, /init, the agent config, a stub agent and (optionally) a stub /sbin/init. */
function fakeRoot(opts: { init: boolean; shell: 'busybox' | 'dash' }): string {
  const root = mkdtempSync(join(tmpdir(), 'rackboot-initroot-'))
  dirs.push(root)
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'proc', 'sys', 'dev', 'run', 'etc/rackboot'])
    mkdirSync(join(root, d), { recursive: true })
  copyFileSync('/bin/busybox', join(root, 'bin/busybox'))
  chmodSync(join(root, 'bin/busybox'), 0o755)
  const install = spawnSync('chroot', [root, '/bin/busybox', '--install', '-s'])
  expect(install.status).toBe(0)
  rmSync(join(root, 'sbin/init'), { force: true }) // busybox's own init applet
  if (opts.shell === 'dash') {
    rmSync(join(root, 'bin/sh'))
    copyFileSync('/bin/dash', join(root, 'bin/sh'))
    for (const lib of ['/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2']) {
      mkdirSync(join(root, dirname(lib)), { recursive: true })
      copyFileSync(lib, join(root, lib))
    }
  }
  put(root, 'init', INIT_SCRIPT, 0o755)
  put(
    root,
    'etc/rackboot/agent.conf',
    agentConf({
      serverUrl: url,
      mac: '52:54:00:00:00:07',
      hostname: 'n7',
      assetKey: '',
      ipv4: '198.18.0.7',
      prefix: '24',
    }),
    0o600,
  )
  put(root, 'usr/sbin/rackboot-agent', '#!/bin/sh\necho "agent ran" > /agent-ran\n', 0o755)
  if (opts.init) put(root, 'sbin/init', '#!/bin/sh\necho "init ran as $0" > /init-ran\n', 0o755)
  return root
}

/** Runs a command without blocking the event loop (the capture server lives in this process). */
function run(
  cmd: string,
  args: string[],
  input: string,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { timeout: 60_000 })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()))
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()))
    child.on('error', reject)
    child.on('close', (status) => resolve({ status, stdout, stderr }))
    child.stdin.end(input)
  })
}
const inRoot = (root: string, input = '') =>
  run('unshare', ['-m', '--propagation', 'private', 'chroot', root, '/init'], input)

/** Bounded wait for a file the background agent writes (it may finish after /init exec'd). */
async function eventually(path: string): Promise<boolean> {
  for (let i = 0; i < 100 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 50))
  return existsSync(path)
}

const stages = () => posts.map((p) => (p.body as { stage?: string }).stage)

describe.skipIf(skip)('/init in a fake root', () => {
  it('busybox: mounts, reports, starts the agent and execs /sbin/init', async () => {
    const root = fakeRoot({ init: true, shell: 'busybox' })
    const r = await inRoot(root)
    const out = r.stdout + r.stderr
    expect(out).toContain('rackboot-init: node n7 (52:54:00:00:00:07)')
    expect(out).toContain('rackboot-init: exec /sbin/init')
    expect(r.status).toBe(0)
    expect(readFileSync(join(root, 'init-ran'), 'utf8')).toBe('init ran as /sbin/init\n')
    expect(await eventually(join(root, 'agent-ran'))).toBe(true)
    expect(posts).toEqual([
      {
        url: '/agent/52:54:00:00:00:07',
        body: { stage: 'init', message: 'bootstrap ran; starting /sbin/init' },
      },
    ])
    // The mounts lived in the namespace only.
    expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(root)
  })

  it('busybox: no /sbin/init: says why, reports init-failed, drops to a rescue shell', async () => {
    const root = fakeRoot({ init: false, shell: 'busybox' })
    const r = await inRoot(root, 'echo rescue-shell-ran > /rescue\n')
    const err = r.stderr
    expect(err).toContain('rackboot-init: FAILED: /sbin/init does not exist in the image')
    expect(err).toContain('dropping to a rescue shell')
    expect(readFileSync(join(root, 'rescue'), 'utf8')).toBe('rescue-shell-ran\n')
    expect(stages()).toEqual(['init', 'init-failed'])
    expect(existsSync(join(root, 'init-ran'))).toBe(false)
  })

  it('busybox: /sbin/init present but not executable is refused with its own reason', async () => {
    const root = fakeRoot({ init: true, shell: 'busybox' })
    chmodSync(join(root, 'sbin/init'), 0o644)
    const r = await inRoot(root)
    expect(r.stderr).toContain('FAILED: /sbin/init is not an executable file')
  })

  it('dash with stubbed mount: tmpfs sizes, SELinux, interface name and rackboot.init from the kernel arguments', async () => {
    const root = fakeRoot({ init: true, shell: 'dash' })
    put(root, 'usr/local/sbin/mount', '#!/bin/sh\necho "$*" >> /mount.log\n', 0o755)
    put(root, 'proc/mounts', '')
    put(
      root,
      'proc/cmdline',
      'quiet rackboot.tmpfs=/tmp:512M,/scratch:10%,bad,rel:1G rackboot.selinux=permissive rackboot.init=/sbin/init2\n',
    )
    put(root, 'sbin/init2', '#!/bin/sh\necho init2 > /init2-ran\n', 0o755)
    put(root, 'etc/selinux/config', 'SELINUX=enforcing\nSELINUXTYPE=targeted\n')
    mkdirSync(join(root, 'etc/selinux/targeted/policy'), { recursive: true })
    put(root, 'sys/class/net/lo/address', '00:00:00:00:00:00\n')
    put(root, 'sys/class/net/enp7s0/address', '52:54:00:00:00:07\n')
    put(root, 'etc/network/interfaces', 'auto @RACKBOOT_IFACE@\niface @RACKBOOT_IFACE@ inet dhcp\n')
    const r = await run('chroot', [root, '/init'], '')
    const err = r.stderr
    expect(r.status).toBe(0)
    expect(readFileSync(join(root, 'mount.log'), 'utf8').trim().split('\n')).toEqual([
      '-t proc -o nosuid,noexec,nodev proc /proc',
      '-t sysfs -o nosuid,noexec,nodev sysfs /sys',
      '-t devtmpfs -o mode=0755,nosuid devtmpfs /dev',
      '-t tmpfs -o mode=0755,nosuid,nodev tmpfs /run',
      '-t tmpfs -o size=512M,mode=1777,nosuid,nodev tmpfs /tmp',
      '-t tmpfs -o size=10%,mode=1777,nosuid,nodev tmpfs /scratch',
    ])
    expect(err).toContain("rackboot.tmpfs: 'bad' ignored: the path must be absolute")
    expect(err).toContain("rackboot.tmpfs: 'rel:1G' ignored: the path must be absolute")
    expect(readFileSync(join(root, 'etc/selinux/config'), 'utf8')).toBe(
      'SELINUX=permissive\nSELINUXTYPE=targeted\n',
    )
    expect(readFileSync(join(root, 'etc/network/interfaces'), 'utf8')).toBe(
      'auto enp7s0\niface enp7s0 inet dhcp\n',
    )
    expect(readFileSync(join(root, 'init2-ran'), 'utf8')).toBe('init2\n')
    expect(stages()).toEqual(['init'])
  })

  it('SELinux relabel touches /.autorelabel; without a policy the argument is refused with a reason', async () => {
    const root = fakeRoot({ init: true, shell: 'dash' })
    put(root, 'usr/local/sbin/mount', '#!/bin/sh\nexit 0\n', 0o755)
    put(root, 'proc/mounts', '')
    put(root, 'proc/cmdline', 'rackboot.selinux=relabel\n')
    put(root, 'etc/selinux/config', 'SELINUX=enforcing\nSELINUXTYPE=targeted\n')
    let r = await run('chroot', [root, '/init'], '')
    expect(r.stderr).toContain('no policy under /etc/selinux/targeted/policy')
    expect(existsSync(join(root, '.autorelabel'))).toBe(false)
    expect(await eventually(join(root, 'agent-ran'))).toBe(true)
    rmSync(join(root, 'agent-ran'))
    mkdirSync(join(root, 'etc/selinux/targeted/policy'), { recursive: true })
    r = await run('chroot', [root, '/init'], '')
    expect(r.stdout).toContain('SELinux relabel requested')
    expect(existsSync(join(root, '.autorelabel'))).toBe(true)
  })

  it('dash: without /sbin/init brings up the node interface itself so init-failed reaches the server', async () => {
    const root = fakeRoot({ init: false, shell: 'dash' })
    put(root, 'usr/local/sbin/mount', '#!/bin/sh\nexit 0\n', 0o755)
    put(root, 'usr/local/sbin/ip', '#!/bin/sh\necho "$*" >> /ip.log\n', 0o755)
    put(root, 'proc/mounts', '')
    put(root, 'proc/cmdline', '\n')
    put(root, 'sys/class/net/enp7s0/address', '52:54:00:00:00:07\n')
    const r = await run('chroot', [root, '/init'], '')
    expect(r.stderr).toContain('FAILED: /sbin/init does not exist')
    expect(readFileSync(join(root, 'ip.log'), 'utf8')).toBe(
      'link set enp7s0 up\naddr add 198.18.0.7/24 dev enp7s0\n',
    )
    expect(stages()).toEqual(['init', 'init-failed'])
  })
})
