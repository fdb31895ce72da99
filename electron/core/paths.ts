/** Where Rackboot finds its shipped resources and keeps its data, per OS. */
import { existsSync } from 'node:fs'
import { homedir, platform } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Default data dir when none is given: XDG on Linux, AppData on Windows, Application Support on macOS. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.RACKBOOT_DATA_DIR) return resolve(env.RACKBOOT_DATA_DIR)
  switch (platform()) {
    case 'win32':
      return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'Rackboot')
    case 'darwin':
      return join(homedir(), 'Library', 'Application Support', 'Rackboot')
    default:
      return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'rackboot')
  }
}

/** The project (or packaged app) root: the nearest ancestor of this file with a package.json. */
export function appRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir
    const up = dirname(dir)
    if (up === dir) return from
    dir = up
  }
}

/** Set by the packaged Electron main (electron/main/resources.ts) to `<process.resourcesPath>/resources`. */
export const RESOURCES_DIR_ENV = 'RACKBOOT_RESOURCES_DIR'

/**
 * The shipped resources (iPXE, default image, templates). In a source checkout that is `<root>/resources`;
 * a packaged app keeps them outside app.asar (electron-builder extraResources, `<resources>/resources`), so
 * the packaged main names that directory in RACKBOOT_RESOURCES_DIR and everything below reads it from there.
 */
export function shippedResourcesDir(root: string = appRoot(), env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env[RESOURCES_DIR_ENV]
  return fromEnv ? resolve(fromEnv) : join(root, 'resources')
}

/** iPXE binaries: shipped under resources/ipxe, else the Debian ipxe package's directory. */
export function ipxeRoots(root: string = appRoot(), env: NodeJS.ProcessEnv = process.env): string[] {
  return [join(shippedResourcesDir(root, env), 'ipxe'), '/usr/lib/ipxe'].filter((d) => existsSync(d))
}

export function rendererRoot(root: string = appRoot()): string | null {
  const dir = join(root, 'out', 'renderer')
  return existsSync(join(dir, 'index.html')) ? dir : null
}
