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
import { macOf, writerArgument, writerLogger as logger } from './writer-child'

const dataDir = writerArgument('store-writer.ts <dataDir>')

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
