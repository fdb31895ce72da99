/**
 * Sandboxed preload: exposes exactly the typed contract as `window.rackboot`, nothing else. It is bundled to
 * CommonJS (sandboxed preloads cannot load ES modules or anything from node_modules).
 */
import { contextBridge, ipcRenderer } from 'electron'
import { createIpcClient } from './client'

const client = createIpcClient(ipcRenderer)

// contextBridge copies the object: expose plain functions, not the client's prototype.
contextBridge.exposeInMainWorld('rackboot', {
  call: client.call,
  on: client.on,
})
