/**
 * Electron main's lifecycle against a fake `electron` module and the real core (store in a temp dir):
 * hardening, one IPC handler with the sender check, the secure window, event forwarding, clean quit.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { execFileSync } from 'node:child_process'
import { missing } from '../support/env'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { IPC_EVENT, IPC_INVOKE, type CallResult, type Channel } from '../../electron/ipc/contract'
import { silentLogger } from '../../electron/core/util/logger'

const fake = vi.hoisted(() => {
  type Listener = (...args: unknown[]) => unknown
  const state = {
    appListeners: new Map<string, Listener[]>(),
    handlers: new Map<string, Listener>(),
    windows: [] as {
      options: Record<string, unknown>
      url: string | null
      sent: unknown[][]
      destroyed: boolean
      contentsListeners: Map<string, Listener[]>
      focused: number
    }[],
    userData: '',
    quitCalls: 0,
    errorBoxes: [] as string[],
    /** Resolved when the app really quits (the second quit(), after before-quit let it through). */
    onQuit: null as (() => void) | null,
    exitCode: null as number | null,
    permissionHandler: null as Listener | null,
    headersHandler: null as Listener | null,
    ready: Promise.resolve(),
  }
  const emit = (event: string, ...args: unknown[]) => {
    for (const l of state.appListeners.get(event) ?? []) l(...args)
  }
  const app = {
    on(event: string, listener: Listener) {
      state.appListeners.set(event, [...(state.appListeners.get(event) ?? []), listener])
      return app
    },
    whenReady: () => state.ready,
    getPath: (name: string) => {
      if (name !== 'userData') throw new Error(`unexpected getPath(${name})`)
      return state.userData
    },
    quit() {
      state.quitCalls += 1
      let prevented = false
      emit('before-quit', { preventDefault: () => (prevented = true) })
      if (!prevented) state.onQuit?.()
    },
    exit(code: number) {
      state.exitCode = code
    },
  }
  class BrowserWindow {
    readonly record: (typeof state.windows)[number]
    readonly webContents: { send(...args: unknown[]): void; on(event: string, l: Listener): void }
    constructor(options: Record<string, unknown>) {
      const record = {
        options,
        url: null as string | null,
        sent: [] as unknown[][],
        destroyed: false,
        contentsListeners: new Map<string, Listener[]>(),
        focused: 0,
      }
      this.record = record
      state.windows.push(record)
      this.webContents = {
        send: (...args: unknown[]) => void record.sent.push(args),
        on: (event: string, l: Listener) =>
          void record.contentsListeners.set(event, [...(record.contentsListeners.get(event) ?? []), l]),
      }
    }
    once() {}
    show() {}
    isDestroyed() {
      return this.record.destroyed
    }
    isMinimized() {
      return false
    }
    restore() {}
    focus() {
      this.record.focused += 1
    }
    async loadURL(url: string) {
      this.record.url = url
    }
  }
  const electron = {
    app,
    BrowserWindow,
    ipcMain: {
      handle: (channel: string, fn: Listener) => void state.handlers.set(channel, fn),
      removeHandler: (channel: string) => void state.handlers.delete(channel),
    },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (fn: Listener) => void (state.permissionHandler = fn),
        setPermissionCheckHandler: () => {},
        setDevicePermissionHandler: () => {},
        webRequest: { onHeadersReceived: (fn: Listener) => void (state.headersHandler = fn) },
      },
    },
    shell: { openExternal: async () => {} },
    dialog: { showErrorBox: (_title: string, message: string) => void state.errorBoxes.push(message) },
  }
  return { state, emit, electron }
})

vi.mock('electron', () => ({ ...fake.electron, default: fake.electron }))

const { runApp, SECOND_INSTANCE_MESSAGE } = await import('../../electron/main/lifecycle')

const APP_URL = 'file:///opt/rackboot/out/renderer/index.html'
const location = { appUrl: APP_URL, preloadPath: '/opt/rackboot/out/preload/index.cjs', dev: false }

const invoke = (frameUrl: string | null, message: unknown) =>
  fake.state.handlers.get(IPC_INVOKE)!(
    { senderFrame: frameUrl === null ? null : { url: frameUrl } },
    message,
  ) as Promise<CallResult<Channel>>

beforeEach(async () => {
  fake.state.appListeners.clear()
  fake.state.handlers.clear()
  fake.state.windows.length = 0
  fake.state.quitCalls = 0
  fake.state.exitCode = null
  fake.state.errorBoxes.length = 0
  fake.state.userData = await mkdtemp(join(tmpdir(), 'rackboot-main-'))
  // main opens the shared data dir (defaultDataDir), which RACKBOOT_DATA_DIR points here.
  process.env.RACKBOOT_DATA_DIR = fake.state.userData
})

afterEach(async () => {
  delete process.env.RACKBOOT_DATA_DIR
  await rm(fake.state.userData.replace(/\/not-a-dir$/, ''), { recursive: true, force: true })
})

