/** The sentence the app shows when its data dir cannot be opened. */
import { describe, expect, it } from 'vitest'
import { startupFailureMessage } from '../../electron/main/startup-message'
import { RackbootError } from '../../electron/core/util/result'

const failure = (errno: string) =>
  new RackbootError(`cannot lock data dir /d: ${errno}: something, open '/d/rackboot.lock.tmp'`, 'data-dir')

describe('startupFailureMessage', () => {
  it('names the cause, says nothing changed, and gives the fix', () => {
    expect(startupFailureMessage(failure('EROFS'), '/d')).toMatch(
      /^Rackboot cannot start: its data dir \/d is on a read-only disk\. Nothing in it was changed; remount the disk read-write, or start Rackboot with RACKBOOT_DATA_DIR/,
    )
    expect(startupFailureMessage(failure('EACCES'), '/d')).toContain(
      'this user may not write its data dir /d',
    )
    expect(startupFailureMessage(failure('EPERM'), '/d')).toContain('this user may not write its data dir /d')
    expect(startupFailureMessage(failure('ENOSPC'), '/d')).toContain(
      'the disk holding its data dir /d is full',
    )
    expect(startupFailureMessage(new Error('db.json is not JSON'), '/d')).toBe(
      'Rackboot could not start: db.json is not JSON',
    )
  })
})
