/**
 * The one file-writing step of interop: `rackboot export warewulf --out DIR` puts `DIR/nodes.conf` there,
 * whole or not at all (the old file stays if the write fails).
 */
import { join } from 'node:path'
import { ensureDir, writeFileAtomic } from '../inventory/durable-file'

export const WAREWULF_NODES_FILE = 'nodes.conf'

/** Writes `text` to `<dir>/nodes.conf` (creating dir) and returns the path written. */
export async function writeWarewulfExport(dir: string, text: string): Promise<string> {
  // Not `mkdir -p`: Node 20's recursive mkdir never settles under /proc (see ensureDir).
  await ensureDir(dir, 0o755)
  const file = join(dir, WAREWULF_NODES_FILE)
  await writeFileAtomic(file, text)
  return file
}
