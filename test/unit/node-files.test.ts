/**
 * Settings that put files on every node: SSH authorized keys (system overlay) and runtime files. Keys come
 * from the real ssh-keygen, never from our own encoder.
 */
import { describe, it, expect, afterAll } from 'vitest'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { authorizedKeyProblem, runtimePathProblem } from '../../electron/core/inventory/node-files'
import { settingsPatchSchema, settingsSchema } from '../../electron/core/inventory/schema'
import { missing } from '../support/env'

const dir = mkdtempSync(join(tmpdir(), 'rackboot-keys-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const skip = missing({ commands: ['ssh-keygen'] })
let made = 0
function realKey(type: string, bits?: number): string {
  const f = join(dir, `id_${type}_${++made}`)
  execFileSync('ssh-keygen', [
    '-q',
    '-t',
    type,
    ...(bits ? ['-b', String(bits)] : []),
    '-N',
    '',
    '-C',
    'op@desk',
    '-f',
    f,
  ])
  return readFileSync(`${f}.pub`, 'utf8').trim()
}

describe.skipIf(skip)('authorized key lines', () => {
  it.each([
    ['ed25519', undefined],
    ['rsa', 2048],
    ['ecdsa', 256],
    ['ecdsa', 521],
  ])('accepts a %s key from ssh-keygen (%s bits)', (type, bits) => {
    const line = realKey(type, bits)
    expect(authorizedKeyProblem(line)).toBeNull()
    expect(authorizedKeyProblem(`from="198.18.0.0/15",no-pty ${line}`)).toBeNull()
    expect(authorizedKeyProblem(`command="echo hi there" ${line}`)).toBeNull()
  })

  it('refuses what is not one key line, saying why', () => {
    const ed = realKey('ed25519')
    const rsa = realKey('rsa', 2048)
    const [, blob] = ed.split(' ')
    expect(authorizedKeyProblem(`${ed}\n${ed}`)).toMatch(/no line breaks/)
    expect(authorizedKeyProblem('AAAAC3NzaC1lZDI1NTE5AAAAI op@desk')).toMatch(/no key type/)
    expect(authorizedKeyProblem('ssh-ed25519')).toMatch(/no base64 key/)
    expect(authorizedKeyProblem('ssh-ed25519 not*base64')).toMatch(/no base64 key/)
    // A real ed25519 blob labelled as RSA: the type inside the blob disagrees.
    expect(authorizedKeyProblem(`ssh-rsa ${blob}`)).toMatch(/does not hold a 'ssh-rsa' key/)
    expect(authorizedKeyProblem(`ssh-ed25519 ${rsa.split(' ')[1]}`)).toMatch(/does not hold/)
    // Cut after the type name: no key material.
    expect(authorizedKeyProblem(`ssh-ed25519 ${btoa('\0\0\0\x0bssh-ed25519')}`)).toMatch(/no key material/)
    expect(authorizedKeyProblem(`bad option ${ed}`)).toMatch(/not authorized_keys options/)
    expect(authorizedKeyProblem('-----BEGIN OPENSSH PRIVATE KEY-----')).toMatch(/no key type/)
  })

  it('the settings schema takes keys and refuses a bad one with a message naming the fix', () => {
    const ed = realKey('ed25519')
    expect(settingsPatchSchema.safeParse({ sshAuthorizedKeys: [ed] }).success).toBe(true)
    const bad = settingsPatchSchema.safeParse({ sshAuthorizedKeys: [ed, 'ssh-ed25519 AAAA'] })
    expect(bad.success).toBe(false)
    expect(bad.error?.issues[0]?.path).toEqual(['sshAuthorizedKeys', 1])
    expect(bad.error?.issues[0]?.message).toMatch(/not an SSH public key line.*id_ed25519\.pub/)
    expect(settingsSchema.parse({}).sshAuthorizedKeys).toEqual([])
  })
})

describe('runtime files', () => {
  it.each([
    ['/etc/motd', null],
    ['/opt/site/app.conf', null],
    ['etc/motd', /absolute/],
    ['/etc/', /a file, not a directory/],
    ['/etc/../root/x', /no empty, \. or \.\./],
    ['/etc//x', /no empty/],
    ['/etc/a b', /letters, digits/],
    ['/proc/sys/kernel/x', /\/proc is not for runtime files/],
    ['/etc/rackboot/agent.conf', /\/etc\/rackboot is not/],
    ['/dev', /\/dev is not/],
    ['/devices/x', null],
  ])('path %s', (path, expected) => {
    const problem = runtimePathProblem(path)
    if (expected === null) expect(problem).toBeNull()
    else expect(problem).toMatch(expected)
  })

  it('the settings schema defaults the mode, refuses setuid modes and duplicate paths', () => {
    const ok = settingsPatchSchema.parse({ runtimeFiles: [{ path: '/etc/motd', content: 'hi\n' }] })
    expect(ok.runtimeFiles).toEqual([{ path: '/etc/motd', mode: 0o644, content: 'hi\n' }])
    expect(
      settingsPatchSchema.safeParse({ runtimeFiles: [{ path: '/usr/bin/x', mode: 0o4755, content: '' }] })
        .success,
    ).toBe(false)
    const dup = settingsPatchSchema.safeParse({
      runtimeFiles: [
        { path: '/etc/motd', content: 'a' },
        { path: '/etc/motd', content: 'b' },
      ],
    })
    expect(dup.error?.issues[0]?.message).toBe("runtime file '/etc/motd' is listed twice")
    expect(dup.error?.issues[0]?.path).toEqual(['runtimeFiles', 1, 'path'])
  })
})
