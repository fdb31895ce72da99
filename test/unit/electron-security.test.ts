import { describe, expect, it } from 'vitest'
import { isAppUrl } from '../../electron/main/security/app-url'
import { isNavigationAllowed } from '../../electron/main/security/navigation'
import { decideWindowOpen } from '../../electron/main/security/new-windows'
import { isPermissionGranted } from '../../electron/main/security/permissions'
import { isTrustedSender } from '../../electron/main/security/sender'
import { contentSecurityPolicy } from '../../electron/main/security/csp-policy'
import { resolveAppLocation } from '../../electron/main/app-location'

const FILE_APP = 'file:///opt/Rackboot/resources/app/out/renderer/index.html'
const DEV_APP = 'http://localhost:5173/'

describe('isAppUrl', () => {
  it.each([
    [FILE_APP, true],
    [`${FILE_APP}#/nodes`, true],
    [`${FILE_APP}?x=1#/settings`, true],
    ['file:///opt/Rackboot/resources/app/out/renderer/other.html', false],
    ['file:///etc/passwd', false],
    ['file://evil.example/opt/Rackboot/resources/app/out/renderer/index.html', false],
    ['https://example.com/', false],
    ['about:blank', false],
    ['not a url', false],
    ['', false],
  ])('packaged app: %s -> %s', (candidate, expected) => {
    expect(isAppUrl(candidate, FILE_APP)).toBe(expected)
  })

  it.each([
    ['http://localhost:5173/', true],
    ['http://localhost:5173/index.html#/nodes', true],
    ['http://localhost:5174/', false],
    ['https://localhost:5173/', false],
    ['http://127.0.0.1:5173/', false],
    ['file:///opt/Rackboot/resources/app/out/renderer/index.html', false],
  ])('dev server: %s -> %s', (candidate, expected) => {
    expect(isAppUrl(candidate, DEV_APP)).toBe(expected)
  })

  it('refuses everything when the app URL is of an unexpected scheme', () => {
    expect(isAppUrl('data:text/html,hi', 'data:text/html,hi')).toBe(false)
  })
})

describe('navigation', () => {
  it('allows the app itself (a reload) and blocks any other page', () => {
    expect(isNavigationAllowed(`${FILE_APP}#/wizard`, FILE_APP)).toBe(true)
    expect(isNavigationAllowed('https://evil.example/phish', FILE_APP)).toBe(false)
    expect(isNavigationAllowed('file:///home/user/Downloads/page.html', FILE_APP)).toBe(false)
  })
})

describe('new windows', () => {
  it('denies every window and sends only https links to the system browser', () => {
    expect(decideWindowOpen('https://ipxe.org/docs')).toEqual({
      action: 'deny',
      openExternally: 'https://ipxe.org/docs',
    })
    for (const url of [
      'http://example.com/',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'smb://host/share',
      'nonsense',
    ])
      expect(decideWindowOpen(url)).toEqual({ action: 'deny', openExternally: null })
  })
})

describe('permissions', () => {
  it.each(['media', 'geolocation', 'notifications', 'clipboard-read', 'hid', 'serial', 'openExternal'])(
    'denies %s',
    (p) => {
      expect(isPermissionGranted(p)).toBe(false)
    },
  )
})

describe('IPC sender check', () => {
  it('accepts the app frame, refuses other pages and destroyed frames', () => {
    expect(isTrustedSender({ senderFrame: { url: `${FILE_APP}#/nodes` } }, FILE_APP)).toBe(true)
    expect(isTrustedSender({ senderFrame: { url: 'https://evil.example/' } }, FILE_APP)).toBe(false)
    expect(isTrustedSender({ senderFrame: { url: '' } }, FILE_APP)).toBe(false)
    expect(isTrustedSender({ senderFrame: null }, FILE_APP)).toBe(false)
  })
})

describe('content security policy', () => {
  const parse = (p: string) =>
    new Map(p.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)] as const))

  it('allows only same-origin scripts and no inline code in production', () => {
    const csp = parse(contentSecurityPolicy({ dev: false }))
    expect(csp.get('script-src')).toEqual(["'self'"])
    expect(csp.get('style-src')).toEqual(["'self'"])
    expect(csp.get('object-src')).toEqual(["'none'"])
    expect(csp.get('connect-src')).toEqual(["'self'"])
    expect(contentSecurityPolicy({ dev: false })).not.toContain('unsafe')
  })

  it('lets the dev server inject styles and open its HMR socket, still no inline scripts', () => {
    const csp = parse(contentSecurityPolicy({ dev: true }))
    expect(csp.get('style-src')).toContain("'unsafe-inline'")
    expect(csp.get('connect-src')).toContain('ws:')
    expect(csp.get('script-src')).toEqual(["'self'"])
  })
})

describe('resolveAppLocation', () => {
  const main = 'file:///opt/Rackboot/resources/app/out/main/index.js'

  it('loads the built renderer next to main, with the CommonJS preload', () => {
    expect(resolveAppLocation(main, {})).toEqual({
      appUrl: FILE_APP,
      preloadPath: '/opt/Rackboot/resources/app/out/preload/index.cjs',
      dev: false,
    })
  })

  it('uses the dev server when electron-vite announces one', () => {
    expect(resolveAppLocation(main, { ELECTRON_RENDERER_URL: DEV_APP })).toMatchObject({
      appUrl: DEV_APP,
      dev: true,
    })
  })
})
