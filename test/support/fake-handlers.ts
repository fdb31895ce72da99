/** Capture handlers for contract tests that do not exercise capture: an idle, empty capture. */
import type { Handlers } from '../../electron/ipc/contract'
import type { CaptureStatus } from '../../electron/core/boot/events'

const idle: CaptureStatus = { active: false, ambiguity: null, last: null, next: null, waiting: [] }

export const idleCaptureHandlers: Pick<
  Handlers,
  'capture/status' | 'capture/start' | 'capture/stop' | 'capture/undo' | 'capture/resolve'
> = {
  'capture/status': async () => idle,
  'capture/start': async () => ({ ...idle, active: true }),
  'capture/stop': async () => idle,
  'capture/undo': async () => idle,
  'capture/resolve': async () => idle,
}
