/**
 * The command lines behind "Start the boot stack with administrator rights": one OS prompt, then the boot
 * stack runs as `<app> --rackboot-serve …` (headless `rackboot serve`, electron/main/serve-mode.ts) and the
 * window talks to it over the authenticated loopback API (token in <dataDir>/rackboot.api.json).
 * Pure: argv arrays only, never a shell string built from user input. docs/packaging.md, "Privileges".
 */
import type { DhcpMode } from '../../core/inventory/schema'
import { err, ok, type Result } from '../../core/util/result'

export interface CommandLine {
  command: string
  args: string[]
}

export interface ElevatedServeRequest {
  /** The provisioning NIC (Linux name, or Windows interface alias). */
  interfaceName: string
  dhcpMode: DhcpMode
  /** The user's data dir: the elevated stack must use the same inventory as the window. */
  dataDir: string
}

/** Marks the command line of the headless stack inside the packaged executable. */
export const SERVE_FLAG = '--rackboot-serve'

/** Linux IFNAMSIZ is 16 with the NUL; '/', ':' and whitespace are refused by the kernel (dev_valid_name). */
export function checkLinuxInterfaceName(name: string): Result<string> {
  if (name.length === 0 || name.length > 15 || name === '.' || name === '..' || /[/:\s]/.test(name))
    return err(`'${name}' is not a Linux interface name (1-15 characters, no '/', ':' or spaces)`)
  if (name.startsWith('-')) return err(`'${name}' is not a Linux interface name (starts with '-')`)
  return ok(name)
}

