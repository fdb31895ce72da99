/**
 * Deny every permission (camera, geolocation, notifications, HID, serial, …). Rackboot's UI needs none;
 * an allow-list here is the one place to grant one later.
 */
import type { Session } from 'electron'

const GRANTED: ReadonlySet<string> = new Set<string>()

export function isPermissionGranted(permission: string): boolean {
  return GRANTED.has(permission)
}

export function denyPermissions(session: Session): void {
  session.setPermissionRequestHandler((_contents, permission, callback) =>
    callback(isPermissionGranted(permission)),
  )
  session.setPermissionCheckHandler((_contents, permission) => isPermissionGranted(permission))
  session.setDevicePermissionHandler(() => false)
}
