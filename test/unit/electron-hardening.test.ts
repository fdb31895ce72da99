/**
 * Every hardening setting, checked on what main really does (modules loaded against a fake `electron`, and
 * the built renderer's CSP meta tag), plus the fuses electron-builder flips in the packaged binary.
 * The pure decisions have their own table tests in electron-security.test.ts; this file checks the wiring.
 */
import { describe, expect, it, vi } from 'vitest'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { parse } from 'yaml'

type Listener = (...args: unknown[]) => unknown

const fake = vi.hoisted(() => {
  const windows: { options: Record<string, unknown>; url: string | null }[] = []
  class BrowserWindow {
    readonly record: (typeof windows)[number]
    constructor(options: Record<string, unknown>) {
      this.record = { options, url: null }
      windows.push(this.record)
    }
    once() {}
    show() {}
    async loadURL(url: string) {
      this.record.url = url
    }
  }
  return { windows, electron: { BrowserWindow } }
})
vi.mock('electron', () => ({ ...fake.electron, default: fake.electron }))

const { createMainWindow } = await import('../../electron/main/window')
const { hardenWebContents, hardenSession, contentSecurityPolicy } =
  await import('../../electron/main/security')
const { createInvokeHandler } = await import('../../electron/main/ipc')
const { isTrustedSender } = await import('../../electron/main/security/sender')

const APP_URL = 'file:///opt/Rackboot/resources/app.asar/out/renderer/index.html'
const project = fileURLToPath(new URL('../..', import.meta.url))

function fakeContents() {
  const on = new Map<string, Listener>()
  let openHandler: ((d: { url: string }) => { action: string }) | null = null
  const contents = {
    on: (event: string, fn: Listener) => void on.set(event, fn),
    setWindowOpenHandler: (fn: typeof openHandler) => void (openHandler = fn),
  }
  const navigate = (event: string, url: string) => {
    let prevented = false
    on.get(event)!({ url, preventDefault: () => (prevented = true) })
    return prevented
  }
  return { contents, on, navigate, open: (url: string) => openHandler!({ url }) }
}

function fakeSession() {
  const s = {
    request: null as Listener | null,
    check: null as Listener | null,
    device: null as Listener | null,
    headers: null as Listener | null,
  }
  const session = {
    setPermissionRequestHandler: (fn: Listener) => void (s.request = fn),
    setPermissionCheckHandler: (fn: Listener) => void (s.check = fn),
    setDevicePermissionHandler: (fn: Listener) => void (s.device = fn),
    webRequest: { onHeadersReceived: (fn: Listener) => void (s.headers = fn) },
  }
  return { s, session }
}

describe('main window', () => {
  it('is isolated, sandboxed, without Node, with web security on, and loads the app URL', () => {
    createMainWindow({
      appUrl: APP_URL,
      preloadPath: '/opt/Rackboot/resources/app.asar/out/preload/index.cjs',
    })
    const { options, url } = fake.windows.at(-1)!
    expect(options.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    })
    expect(url).toBe(APP_URL)
  })
})

describe('web contents', () => {
  it('blocks navigation away from the app on every navigation event, and <webview>', () => {
    const f = fakeContents()
    hardenWebContents(f.contents as never, APP_URL, () => {})
    for (const event of ['will-navigate', 'will-redirect', 'will-frame-navigate']) {
      expect(f.navigate(event, 'https://evil.example/'), event).toBe(true)
      expect(f.navigate(event, 'file:///etc/passwd'), event).toBe(true)
      expect(f.navigate(event, `${APP_URL}#/nodes`), event).toBe(false)
    }
    let attachPrevented = false
    f.on.get('will-attach-webview')!({ preventDefault: () => (attachPrevented = true) })
    expect(attachPrevented).toBe(true)
  })

  it('denies window.open, handing only https links to the system browser', () => {
    const f = fakeContents()
    const opened: string[] = []
    hardenWebContents(f.contents as never, APP_URL, (u) => opened.push(u))
    for (const url of [
      'https://ipxe.org/',
      'http://example.com/',
      'file:///etc/passwd',
      'javascript:alert(1)',
      APP_URL,
    ])
      expect(f.open(url)).toEqual({ action: 'deny' })
    expect(opened).toEqual(['https://ipxe.org/'])
  })
})

