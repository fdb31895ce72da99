/**
 * Deny every new window. An https link the user clicks (documentation, a vendor page) opens in the system
 * browser instead; nothing else leaves the app, so `file:`, `javascript:` or custom schemes cannot be launched.
 */
import type { WebContents } from 'electron'

export type WindowOpenDecision = { action: 'deny'; openExternally: string | null }

export function decideWindowOpen(url: string): WindowOpenDecision {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return { action: 'deny', openExternally: null }
  }
  return { action: 'deny', openExternally: parsed.protocol === 'https:' ? parsed.href : null }
}

export function denyNewWindows(contents: WebContents, openExternal: (url: string) => void): void {
  contents.setWindowOpenHandler(({ url }) => {
    const decision = decideWindowOpen(url)
    if (decision.openExternally) openExternal(decision.openExternally)
    return { action: 'deny' }
  })
}