describe('Electron main lifecycle', () => {
  it('opens the core, serves the contract to the app window only, forwards events and closes on quit', async () => {
    expect(await runApp(location, silentLogger)).toBe(true)
    expect(fake.state.windows).toHaveLength(1)

    const win = fake.state.windows[0]!
    expect(win.url).toBe(APP_URL)
    expect(win.options.webPreferences).toMatchObject({
      preload: location.preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    })
    expect([...fake.state.handlers.keys()]).toEqual([IPC_INVOKE])

    // Permissions are denied, and the CSP header is added to responses.
    const granted = vi.fn()
    fake.state.permissionHandler!(null, 'media', granted)
    expect(granted).toHaveBeenCalledWith(false)
    const headers = vi.fn()
    fake.state.headersHandler!({ responseHeaders: {} }, headers)
    expect(headers.mock.calls[0]![0].responseHeaders['Content-Security-Policy'][0]).toContain(
      "script-src 'self'",
    )

    // The app's frame reaches the real core through dispatch().
    expect(await invoke(`${APP_URL}#/nodes`, { channel: 'nodes/list', payload: {} })).toEqual({
      ok: true,
      value: [],
    })
    const settings = await invoke(APP_URL, { channel: 'settings/get', payload: {} })
    expect(settings).toMatchObject({ ok: true, value: { dhcpMode: 'off' } })
    expect(await invoke(APP_URL, { channel: 'nodes/list', payload: { x: 1 } })).toMatchObject({
      ok: false,
      error: { code: 'bad-request' },
    })
    // Anything else is refused.
    expect(await invoke('https://evil.example/', { channel: 'nodes/list', payload: {} })).toMatchObject({
      ok: false,
      error: { code: 'unauthorized' },
    })
    expect(await invoke(null, { channel: 'nodes/list', payload: {} })).toMatchObject({ ok: false })

    // app/elevate is answered by main itself; a source checkout has no prompt to offer.
    expect(await invoke(APP_URL, { channel: 'app/elevate', payload: {} })).toEqual({
      ok: true,
      value: {
        outcome: 'unavailable',
        message: 'No administrator prompt here: in a source checkout run `sudo rackboot serve` instead.',
      },
    })

    // A change in the core reaches the window as an event.
    const added = await invoke(APP_URL, {
      channel: 'nodes/add',
      payload: { name: 'cn01', mac: '52:54:00:00:00:01' },
    })
    expect(added).toMatchObject({ ok: true, value: { name: 'cn01' } })
    const nodeEvents = win.sent.filter(
      ([c, m]) => c === IPC_EVENT && (m as { event: string }).event === 'nodes/changed',
    )
    expect(nodeEvents.at(-1)![1]).toMatchObject({
      payload: { nodes: [{ name: 'cn01', macs: ['52:54:00:00:00:01'] }] },
    })

    // Quit waits for the core to close, then quits for real; nothing is left registered.
    const quitting = new Promise<void>((resolve) => (fake.state.onQuit = resolve))
    fake.electron.app.quit()
    await quitting
    expect(fake.state.quitCalls).toBe(2)
    expect(fake.state.handlers.size).toBe(0)
    const sentBefore = win.sent.length
    // The store is closed: a second Rackboot can open the same data dir.
    const { Rackboot } = await import('../../electron/core/rackboot')
    const again = await Rackboot.open({ dataDir: fake.state.userData })
    expect(again.repo.listNodes().map((n) => n.name)).toEqual(['cn01'])
    await again.close()
    expect(win.sent.length).toBe(sentBefore)
  })

  it('exits with status 1 when the core cannot open', async () => {
    // A regular file where the data dir should be.
    fake.state.userData = join(fake.state.userData, 'not-a-dir')
    await writeFile(fake.state.userData, '')
    process.env.RACKBOOT_DATA_DIR = fake.state.userData
    expect(await runApp(location, silentLogger)).toBe(false)
    expect(fake.state.exitCode).toBe(1)
    expect(fake.state.windows).toHaveLength(0)
  })

  describe.skipIf(missing({ root: true, commands: ['mount', 'umount'] }) !== null)(
    'read-only data dir',
    () => {
      it('says the disk is read-only and how to fix it, exits 1, and leaves the data untouched', async () => {
        const mnt = join(fake.state.userData, 'ro')
        await mkdir(mnt)
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', mnt])
        try {
          const dataDir = join(mnt, 'data')
          const { Rackboot } = await import('../../electron/core/rackboot')
          const before = await Rackboot.open({ dataDir })
          await before.handlers['nodes/add']({ name: 'cn01', mac: '52:54:00:00:00:01' })
          await before.close()
          const saved = await readFile(join(dataDir, 'db.json'), 'utf8')
          execFileSync('mount', ['-o', 'remount,ro', mnt])
          process.env.RACKBOOT_DATA_DIR = dataDir

          expect(await runApp(location, silentLogger, { argv: ['rackboot'], cwd: '/' })).toBe(false)
          expect(fake.state.exitCode).toBe(1)
          expect(fake.state.errorBoxes).toHaveLength(1)
          expect(fake.state.errorBoxes[0]).toMatch(
            new RegExp(
              `^Rackboot cannot start: its data dir ${dataDir} is on a read-only disk\\. Nothing in it was changed; remount`,
            ),
          )
          expect(await readFile(join(dataDir, 'db.json'), 'utf8')).toBe(saved)
        } finally {
          execFileSync('umount', ['-l', mnt])
        }
      })
    },
  )

  describe('vendor MAC lists opened from the OS', () => {
    const events = (win: (typeof fake.state.windows)[number], name: string) =>
      win.sent
        .filter(([c, m]) => c === IPC_EVENT && (m as { event: string }).event === name)
        .map(([, m]) => (m as { payload: unknown }).payload)
    const pageLoaded = (win: (typeof fake.state.windows)[number]) => {
      for (const l of win.contentsListeners.get('did-finish-load') ?? []) l()
    }
    const quit = async () => {
      const quitting = new Promise<void>((resolve) => (fake.state.onQuit = resolve))
      fake.electron.app.quit()
      await quitting
    }
    /** Waits (bounded) for the opener's file reads to show up. */
    const until = async (check: () => boolean) => {
      for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
      expect(check()).toBe(true)
    }

    it('reads a .macs file from argv and hands it to the page once loaded, for review only', async () => {
      const dir = fake.state.userData
      await writeFile(join(dir, 'rack1.macs'), '52:54:00:00:00:01\n52-54-00-00-00-02\n')
      expect(
        await runApp(location, silentLogger, {
          argv: ['/opt/Rackboot/rackboot', '--no-sandbox', 'rack1.macs'],
          cwd: dir,
        }),
      ).toBe(true)
      const win = fake.state.windows[0]!
      // Held until the page can listen.
      expect(events(win, 'import/macs-file')).toEqual([])
      pageLoaded(win)
      await until(() => events(win, 'import/macs-file').length > 0)
      expect(events(win, 'import/macs-file')).toEqual([
        { name: 'rack1.macs', text: '52:54:00:00:00:01\n52-54-00-00-00-02\n' },
      ])
      // Opening is not importing: nothing was saved.
      expect(await invoke(APP_URL, { channel: 'nodes/list', payload: {} })).toEqual({ ok: true, value: [] })

      // macOS open-file after start: delivered at once; a file that is no MAC list becomes a notice.
      await writeFile(join(dir, 'notes.macs'), 'hello\nworld\n')
      await writeFile(join(dir, 'big.macs'), Buffer.alloc(1_000_001, 0x61))
      await writeFile(join(dir, 'latin1.macs'), Buffer.from([0x52, 0xe9, 0x0a]))
      const prevented = vi.fn()
      for (const f of ['notes.macs', 'big.macs', 'latin1.macs', 'missing.macs'])
        fake.emit('open-file', { preventDefault: prevented }, join(dir, f))
      await until(() => events(win, 'app/notice').length === 4)
      expect(prevented).toHaveBeenCalledTimes(4)
      const notices = events(win, 'app/notice') as { level: string; message: string }[]
      expect(notices.map((n) => n.level)).toEqual(['error', 'error', 'error', 'error'])
      expect(notices[0]!.message).toContain('notes.macs holds no MAC address; line 1')
      expect(notices[1]!.message).toContain('big.macs is 1000001 bytes')
      expect(notices[2]!.message).toContain('latin1.macs is not UTF-8 text')
      expect(notices[3]!.message).toContain('cannot read')
      expect(events(win, 'import/macs-file')).toHaveLength(1)
      await quit()
    })

    it('a second start focuses the window and forwards its file, or says Rackboot is already running', async () => {
      const dir = fake.state.userData
      await writeFile(join(dir, 'rack2.macs'), 'mac\n52:54:00:00:00:03\n')
      expect(await runApp(location, silentLogger, { argv: ['/opt/Rackboot/rackboot'], cwd: dir })).toBe(true)
      const win = fake.state.windows[0]!
      pageLoaded(win)
      fake.emit('second-instance', {}, ['/opt/Rackboot/rackboot', 'rack2.macs'], dir)
      await until(() => events(win, 'import/macs-file').length > 0)
      expect(win.focused).toBe(1)
      expect(events(win, 'import/macs-file')).toEqual([
        { name: 'rack2.macs', text: 'mac\n52:54:00:00:00:03\n' },
      ])
      expect(events(win, 'app/notice')).toEqual([])

      fake.emit('second-instance', {}, ['/opt/Rackboot/rackboot'], '/')
      expect(win.focused).toBe(2)
      expect(events(win, 'app/notice')).toEqual([{ level: 'info', message: SECOND_INSTANCE_MESSAGE }])
      await quit()
    })
  })
})
