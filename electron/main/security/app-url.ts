/**
 * Is this URL our own renderer? Pure, so navigation, window and IPC sender checks share one definition and
 * can be unit-tested as functions of URLs.
 *
 * A packaged app loads `file:///…/out/renderer/index.html`; every file: URL shares the opaque origin "null",
 * so for file: we compare the exact path (the hash is the router's, and is allowed to change). In development
 * electron-vite serves the renderer over http, and the origin is what identifies it.
 */
export function isAppUrl(candidate: string | undefined | null, appUrl: string): boolean {
  if (!candidate) return false
  const c = parseUrl(candidate)
  const app = parseUrl(appUrl)
  if (!c || !app) return false
  if (app.protocol === 'file:')
    return c.protocol === 'file:' && c.host === app.host && c.pathname === app.pathname
  if (app.protocol !== 'http:' && app.protocol !== 'https:') return false
  return c.origin === app.origin
}

function parseUrl(s: string): URL | null {
  try {
    return new URL(s)
  } catch {
    return null
  }
}
