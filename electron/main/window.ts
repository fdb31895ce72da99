/** The one main window: sandboxed, isolated, no Node, loading the built renderer (or the dev server). */
import { BrowserWindow } from 'electron'

export interface MainWindowOptions {
  /** The page to load: the dev server URL or the file: URL of out/renderer/index.html. */
  appUrl: string
  preloadPath: string
}

export function createMainWindow(options: MainWindowOptions): BrowserWindow {
  const window = new BrowserWindow({
    width: 1200,
    height: 800,
    minWidth: 720,
    minHeight: 480,
    title: 'Rackboot',
    show: false,
    webPreferences: {
      preload: options.preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  })
  window.once('ready-to-show', () => window.show())
  void window.loadURL(options.appUrl)
  return window
}