/** Windows aliases ("Ethernet 2") may hold spaces; control characters would break the rule's quoting. */
export function checkWindowsInterfaceAlias(alias: string): Result<string> {
  // eslint-disable-next-line no-control-regex
  if (alias.trim().length === 0 || alias.length > 256 || /[\u0000-\u001f"]/.test(alias))
    return err(`'${alias}' is not a Windows interface alias (1-256 printable characters, no '"')`)
  return ok(alias)
}

/** The arguments after SERVE_FLAG: exactly `rackboot serve`'s flags. */
export function serveArgs(req: ElevatedServeRequest): string[] {
  return ['--interface', req.interfaceName, '--dhcp-mode', req.dhcpMode, '--data-dir', req.dataDir]
}

export interface LinuxElevation {
  /**
   * build/linux/rackboot-stack: `installed` at a root-owned path the deb's polkit action names
   * (/opt/Rackboot/resources/linux/rackboot-stack, with its own prompt text), or `inline` (its text, run by
   * `sh -c`) for an AppImage, whose files root cannot read: the user's FUSE mount has no allow_root.
   */
  helper: { kind: 'installed'; path: string } | { kind: 'inline'; script: string }
  /** How to start the app: `[<install dir>/rackboot]`, or for an AppImage `[$APPIMAGE, '--appimage-extract-and-run']`. */
  app: string[]
  pkexec?: string
}

/**
 * `pkexec <helper> --app <exe> [--app-arg …] -- <serve args>`: polkit asks for the administrator password once;
 * the helper drops back to the calling user (PKEXEC_UID) keeping only the network capabilities.
 */
export function linuxElevatedServe(req: ElevatedServeRequest, how: LinuxElevation): Result<CommandLine> {
  const name = checkLinuxInterfaceName(req.interfaceName)
  if (!name.ok) return name
  const [exe, ...appArgs] = how.app
  if (!exe) return err('no app executable to start under pkexec')
  // `sh -c SCRIPT NAME ARGS…`: NAME becomes $0, ARGS the script's "$@".
  const helper =
    how.helper.kind === 'installed'
      ? [how.helper.path]
      : ['/bin/sh', '-c', how.helper.script, 'rackboot-stack']
  return ok({
    command: how.pkexec ?? 'pkexec',
    args: [...helper, '--app', exe, ...appArgs.flatMap((a) => ['--app-arg', a]), '--', ...serveArgs(req)],
  })
}

/** PowerShell single-quoted literal: the only escape is '' for '. */
export function psQuote(value: string): string {
  return `'${value.replace(/'/g, "''")}'`
}

export const FIREWALL_GROUP = 'Rackboot'

export interface FirewallScope {
  /** The packaged rackboot.exe: rules allow this program only. */
  program: string
  interfaceAlias: string
  /** Provisioning HTTP port (settings; default 9873). */
  httpPort: number
}

/**
 * Inbound rules scoped to Rackboot's program on the provisioning interface only. UDP has no port filter on
 * purpose: TFTP transfers continue on an ephemeral server port (RFC 1350 §4), DHCP uses 67 and proxyDHCP 4011.
 * netsh cannot scope a rule to one interface (only interfacetype=lan), so this uses New-NetFirewallRule.
 */
export function windowsFirewallRules(scope: FirewallScope): Result<string[]> {
  const alias = checkWindowsInterfaceAlias(scope.interfaceAlias)
  if (!alias.ok) return alias
  if (!Number.isInteger(scope.httpPort) || scope.httpPort < 1 || scope.httpPort > 65535)
    return err(`HTTP port ${scope.httpPort} is not 1-65535`)
  const common = [
    `-Group ${psQuote(FIREWALL_GROUP)}`,
    '-Direction Inbound',
    '-Action Allow',
    '-Profile Any',
    `-Program ${psQuote(scope.program)}`,
    `-InterfaceAlias ${psQuote(scope.interfaceAlias)}`,
  ].join(' ')
  return ok([
    `Remove-NetFirewallRule -Group ${psQuote(FIREWALL_GROUP)} -ErrorAction SilentlyContinue`,
    `New-NetFirewallRule -DisplayName ${psQuote('Rackboot boot stack (DHCP, TFTP)')} ${common} -Protocol UDP | Out-Null`,
    `New-NetFirewallRule -DisplayName ${psQuote('Rackboot provisioning HTTP')} ${common} -Protocol TCP -LocalPort ${scope.httpPort} | Out-Null`,
  ])
}

/** For the uninstaller and docs: removes every rule Rackboot added. */
export function windowsFirewallCleanup(): CommandLine {
  return {
    command: 'powershell.exe',
    args: [
      '-NoProfile',
      '-NonInteractive',
      '-Command',
      `Remove-NetFirewallRule -Group ${psQuote(FIREWALL_GROUP)} -ErrorAction SilentlyContinue`,
    ],
  }
}

/**
 * The netsh equivalent for machines without the NetSecurity module (no per-interface scope: interfacetype=lan).
 * Each entry is one argv for `netsh`.
 */
export function netshFirewallRules(program: string, httpPort: number): string[][] {
  const base = ['advfirewall', 'firewall', 'add', 'rule', 'dir=in', 'action=allow', 'profile=any']
  return [
    [
      ...base,
      'name=Rackboot boot stack (DHCP, TFTP)',
      'protocol=UDP',
      `program=${program}`,
      'interfacetype=lan',
    ],
    [
      ...base,
      'name=Rackboot provisioning HTTP',
      'protocol=TCP',
      `localport=${httpPort}`,
      `program=${program}`,
      'interfacetype=lan',
    ],
  ]
}

/** One argument for CommandLineToArgvW: quoted, with backslashes doubled only before a quote (MSVC rules). */
export function windowsQuoteArg(arg: string): string {
  if (arg.length > 0 && !/[\s"]/.test(arg)) return arg
  return `"${arg.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\+)$/, '$1$1')}"`
}

/** `-EncodedCommand` takes base64 of UTF-16LE, which sidesteps every layer of quoting. */
export function encodePowerShell(script: string): string {
  return Buffer.from(script, 'utf16le').toString('base64')
}

/**
 * One UAC prompt: an elevated PowerShell adds the firewall rules, then starts the headless stack from the
 * same rackboot.exe. The outer PowerShell runs unelevated and only asks for elevation (Start-Process -Verb RunAs).
 */
export function windowsElevatedServe(req: ElevatedServeRequest, scope: FirewallScope): Result<CommandLine> {
  const rules = windowsFirewallRules(scope)
  if (!rules.ok) return rules
  // Start-Process joins -ArgumentList with bare spaces, so the command line is quoted here, once.
  const serve = psQuote([SERVE_FLAG, ...serveArgs(req)].map(windowsQuoteArg).join(' '))
  const inner = [
    "$ErrorActionPreference = 'Stop'",
    ...rules.value,
    `Start-Process -FilePath ${psQuote(scope.program)} -ArgumentList ${serve} -WindowStyle Hidden`,
  ].join('; ')
  const outer = `Start-Process -FilePath 'powershell.exe' -Verb RunAs -WindowStyle Hidden -ArgumentList @('-NoProfile', '-NonInteractive', '-EncodedCommand', ${psQuote(encodePowerShell(inner))})`
  return ok({ command: 'powershell.exe', args: ['-NoProfile', '-NonInteractive', '-Command', outer] })
}
