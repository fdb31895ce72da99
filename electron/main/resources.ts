/**
 * Where a packaged app's shipped resources are. electron-builder puts extraResources next to app.asar, in
 * `<process.resourcesPath>/resources`; the core finds them through RACKBOOT_RESOURCES_DIR (core/paths.ts), so
 * the CLI, the headless stack and the window all look in the same place.
 */
import { join } from 'node:path'
import { RESOURCES_DIR_ENV } from '../core/paths'

/** The env entry to set at start, or null in a source checkout (resources/ under the project root). */
export function packagedResourcesEnv(
  isPackaged: boolean,
  resourcesPath: string,
  env: Readonly<Record<string, string | undefined>>,
): { name: string; value: string } | null {
  if (!isPackaged || env[RESOURCES_DIR_ENV]) return null
  return { name: RESOURCES_DIR_ENV, value: join(resourcesPath, 'resources') }
}

/** The privilege helper shipped by electron-builder.yml (extraResources: build/linux -> linux/). */
export function linuxHelperPath(resourcesPath: string): string {
  return join(resourcesPath, 'linux', 'rackboot-stack')
}
