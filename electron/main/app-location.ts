/**
 * Where the renderer and preload live relative to the built main (out/main/index.js). Pure, for tests.
 * electron-vite sets ELECTRON_RENDERER_URL when it runs the dev server.
 */
import { fileURLToPath, pathToFileURL } from 'node:url'

export interface AppLocation {
  appUrl: string
  preloadPath: string
  dev: boolean
}

export function resolveAppLocation(
  mainModuleUrl: string,
  env: Record<string, string | undefined>,
): AppLocation {
  const preloadPath = fileURLToPath(new URL('../preload/index.cjs', mainModuleUrl))
  const devUrl = env.ELECTRON_RENDERER_URL
  if (devUrl) return { appUrl: devUrl, preloadPath, dev: true }
  const indexHtml = fileURLToPath(new URL('../renderer/index.html', mainModuleUrl))
  return { appUrl: pathToFileURL(indexHtml).href, preloadPath, dev: false }
}
