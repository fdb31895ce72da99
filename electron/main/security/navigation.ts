/**
 * Block navigation away from the app: a link or script that sends the window to a remote page would give
 * that page the preload's contract. Hash changes (the router) do not fire `will-navigate`.
 */
import type { WebContents } from 'electron'
import { isAppUrl } from './app-url'

export function isNavigationAllowed(target: string, appUrl: string): boolean {
  return isAppUrl(target, appUrl)
}

export function blockNavigation(contents: WebContents, appUrl: string): void {
  const guard = (event: { preventDefault(): void; url: string }) => {
    if (!isNavigationAllowed(event.url, appUrl)) event.preventDefault()
  }
  contents.on('will-navigate', guard)
  // Server redirects and sub-frame navigations do not fire will-navigate.
  contents.on('will-redirect', guard)
  contents.on('will-frame-navigate', guard)
  // <webview> would be a second, unhardened renderer.
  contents.on('will-attach-webview', (event) => event.preventDefault())
}
