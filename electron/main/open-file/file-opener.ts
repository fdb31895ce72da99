/**
 * Files the OS asks Rackboot to open arrive at any time: before the window exists (macOS `open-file` at
 * launch, argv), or later (a second start, a double-click). This keeps them until the window's page has
 * loaded, then hands each readable one to the window, and turns each bad one into a one-sentence notice.
 */
import type { AppNotice, MacsFileOpened } from '../../ipc/contract'
import type { Result } from '../../core/util/result'

/** What goes to the window, as contract events. */
export type OpenerEvent =
  { event: 'import/macs-file'; payload: MacsFileOpened } | { event: 'app/notice'; payload: AppNotice }

export interface FileOpenerDeps {
  read(path: string): Promise<Result<MacsFileOpened>>
  /** To the window's page (only called once it is ready). */
  send(event: OpenerEvent): void
}

export interface FileOpener {
  open(path: string): void
  /** The window's page has loaded: send what waited, and from now on at once. */
  windowReady(): void
  /** The window is gone or reloading: hold events again. */
  windowGone(): void
  /** Resolves when every file asked for so far has been read and sent or refused; for tests. */
  idle(): Promise<void>
}

/** At most this many events wait for the window; a flood of paths beyond it is dropped, not buffered. */
const MAX_WAITING = 16

export function createFileOpener(deps: FileOpenerDeps): FileOpener {
  const waiting: OpenerEvent[] = []
  let ready = false
  let reads: Promise<void> = Promise.resolve()

  const send = (e: OpenerEvent) => {
    if (ready) deps.send(e)
    else if (waiting.length < MAX_WAITING) waiting.push(e)
  }

  return {
    open(path) {
      // One at a time, in the order asked: the last file opened is the one on screen.
      reads = reads.then(async () => {
        const r = await deps.read(path)
        if (r.ok) send({ event: 'import/macs-file', payload: r.value })
        else
          send({
            event: 'app/notice',
            payload: { level: 'error', message: `Could not open the MAC list: ${r.error}.` },
          })
      })
    },
    windowReady() {
      ready = true
      for (const e of waiting.splice(0)) deps.send(e)
    },
    windowGone() {
      ready = false
    },
    idle: () => reads,
  }
}
