/** How contract values read in the UI. Pure, shared by views. */
import type { StackStatus } from '../../electron/ipc/contract'

export const NONE = '—'

export function orNone(value: string | number | null | undefined): string {
  return value === null || value === undefined || value === '' ? NONE : String(value)
}

export const stackStateLabel: Record<StackStatus['state'], string> = {
  stopped: 'Stopped',
  starting: 'Starting…',
  running: 'Running',
  stopping: 'Stopping…',
  failed: 'Failed',
}

export function rackPosition(rack: string | null, slot: number | null): string {
  if (rack === null) return NONE
  return slot === null ? rack : `${rack} U${slot}`
}

/** The status bar's sentence while the serving interface is gone (StackStatus.interfaceLost). */
export function interfaceLostMessage(name: string): string {
  return `${name} is gone: cable or USB NIC? serving resumes when it returns`
}
