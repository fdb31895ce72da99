/**
 * Child process for the store kill test: `node --import tsx test/support/store-writer.ts <dataDir>`.
 * Opens the store, then appends nodes n<k+1>, n<k+2>, ... forever (bounded by a lifetime), one durable write each.
 * Every third write goes through updateSoon + flush so group commits are killed too. Prints to stdout:
 *   opening            before Store.open (the parent may kill during open: lock takeover, temp cleanup, backup)
 *   ready <k>          opened; the store holds n1..nk
 *   ack <k>            node nk is durably in db.json
 * The backup is refreshed on every write (backupIntervalMs 0) so kills also land mid-backup.
 */
import { Store } from '../../electron/core/inventory/store'
import { nodeSchema } from '../../electron/core/inventory/schema'
import type { Logger } from '../../electron/core/util/logger'

const dataDir = process.argv[2]
if (!dataDir) {
  process.stderr.write('usage: store-writer.ts <dataDir>\n')
  process.exit(2)
}
// Bounded even if the parent dies without killing us.
setTimeout(() => process.exit(3), 60_000).unref()

const logger: Logger = {
  info: (m) => process.stderr.write(`info: ${m}\n`),
  warn: (m) => process.stderr.write(`warn: ${m}\n`),
  error: (m) => process.stderr.write(`error: ${m}\n`),
}

function macOf(k: number): string {
  const hex = k.toString(16).padStart(6, '0')
  return `52:54:00:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}`
}

process.stdout.write('opening\n')
const store = await Store.open({ dataDir, logger, backupIntervalMs: 0, groupCommitMs: 5 })
let k = store.data.nodes.length
process.stdout.write(`ready ${k}\n`)
for (let i = 0; i < 1_000_000; i++) {
  k++
  const node = nodeSchema.parse({ name: `n${k}`, macs: [macOf(k)] })
  if (k % 3 === 0) {
    store.updateSoon((db) => {
      db.nodes.push(node)
    })
    await store.flush()
  } else {
    await store.update((db) => {
      db.nodes.push(node)
    })
  }
  process.stdout.write(`ack ${k}\n`)
}
await store.close()
