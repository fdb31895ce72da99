/**
 * The one privilege prompt: the command lines main builds (pkexec on Linux, one UAC PowerShell with the
 * firewall rules on Windows), the Linux helper script run with stand-ins for id/getent/env (so nothing gets
 * root), the offer's decision, and serve mode / packaged resource lookup.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  SERVE_FLAG,
  checkLinuxInterfaceName,
  encodePowerShell,
  linuxElevatedServe,
  netshFirewallRules,
  psQuote,
  windowsElevatedServe,
  windowsFirewallRules,
  windowsQuoteArg,
} from '../../electron/main/privilege/commands'
import {
  ELEVATE_BUTTON,
  elevationCommand,
  isPermissionError,
  offerElevation,
  type ElevationContext,
} from '../../electron/main/privilege/offer'
import { serveModeArgv } from '../../electron/main/serve-mode'
import { bindError } from '../../electron/core/boot/supervisor'
import { RackbootError } from '../../electron/core/util/result'
import { silentLogger } from '../../electron/core/util/logger'
import { missing } from '../support/env'

const project = fileURLToPath(new URL('../..', import.meta.url))
const HELPER = join(project, 'build/linux/rackboot-stack')
const req = { interfaceName: 'enp3s0', dhcpMode: 'proxy' as const, dataDir: '/home/fe/.local/share/rackboot' }

describe('Linux: pkexec command', () => {
  it('runs the installed helper with the app and exactly the serve flags', () => {
    const r = linuxElevatedServe(req, {
      helper: { kind: 'installed', path: '/opt/Rackboot/resources/linux/rackboot-stack' },
      app: ['/opt/Rackboot/rackboot'],
    })
    expect(r).toEqual({
      ok: true,
      value: {
        command: 'pkexec',
        args: [
          '/opt/Rackboot/resources/linux/rackboot-stack',
          '--app',
          '/opt/Rackboot/rackboot',
          '--',
          '--interface',
          'enp3s0',
          '--dhcp-mode',
          'proxy',
          '--data-dir',
          '/home/fe/.local/share/rackboot',
        ],
      },
    })
  })

  it('runs the helper text through sh -c for an AppImage (root cannot read the FUSE mount)', () => {
    const r = linuxElevatedServe(req, {
      helper: { kind: 'inline', script: 'echo hi' },
      app: ['/home/fe/Rackboot.AppImage', '--appimage-extract-and-run'],
    })
    expect(r.ok && r.value.args.slice(0, 8)).toEqual([
      '/bin/sh',
      '-c',
      'echo hi',
      'rackboot-stack',
      '--app',
      '/home/fe/Rackboot.AppImage',
      '--app-arg',
      '--appimage-extract-and-run',
    ])
  })

  it.each(['', 'a'.repeat(16), 'eth0/x', 'eth 0', 'eth0:1', '..', '-rf'])(
    'refuses interface name %j',
    (name) => {
      expect(checkLinuxInterfaceName(name).ok).toBe(false)
      const r = linuxElevatedServe(
        { ...req, interfaceName: name },
        { helper: { kind: 'installed', path: '/h' }, app: ['/a'] },
      )
      expect(r.ok).toBe(false)
    },
  )
})

describe('Linux: helper script (stand-ins for id, getent and env)', () => {
  let bin = ''
  const skip = missing({ commands: ['sh'] })

  beforeAll(async () => {
    bin = await mkdtemp(join(tmpdir(), 'rackboot-helper-'))
    const stub = async (name: string, body: string) => {
      await writeFile(join(bin, name), `#!/bin/sh\n${body}\n`)
      await chmod(join(bin, name), 0o755)
    }
    await stub('id', 'if [ "$1" = -u ]; then echo "${FAKE_UID:-0}"; else /usr/bin/id "$@"; fi')
    await stub('getent', 'echo "fe:x:1000:1000:Field Engineer:/home/fe:/bin/sh"')
    // The final `exec env -i … setpriv … -- app …`: print one argument per line instead of running it.
    await stub('env', 'for a in "$@"; do printf "%s\\n" "$a"; done')
  })
  afterAll(async () => {
    if (bin) await rm(bin, { recursive: true, force: true })
  })

  const runHelper = async (args: string[], env: Record<string, string> = {}, inline = false) => {
    const argv = inline ? ['-c', readFileSync(HELPER, 'utf8'), 'rackboot-stack', ...args] : [HELPER, ...args]
    try {
      const { stdout } = await promisify(execFile)('/bin/sh', argv, {
        env: { PATH: `${bin}:/usr/bin:/bin`, PKEXEC_UID: '1000', ...env },
      })
      return { code: 0, out: stdout.trim().split('\n'), err: '' }
    } catch (e) {
      const x = e as { code: number; stderr: string }
      return { code: x.code, out: [], err: x.stderr }
    }
  }
  const good = [
    '--app',
    '/bin/true',
    '--',
    '--interface',
    'enp3s0',
    '--dhcp-mode',
    'proxy',
    '--data-dir',
    '/home/fe/d',
  ]

  it.skipIf(skip).each([false, true])(
    'drops to PKEXEC_UID with only network capabilities (inline: %s)',
    async (inline) => {
      const r = await runHelper(good, {}, inline)
      expect(r.err).toBe('')
      expect(r.out).toEqual([
        '-i',
        'HOME=/home/fe',
        'PATH=/usr/sbin:/usr/bin:/sbin:/bin',
        'APPIMAGE_EXTRACT_AND_RUN=1',
        'setpriv',
        '--reuid=1000',
        '--regid=1000',
        '--init-groups',
        '--inh-caps=+net_bind_service,+net_raw,+net_admin',
        '--ambient-caps=+net_bind_service,+net_raw,+net_admin',
        '--',
        '/bin/true',
        '--ozone-platform=headless',
        SERVE_FLAG,
        '--interface',
        'enp3s0',
        '--dhcp-mode',
        'proxy',
        '--data-dir',
        '/home/fe/d',
      ])
    },
  )

  it.skipIf(skip).each([
    ['not root', good, { FAKE_UID: '1000' }, /pkexec/],
    ['no PKEXEC_UID (sudo)', good, { PKEXEC_UID: '' }, /PKEXEC_UID/],
    ['PKEXEC_UID 0', good, { PKEXEC_UID: '0' }, /normal user/],
    ['relative app', ['--app', 'rackboot', '--', '--interface', 'x'], {}, /absolute/],
    ['unknown serve flag', ['--app', '/bin/true', '--', '--files', '/'], {}, /unexpected serve argument/],
    ['bad dhcp mode', ['--app', '/bin/true', '--', '--dhcp-mode', 'rogue'], {}, /server, proxy or off/],
    ['relative data dir', ['--app', '/bin/true', '--', '--data-dir', 'd'], {}, /absolute/],
    ['unknown app arg', ['--app', '/bin/true', '--app-arg', '--inspect', '--'], {}, /unexpected --app-arg/],
    ['flag without value', ['--app', '/bin/true', '--', '--interface'], {}, /needs a value/],
  ])('refuses: %s', async (_what, args, env, message) => {
    const r = await runHelper(args as string[], env as Record<string, string>)
    expect(r.code).toBe(2)
    expect(r.err).toMatch(message as RegExp)
  })

  it.skipIf(missing({ commands: ['shellcheck'] }) !== null)('passes shellcheck', async () => {
    await promisify(execFile)('shellcheck', [HELPER])
  })

  it('is named by the polkit action the deb installs', () => {
    const policy = readFileSync(join(project, 'build/linux/org.rackboot.stack.policy'), 'utf8')
    expect(policy).toContain(
      '<annotate key="org.freedesktop.policykit.exec.path">/opt/Rackboot/resources/linux/rackboot-stack</annotate>',
    )
    expect(policy).toMatch(/<allow_active>auth_admin(_keep)?<\/allow_active>/)
  })
})

describe('Windows: firewall rules and one UAC prompt', () => {
  const scope = {
    program: 'C:\\Users\\Jane Doe\\AppData\\Local\\Programs\\Rackboot\\Rackboot.exe',
    interfaceAlias: "Lab 'B' NIC",
    httpPort: 9873,
  }

  it('scopes both rules to the program and the provisioning interface, quoting for PowerShell', () => {
    const r = windowsFirewallRules(scope)
    expect(r.ok).toBe(true)
    if (!r.ok) return
    const [remove, udp, tcp] = r.value
    expect(remove).toBe("Remove-NetFirewallRule -Group 'Rackboot' -ErrorAction SilentlyContinue")
    for (const rule of [udp!, tcp!]) {
      expect(rule).toContain("-InterfaceAlias 'Lab ''B'' NIC'")
      expect(rule).toContain(`-Program '${scope.program}'`)
      expect(rule).toContain('-Direction Inbound')
    }
    expect(udp).toContain('-Protocol UDP')
    expect(udp).not.toContain('-LocalPort')
    expect(tcp).toContain('-Protocol TCP -LocalPort 9873')
  })

  it.each(['', '  ', 'a"b', 'x\ny'])('refuses interface alias %j', (alias) => {
    expect(windowsFirewallRules({ ...scope, interfaceAlias: alias }).ok).toBe(false)
  })

  it('refuses an HTTP port outside 1-65535', () => {
    expect(windowsFirewallRules({ ...scope, httpPort: 0 }).ok).toBe(false)
  })

  it('builds netsh rules as argv (no per-interface scope there: interfacetype=lan)', () => {
    const rules = netshFirewallRules(scope.program, 9873)
    expect(rules[0]).toEqual(
      expect.arrayContaining([
        'advfirewall',
        'firewall',
        'add',
        'rule',
        'protocol=UDP',
        `program=${scope.program}`,
      ]),
    )
    expect(rules[1]).toContain('localport=9873')
  })

  it.each([
    ['plain', 'plain'],
    ['two words', '"two words"'],
    ['C:\\dir with space\\', '"C:\\dir with space\\\\"'],
    ['say "hi"', '"say \\"hi\\""'],
    ['a\\"b', '"a\\\\\\"b"'],
    ['', '""'],
  ])('quotes %j for CommandLineToArgvW as %j', (arg, quoted) => {
    expect(windowsQuoteArg(arg)).toBe(quoted)
  })

  it('elevates one PowerShell that adds the rules, then starts the headless stack from the same exe', () => {
    const r = windowsElevatedServe(
      {
        ...req,
        interfaceName: scope.interfaceAlias,
        dataDir: 'C:\\Users\\Jane Doe\\AppData\\Roaming\\Rackboot',
      },
      scope,
    )
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(r.value.command).toBe('powershell.exe')
    const outer = r.value.args.at(-1)!
    expect(outer).toMatch(/^Start-Process -FilePath 'powershell.exe' -Verb RunAs /)
    const encoded = /-EncodedCommand', '([A-Za-z0-9+/=]+)'/.exec(outer)![1]!
    const inner = Buffer.from(encoded, 'base64').toString('utf16le')
    expect(inner.indexOf('New-NetFirewallRule')).toBeLessThan(
      inner.indexOf(`Start-Process -FilePath ${psQuote(scope.program)}`),
    )
    expect(inner).toContain(
      `-ArgumentList '${SERVE_FLAG} --interface "Lab ''B'' NIC" --dhcp-mode proxy --data-dir "C:\\Users\\Jane Doe\\AppData\\Roaming\\Rackboot"'`,
    )
    expect(encodePowerShell('é')).toBe(Buffer.from('é', 'utf16le').toString('base64'))
  })
})

describe('the offer', () => {
  const ctx = (over: Partial<ElevationContext> = {}): ElevationContext => ({
    platform: 'linux',
    settings: { interface: 'enp3s0', dhcpMode: 'server', httpPort: 9873 },
    dataDir: '/home/fe/.local/share/rackboot',
    execPath: '/opt/Rackboot/rackboot',
    linux: {
      appImage: null,
      helper: { kind: 'installed', path: '/opt/Rackboot/resources/linux/rackboot-stack' },
    },
    ...over,
  })

  it("recognises the supervisor's permission error and raw EACCES/EPERM, nothing else", () => {
    expect(
      isPermissionError(
        bindError('UDP', '0.0.0.0', 67, 'enp3s0', Object.assign(new Error('x'), { code: 'EACCES' })),
      ),
    ).toBe(true)
    expect(isPermissionError(Object.assign(new Error('x'), { code: 'EPERM' }))).toBe(true)
    expect(
      isPermissionError(
        bindError('UDP', '0.0.0.0', 67, 'enp3s0', Object.assign(new Error('x'), { code: 'EADDRINUSE' })),
      ),
    ).toBe(false)
    expect(isPermissionError(new RackbootError('nope', 'not-found'))).toBe(false)
    expect(isPermissionError(null)).toBe(false)
  })

  it('asks once with one sentence and launches the command on yes', async () => {
    const asked: { message: string; buttons: string[] }[] = []
    const launched: unknown[] = []
    const outcome = await offerElevation(new RackbootError('denied', 'permission'), ctx(), {
      ask: async (o) => (asked.push(o), { response: 0 }),
      launch: async (c) => void launched.push(c),
      logger: silentLogger,
    })
    expect(outcome).toBe('launched')
    expect(asked).toHaveLength(1)
    expect(asked[0]!.buttons[0]).toBe(ELEVATE_BUTTON)
    expect(asked[0]!.message.split(/[.;] /).length).toBeLessThanOrEqual(2)
    expect(asked[0]!.message).toContain('enp3s0')
    expect(launched).toEqual([
      elevationCommand(ctx()).ok && (elevationCommand(ctx()) as { value: unknown }).value,
    ])
  })

  it('launches nothing when declined, for other errors, or without a chosen interface', async () => {
    const launched: unknown[] = []
    const deps = (response: number) => ({
      ask: async () => ({ response }),
      launch: async (c: unknown) => void launched.push(c),
      logger: silentLogger,
    })
    expect(await offerElevation(new RackbootError('d', 'permission'), ctx(), deps(1))).toBe('declined')
    expect(await offerElevation(new Error('boom'), ctx(), deps(0))).toBe('not-a-permission-error')
    const noIface = ctx({ settings: { interface: null, dhcpMode: 'off', httpPort: 9873 } })
    expect(await offerElevation(new RackbootError('d', 'permission'), noIface, deps(0))).toBe('no-command')
    expect(launched).toEqual([])
  })

  it('starts an AppImage through its file with extract-and-run, and Windows through PowerShell', () => {
    const appImage = elevationCommand(
      ctx({ linux: { appImage: '/home/fe/R.AppImage', helper: { kind: 'inline', script: 's' } } }),
    )
    expect(appImage.ok && appImage.value.args).toEqual(
      expect.arrayContaining(['/home/fe/R.AppImage', '--appimage-extract-and-run']),
    )
    const win = elevationCommand(ctx({ platform: 'win32', execPath: 'C:\\R\\Rackboot.exe' }))
    expect(win.ok && win.value.command).toBe('powershell.exe')
    expect(elevationCommand(ctx({ platform: 'darwin' })).ok).toBe(false)
  })
})

describe('serve mode', () => {
  it("turns the packaged executable's argv into `rackboot serve` flags, ignoring Chromium switches before the flag", () => {
    expect(
      serveModeArgv([
        '/opt/Rackboot/rackboot',
        '--ozone-platform=headless',
        SERVE_FLAG,
        '--interface',
        'enp3s0',
      ]),
    ).toEqual(['serve', '--interface', 'enp3s0'])
    expect(serveModeArgv(['/opt/Rackboot/rackboot'])).toBeNull()
  })
})
