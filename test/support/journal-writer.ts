/**
 * Child process for the lease journal kill test: `node --import tsx test/support/journal-writer.ts <file>`.
 * Opens the journal with its fdatasync turned into a no-op, so nothing it writes is ever synced by it, then
 * records one 'written' lease after another (MAC and address from a counter that starts past what the file
 * holds), printing `ack <k>` once record k resolved: the moment the server would send that ACK.
 */
import { LeaseJournal } from '../../electron/core/boot/dhcp/journal'
import { macOf, writerArgument, writerLogger as logger } from './writer-child'

const file = writerArgument('journal-writer.ts <file>')

const { journal, entries } = await LeaseJournal.open(file, logger, Date.now())
const handle = (journal as unknown as { handle: { datasync(): Promise<void> } }).handle
handle.datasync = () => Promise.resolve()
process.stdout.write(`ready ${entries.length}\n`)
for (let k = entries.length + 1; k < 1_000_000; k++) {
  await journal.record(
    {
      kind: 'lease',
      lease: {
        mac: macOf(k),
        ip: 0xc6120000 + k,
        expiresAt: Date.now() + 3_600_000,
        state: 'bound',
        hostname: null,
      },
    },
    'written',
  )
  process.stdout.write(`ack ${k}\n`)
}
