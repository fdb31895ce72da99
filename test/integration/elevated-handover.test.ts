/**
 * The window hands its data dir to the elevated boot stack and takes it back, with a fake pkexec: a script
 * that runs the stack (`rackboot serve`) without elevation, or exits like pkexec does when the prompt is
 * dismissed (126) or refused (127). Real store, real lock, real serve process, real loopback API.
 */
import { describe, expect, it } from 'vitest'
import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { AppNotice } from '../../electron/ipc/contract'
import type { Node } from '../../electron/core/inventory/schema'
import { silentLogger } from '../../electron/core/util/logger'
import { LOCK_FILE } from '../../electron/core/inventory/lock'
import { openCoreHost, DENIED_MESSAGE, type CoreHost } from '../../electron/main/core-host'
import { openInProcess } from '../../electron/main/backend/in-process'
import { connectRemote } from '../../electron/main/backend/remote'
import { startElevatedStack } from '../../electron/main/privilege/elevated-stack'
import { linuxElevatedServe } from '../../electron/main/privilege/commands'
import { BIN, cliScratch } from '../support/cli'

const { tmp } = cliScratch('rackboot-handover-')

/**
 * Stands in for `pkexec <helper> --app EXE -- SERVE-ARGS`: drops everything up to `--` and runs the stack
 * from this checkout on ephemeral ports (no privileges here), or exits with `exitCode` like a denied pkexec.
 */
function fakePkexec(dir: string, behaviour: { exitCode: number } | 'serve' | 'crash'): string {
  const file = join(dir, 'fake-pkexec')
  const body =
    behaviour === 'serve'
      ? `exec node ${JSON.stringify(resolve(BIN))} serve "$@" --http-port 0 --tftp-port 0 --ui-port 0`
      : behaviour === 'crash'
        ? 'echo "rackboot-stack: --data-dir must be an absolute path" >&2; exit 2'
        : `exit ${behaviour.exitCode}`
  writeFileSync(
    file,
    `#!/bin/sh\nshift\nwhile [ $# -gt 0 ]; do case "$1" in --) shift; break ;; *) shift ;; esac; done\n${body}\n`,
  )
  chmodSync(file, 0o755)
  return file
}

function elevationCommand(pkexec: string, dataDir: string) {
  const c = linuxElevatedServe(
    { interfaceName: 'lo', dhcpMode: 'off', dataDir },
    {
      helper: { kind: 'installed', path: '/opt/Rackboot/resources/linux/rackboot-stack' },
      app: ['/opt/Rackboot/rackboot'],
      pkexec,
    },
  )
  if (!c.ok) throw new Error(c.error)
  return c.value
}

async function openHost(dataDir: string) {
  const notices: AppNotice[] = []
  const events: string[] = []
  const { host } = await openCoreHost({
    openLocal: () =>
      openInProcess({
        dataDir,
        logger: silentLogger,
        ipxeRoots: [],
        stack: { httpPort: 0, tftpPort: 0 },
        importDefaultImage: false,
      }),
    startElevated: (command) => startElevatedStack(command, { logger: silentLogger, readyTimeoutMs: 60_000 }),
    connect: (stack, onLost) =>
      connectRemote({ origin: stack.origin, token: stack.token, logger: silentLogger, onLost }),
    notify: () => {},
    logger: silentLogger,
  })
  host.onAny((name, payload) => {
    events.push(name)
    if (name === 'app/notice') notices.push(payload as AppNotice)
  })
  return { host, notices, events }
}

async function call(host: CoreHost, channel: string, payload: unknown): Promise<unknown> {
  const r = await host.dispatch(channel, payload)
  if (!r.ok) throw new Error(`${channel}: ${r.error.message}`)
  return r.value
}

