/** The Electron preload bridge: present inside the desktop app, absent in a browser (headless mode). */
import type { ContractClient } from '../../../electron/ipc/contract'

declare global {
  interface Window {
    rackboot?: ContractClient
  }
}

export {}
