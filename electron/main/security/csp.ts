/** Sends the CSP as a response header too: it covers pages served over http (the dev server). */
import type { Session } from 'electron'

export function applyContentSecurityPolicy(session: Session, policy: string): void {
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [policy] } })
  })
}