const names = async (host: CoreHost) => ((await call(host, 'nodes/list', {})) as Node[]).map((n) => n.name)
const lockPid = (dataDir: string) =>
  (JSON.parse(readFileSync(join(dataDir, LOCK_FILE), 'utf8')) as { pid: number }).pid

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (check()) return
    await sleep(100)
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe('hand-over to the elevated boot stack', () => {
  it('releases the lock, talks to the stack, and reopens its own core when the stack dies, losing nothing', async () => {
    const dir = tmp()
    const dataDir = join(dir, 'data')
    const { host, notices, events } = await openHost(dataDir)
    try {
      await call(host, 'nodes/add', { name: 'cn01', mac: '52:54:00:00:00:01' })
      expect(lockPid(dataDir)).toBe(process.pid)

      expect(await host.elevate(elevationCommand(fakePkexec(dir, 'serve'), dataDir))).toBe('elevated')
      expect(host.kind()).toBe('elevated')
      expect(notices.at(-1)).toMatchObject({ level: 'info', coreSwitched: true })
      // The stack holds the data dir now, and answers the window's calls with what the window had saved.
      const stackPid = lockPid(dataDir)
      expect(stackPid).not.toBe(process.pid)
      expect(await call(host, 'app/status', {})).toMatchObject({ headless: true, dataDir })
      expect(await names(host)).toEqual(['cn01'])
      // A change made through the stack comes back as the stack's event.
      const before = events.length
      await call(host, 'nodes/add', { name: 'cn02', mac: '52:54:00:00:00:02' })
      await until('nodes/changed from the stack', () => events.slice(before).includes('nodes/changed'))

      // The stack dies hard: the window takes the data dir back with everything the stack had acknowledged.
      process.kill(stackPid, 'SIGKILL')
      await until('the window to reopen its core', () => host.kind() === 'in-process')
      await host.settled()
      expect(notices.at(-1)).toMatchObject({ level: 'warn', coreSwitched: true })
      expect(notices.at(-1)!.message).toContain('reopened its own core')
      expect(lockPid(dataDir)).toBe(process.pid)
      expect(await names(host)).toEqual(['cn01', 'cn02'])
    } finally {
      await host.close()
    }
    // Closing released the lock.
    expect(() => lockPid(dataDir)).toThrow()
  })

  it('stops the stack it started when the window closes', async () => {
    const dir = tmp()
    const dataDir = join(dir, 'data')
    const { host } = await openHost(dataDir)
    expect(await host.elevate(elevationCommand(fakePkexec(dir, 'serve'), dataDir))).toBe('elevated')
    const stackPid = lockPid(dataDir)
    await host.close()
    expect(() => process.kill(stackPid, 0)).toThrow()
    expect(() => lockPid(dataDir)).toThrow()
  })

  it.each([126, 127])(
    'keeps its own core when pkexec exits %i (prompt dismissed or refused)',
    async (exitCode) => {
      const dir = tmp()
      const dataDir = join(dir, 'data')
      const { host, notices } = await openHost(dataDir)
      try {
        await call(host, 'nodes/add', { name: 'cn01', mac: '52:54:00:00:00:01' })
        expect(await host.elevate(elevationCommand(fakePkexec(dir, { exitCode }), dataDir))).toBe('denied')
        expect(host.kind()).toBe('in-process')
        expect(notices).toEqual([{ level: 'warn', message: DENIED_MESSAGE, coreSwitched: true }])
        expect(lockPid(dataDir)).toBe(process.pid)
        expect(await names(host)).toEqual(['cn01'])
      } finally {
        await host.close()
      }
    },
  )

  it('says why when the helper refuses to start, and keeps its own core', async () => {
    const dir = tmp()
    const dataDir = join(dir, 'data')
    const { host, notices } = await openHost(dataDir)
    try {
      expect(await host.elevate(elevationCommand(fakePkexec(dir, 'crash'), dataDir))).toBe('failed')
      expect(host.kind()).toBe('in-process')
      expect(notices.at(-1)!.message).toContain('--data-dir must be an absolute path')
      expect(await names(host)).toEqual([])
    } finally {
      await host.close()
    }
  })
})
