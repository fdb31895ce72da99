/** `rackboot settings …` on the store directly and through a running serve, with a real ssh-keygen key. */
import { describe, it, expect } from 'vitest'
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cliScratch, rackboot, serve } from '../support/cli'
import { missing } from '../support/env'

const { tmp, keep } = cliScratch('rackboot-cli-settings-')
const loopbackPorts = ['--http-port', '0', '--tftp-port', '0', '--ui-port', '0']

function ok(args: string[]): string {
  const r = rackboot(args)
  if (r.status !== 0) throw new Error(`rackboot ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return r.stdout
}

describe.skipIf(missing({ commands: ['ssh-keygen'] }))('rackboot settings', () => {
  it('adds and removes SSH keys and runtime files; bad input exits non-zero naming the problem', () => {
    const d = tmp()
    const data = ['--data-dir', join(d, 'data')]
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'op@desk', '-f', join(d, 'id')])
    const pub = readFileSync(join(d, 'id.pub'), 'utf8').trim()

    expect(ok(['settings', 'ssh-key', 'add', join(d, 'id.pub'), ...data])).toContain('1 authorized key(s)')
    // Adding the same file again keeps one copy.
    expect(ok(['settings', 'ssh-key', 'add', join(d, 'id.pub'), ...data])).toContain('1 authorized key(s)')
    expect(JSON.parse(ok(['settings', 'ssh-key', 'list', ...data]))).toEqual([pub])

    writeFileSync(join(d, 'bad.pub'), 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 cut@short\n')
    const bad = rackboot(['settings', 'ssh-key', 'add', join(d, 'bad.pub'), ...data])
    expect(bad.status).not.toBe(0)
    expect(bad.stderr).toContain('not an SSH public key line')

    writeFileSync(join(d, 'motd'), 'hello nodes\n')
    expect(
      ok(['settings', 'runtime-file', 'set', '/etc/motd', '--from', join(d, 'motd'), ...data]),
    ).toContain('runtime file /etc/motd set')
    ok([
      'settings',
      'runtime-file',
      'set',
      '/etc/site.env',
      '--from',
      join(d, 'motd'),
      '--mode',
      '0600',
      ...data,
    ])
    expect(JSON.parse(ok(['settings', 'runtime-file', 'list', ...data]))).toEqual([
      { path: '/etc/motd', mode: '0644', bytes: 12 },
      { path: '/etc/site.env', mode: '0600', bytes: 12 },
    ])
    const reserved = rackboot([
      'settings',
      'runtime-file',
      'set',
      '/etc/rackboot/x',
      '--from',
      join(d, 'motd'),
      ...data,
    ])
    expect(reserved.status).not.toBe(0)
    expect(reserved.stderr).toContain('/etc/rackboot is not for runtime files')
    expect(
      rackboot([
        'settings',
        'runtime-file',
        'set',
        '/x',
        '--from',
        join(d, 'motd'),
        '--mode',
        '4755',
        ...data,
      ]).status,
    ).toBe(2)

    expect(ok(['settings', 'runtime-file', 'remove', '/etc/site.env', ...data])).toContain('removed')
    expect(ok(['settings', 'ssh-key', 'remove', 'op@desk', ...data])).toContain(
      'removed 1; 0 authorized key(s) left',
    )
    const all = JSON.parse(ok(['settings', 'get', ...data])) as {
      sshAuthorizedKeys: string[]
      runtimeFiles: unknown[]
    }
    expect(all.sshAuthorizedKeys).toEqual([])
    expect(all.runtimeFiles).toEqual([{ path: '/etc/motd', mode: 0o644, content: 'hello nodes\n' }])
  })

  it('goes through a running serve, which then holds the change', async () => {
    const d = tmp()
    const data = ['--data-dir', join(d, 'data')]
    const s = keep(await serve([...data, ...loopbackPorts]))
    writeFileSync(
      join(d, 'patch.json'),
      JSON.stringify({ domain: 'lab', runtimeFiles: [{ path: '/etc/a', content: 'a' }] }),
    )
    expect(ok(['settings', 'set', join(d, 'patch.json'), ...data])).toContain('settings updated')
    const got = JSON.parse(ok(['settings', 'get', ...data])) as { domain: string; runtimeFiles: unknown[] }
    expect(got.domain).toBe('lab')
    expect(got.runtimeFiles).toEqual([{ path: '/etc/a', mode: 0o644, content: 'a' }])
    writeFileSync(join(d, 'bad.json'), '{"domain": 5}')
    const bad = rackboot(['settings', 'set', join(d, 'bad.json'), ...data])
    expect(bad.status).not.toBe(0)
    expect(bad.stderr).toContain('domain')
    expect(await s.stop()).toBe(0)
  })
})
