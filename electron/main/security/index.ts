/** Hardening applied to every web contents and to the default session (pattern of cawa-93/vite-electron-builder). */
import type { Session, WebContents } from 'electron'
import { blockNavigation } from './navigation'
import { denyNewWindows } from './new-windows'
import { denyPermissions } from './permissions'
import { applyContentSecurityPolicy } from './csp'

export { isAppUrl } from './app-url'
export { isTrustedSender } from './sender'
export { contentSecurityPolicy } from './csp-policy'

export function hardenWebContents(
  contents: WebContents,
  appUrl: string,
  openExternal: (url: string) => void,
): void {
  blockNavigation(contents, appUrl)
  denyNewWindows(contents, openExternal)
}

export function hardenSession(session: Session, cspPolicy: string): void {
  denyPermissions(session)
  applyContentSecurityPolicy(session, cspPolicy)
}
