/**
 * A vendor MAC list the OS hands to Rackboot (file association: argv on Linux and Windows, `open-file` on
 * macOS, a second start's argv). Read here in main, size-limited, checked with the same parser `import/macs`
 * uses, and only then given to the window for review: opening a file never assigns anything.
 */
import { readFile, stat } from 'node:fs/promises'
import { basename, isAbsolute, resolve } from 'node:path'
import type { MacsFileOpened } from '../../ipc/contract'
import { parseVendorMacList } from '../../core/interop/vendor-macs'
import { err, errorMessage, ok, type Result } from '../../core/util/result'

export const MACS_EXTENSION = '.macs'
/** The contract's import limit is 1,000,000 characters; a file beyond that many bytes could never be sent. */
export const MAX_MACS_FILE_BYTES = 1_000_000

export interface MacsFileSystem {
  stat(path: string): Promise<{ isFile(): boolean; size: number }>
  readFile(path: string): Promise<Uint8Array>
}

const nodeFs: MacsFileSystem = { stat, readFile }

/**
 * The `.macs` paths in a command line, resolved against the directory it was started in. Flags (Chromium's
 * and ours) are skipped; so is argv[0], the executable. Nothing else is taken: a stray `.csv` is not ours.
 */
export function macsPathsFromArgv(argv: readonly string[], cwd: string): string[] {
  return argv
    .slice(1)
    .filter((a) => !a.startsWith('-') && a.toLowerCase().endsWith(MACS_EXTENSION))
    .map((a) => (isAbsolute(a) ? a : resolve(cwd, a)))
}

/** The file's text when it is a readable, UTF-8 MAC list of sane size with at least one MAC; else why not. */
export async function readMacsFile(
  path: string,
  fs: MacsFileSystem = nodeFs,
): Promise<Result<MacsFileOpened>> {
  const name = basename(path)
  let bytes: Uint8Array
  try {
    const info = await fs.stat(path)
    if (!info.isFile()) return err(`${name} is not a file`)
    if (info.size > MAX_MACS_FILE_BYTES)
      return err(
        `${name} is ${info.size} bytes; a MAC list may be at most ${MAX_MACS_FILE_BYTES} bytes: split it`,
      )
    bytes = await fs.readFile(path)
  } catch (e) {
    return err(`cannot read ${path}: ${errorMessage(e)}`)
  }
  // The file may have grown between stat and read.
  if (bytes.byteLength > MAX_MACS_FILE_BYTES)
    return err(`${name} is larger than ${MAX_MACS_FILE_BYTES} bytes: split it`)
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return err(`${name} is not UTF-8 text: save it as UTF-8 (or plain ASCII) and open it again`)
  }
  const list = parseVendorMacList(text)
  if (list.entries.length === 0) {
    const first = list.errors[0]
    const why = first ? `; line ${first.line}: ${first.message}` : ''
    return err(`${name} holds no MAC address${why}`)
  }
  return ok({ name, text })
}
