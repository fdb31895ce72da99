/**
 * One lab node = one QEMU process in the client namespace, on its own tap, serial console to a file.
 * Arguments follow PXE-NOTES ("A virtual rack that really PXE-boots"): TCG only (KVM guests triple-fault on
 * the build hosts), `-monitor none` because QEMU 7.2 refuses -nographic otherwise, `-no-reboot` so a failed
 * boot ends the process instead of looping.
 */
import { spawn } from 'node:child_process'
import { openSync, closeSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import type { LabNode } from './state'

export const QEMU = 'qemu-system-x86_64'
export const OVMF = '/usr/share/ovmf/OVMF.fd'

/** Locally administered QEMU range 52:54:00, then the lab id and the slot: stable across runs. */
export function labMac(labId: number, slot: number): string {
  const hex = (n: number) => n.toString(16).padStart(2, '0')
  return `52:54:00:${hex(labId)}:${hex(slot >> 8)}:${hex(slot & 0xff)}`
}

export function qemuArgs(node: LabNode, ovmf: string = OVMF): string[] {
  const device = node.nic === 'virtio' ? 'virtio-net-pci' : 'e1000'
  // UEFI: an empty romfile drops the NIC's iPXE option ROM so OVMF's own PXE (EDK2) starts the chain:
  // PXE -> TFTP ipxe.efi -> iPXE -> HTTP (unless the node asks for the ROM chain). BIOS keeps the NIC's
  // iPXE ROM, which goes straight to HTTP: SeaBIOS has no PXE of its own, and every BIOS NIC ROM QEMU
  // ships (Debian ipxe-qemu: pxe-virtio, pxe-e1000, …) is iPXE.
  const rom = node.firmware === 'uefi' && node.uefiChain !== 'ipxe-rom' ? ',romfile=' : ''
  const args = ['-accel', 'tcg', '-m', String(node.memMiB), '-nographic', '-monitor', 'none']
  args.push('-serial', `file:${node.console}`, '-no-reboot', '-boot', 'n', '-name', node.name)
  args.push('-netdev', `tap,id=n0,ifname=${node.tap},script=no,downscript=no`)
  args.push('-device', `${device},netdev=n0,mac=${node.mac}${rom}`)
  if (node.firmware === 'uefi') args.push('-bios', ovmf)
  return args
}

/**
 * Starts `cmd args` inside `namespace`, detached (own session, survives the CLI exiting), output to `logFile`.
 * `ip netns exec` execs the command in place, so the PID returned is the command's own.
 */
export interface Spawned {
  pid: number
  /** How it ended, once it has (only seen while this process lives): for error messages. */
  exit(): string | null
}

export function spawnInNamespace(namespace: string, cmd: string, args: string[], logFile: string): Spawned {
  return spawnDetached('ip', ['netns', 'exec', namespace, cmd, ...args], logFile)
}

/** Starts `cmd args` detached in this namespace (the lab's UI bridge on the host), output to `logFile`. */
export function spawnDetached(cmd: string, args: string[], logFile: string): Spawned {
  const fd = openSync(logFile, 'a', 0o600)
  try {
    const child = spawn(cmd, args, {
      detached: true,
      stdio: ['ignore', fd, fd],
    })
    let ended: string | null = null
    child.once('exit', (code, signal) => (ended = signal ? `killed by ${signal}` : `exit code ${code}`))
    child.once('error', (e) => (ended = `could not start: ${e.message}`))
    child.unref()
    if (child.pid === undefined) throw new Error(`could not start '${args.join(' ')}'`)
    return { pid: child.pid, exit: () => ended }
  } finally {
    closeSync(fd)
  }
}

/** True when `pid` runs and its command line contains `marker` (so a reused PID is never ours). */
export async function processMatches(pid: number, marker: string): Promise<boolean> {
  try {
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ')
    if (!cmdline.includes(marker)) return false
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    return !/^\d+ \(.*\) Z /.test(stat) // a zombie is already dead
  } catch {
    return false
  }
}

/**
 * Liveness of a child we just spawned (no PID-reuse risk yet). Its command line cannot be checked at this
 * point: between fork and exec it still shows the parent's.
 */
export async function processAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0)
    return !/^\d+ \(.*\) Z /.test(await readFile(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL; bounded. Only for PIDs whose command line has `marker`. */
export async function stopProcess(pid: number, marker: string, graceMs = 10_000): Promise<void> {
  if (!(await processMatches(pid, marker))) return
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    return
  }
  const until = Date.now() + graceMs
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100))
    if (!(await processMatches(pid, marker))) return
  }
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    return
  }
  for (let i = 0; i < 50 && (await processMatches(pid, marker)); i++)
    await new Promise((r) => setTimeout(r, 100))
}

/** The console's last line and a coarse boot stage read from it (for `lab status`). */
export function consoleSummary(text: string): { lastLine: string; stage: string } {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/\x1b\[[0-9;?=]*[A-Za-z]/g, '').replace(/\r/g, '\n')
  const lines = clean
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
  const lastLine = lines.at(-1) ?? ''
  const stages: Array<[RegExp, string]> = [
    [/Rackboot: starting the kernel|Linux version/, 'kernel'],
    [/waiting for assignment/, 'waiting-for-assignment'],
    [/https?:\/\/\S+\/ipxe\//, 'ipxe-script'],
    [/iPXE/, 'ipxe'],
    [/PXE|DHCP/i, 'pxe'],
  ]
  for (const [re, stage] of stages) if (re.test(clean)) return { lastLine, stage }
  return { lastLine, stage: clean === '' ? 'off-or-silent' : 'firmware' }
}
