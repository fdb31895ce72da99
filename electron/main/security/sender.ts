/**
 * Only our own page may call the contract. `ipcMain.handle` receives messages from any frame of any window,
 * so every handler checks the sending frame's URL (Electron security checklist, "Validate the sender of all
 * IPC messages"). A destroyed or navigated-away frame has no URL and is refused.
 */
import { isAppUrl } from './app-url'

export interface SenderLike {
  senderFrame: { url: string } | null
}

export function isTrustedSender(event: SenderLike, appUrl: string): boolean {
  return isAppUrl(event.senderFrame?.url, appUrl)
}
