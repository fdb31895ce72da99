/**
 * The one sentence shown when the app cannot open its data dir: what is wrong, that nothing was changed, and
 * the fix. A read-only disk (EROFS), a folder this user may not write, and a full disk are the field cases.
 */
import { errorMessage } from '../core/util/result'

export function startupFailureMessage(e: unknown, dataDir: string): string {
  const detail = errorMessage(e)
  const fix = 'or start Rackboot with RACKBOOT_DATA_DIR set to a writable folder'
  if (/\bEROFS\b/.test(detail))
    return `Rackboot cannot start: its data dir ${dataDir} is on a read-only disk. Nothing in it was changed; remount the disk read-write, ${fix}. (${detail})`
  if (/\b(EACCES|EPERM)\b/.test(detail))
    return `Rackboot cannot start: this user may not write its data dir ${dataDir}. Nothing in it was changed; fix the folder's owner or permissions, ${fix}. (${detail})`
  if (/\bENOSPC\b/.test(detail))
    return `Rackboot cannot start: the disk holding its data dir ${dataDir} is full. Nothing in it was changed; free some space, ${fix}. (${detail})`
  return `Rackboot could not start: ${detail}`
}