describe('session', () => {
  it('denies every permission request, check and device', () => {
    const { s, session } = fakeSession()
    hardenSession(session as never, contentSecurityPolicy({ dev: false }))
    for (const permission of [
      'media',
      'geolocation',
      'notifications',
      'clipboard-read',
      'hid',
      'serial',
      'openExternal',
    ]) {
      const answers: boolean[] = []
      s.request!(null, permission, (granted: boolean) => answers.push(granted))
      expect(answers, permission).toEqual([false])
      expect(s.check!(null, permission), permission).toBe(false)
    }
    expect(s.device!({})).toBe(false)
  })

  it('adds the CSP header to every response', () => {
    const { s, session } = fakeSession()
    const policy = contentSecurityPolicy({ dev: false })
    hardenSession(session as never, policy)
    let headers: Record<string, string[]> = {}
    s.headers!(
      { responseHeaders: { 'X-Other': ['1'] } },
      (r: { responseHeaders: typeof headers }) => (headers = r.responseHeaders),
    )
    expect(headers).toEqual({ 'X-Other': ['1'], 'Content-Security-Policy': [policy] })
  })
})

describe('content security policy', () => {
  const directives = (policy: string) =>
    new Map(
      policy
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .map(([k, ...v]) => [k!, v]),
    )

  it('is strict in the packaged app: self only, no inline or eval, no objects, frames, workers or forms', () => {
    const d = directives(contentSecurityPolicy({ dev: false }))
    expect(d.get('default-src')).toEqual(["'self'"])
    expect(d.get('script-src')).toEqual(["'self'"])
    expect(d.get('style-src')).toEqual(["'self'"])
    for (const k of ['object-src', 'base-uri', 'form-action', 'frame-src', 'worker-src'])
      expect(d.get(k), k).toEqual(["'none'"])
    expect(contentSecurityPolicy({ dev: false })).not.toMatch(/unsafe-(inline|eval)|\*|https?:/)
  })

  it('is in the built renderer as a meta tag (file: pages get no headers)', () => {
    const html = join(project, 'out/renderer/index.html')
    if (!existsSync(html)) return void console.warn('*** out/renderer not built: run `npm run build` ***')
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(
      readFileSync(html, 'utf8'),
    )
    expect(meta?.[1]?.replaceAll('&#39;', "'")).toBe(contentSecurityPolicy({ dev: false }))
  })
})

describe('IPC', () => {
  it('answers only the app frame; other, navigated-away or destroyed frames are refused before dispatch', async () => {
    const dispatch = vi.fn(async () => ({ ok: true as const, value: null }))
    const handler = createInvokeHandler({
      dispatch: dispatch as never,
      isTrustedSender: (e) => isTrustedSender(e, APP_URL),
      logger: { info() {}, warn() {}, error() {} },
    })
    const message = { channel: 'nodes/list', payload: {} }
    for (const frame of [{ url: 'https://evil.example/' }, { url: 'file:///tmp/x.html' }, null])
      expect(await handler({ senderFrame: frame }, message)).toMatchObject({
        ok: false,
        error: { code: 'unauthorized' },
      })
    expect(dispatch).not.toHaveBeenCalled()
    await handler({ senderFrame: { url: `${APP_URL}#/nodes` } }, message)
    expect(dispatch).toHaveBeenCalledTimes(1)
  })

  it('sandboxes every renderer before anything else (app.enableSandbox in the entry)', () => {
    const entry = readFileSync(join(project, 'electron/main/index.ts'), 'utf8')
    expect(entry).toMatch(/app\.enableSandbox\(\)/)
  })
})

describe('fuses in electron-builder.yml', () => {
  const config = parse(readFileSync(join(project, 'electron-builder.yml'), 'utf8')) as {
    electronFuses: Record<string, boolean>
    asar: boolean
  }

  it('turns off every way to run the binary as a plain Node and on the asar and cookie protections', () => {
    expect(config.electronFuses).toMatchObject({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableCookieEncryption: true,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
    })
    expect(config.asar).toBe(true)
  })

  it('uses only fuse names electron-builder knows (a typo would be rejected only at release time)', () => {
    const schema = JSON.parse(
      readFileSync(join(project, 'node_modules/app-builder-lib/scheme.json'), 'utf8'),
    ) as { definitions: { FuseOptionsV1: { properties: Record<string, unknown> } } }
    const known = Object.keys(schema.definitions.FuseOptionsV1.properties)
    for (const k of Object.keys(config.electronFuses)) expect(known, k).toContain(k)
  })
})
