import { describe, it, expect, afterEach } from 'vitest'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdirSync } from 'node:fs'
import { Rackboot } from '../../electron/core/rackboot'
import { silentLogger } from '../../electron/core/util/logger'
import type { BootEvent } from '../../electron/core/boot/events'
import { missing } from '../support/env'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** Events are emitted when a response finishes, which may be just after the client has every byte. */
async function waitFor(ready: () => boolean): Promise<void> {
  for (let i = 0; i < 50 && !ready(); i++) await new Promise((r) => setTimeout(r, 100))
}

describe('boot events reach the bus', () => {
  it('reports the iPXE script fetch and a TFTP transfer as per-node events', async () => {
    const d = mkdtempSync(join(tmpdir(), 'rackboot-events-'))
    dirs.push(d)
    const files = join(d, 'files')
    mkdirSync(files)
    writeFileSync(join(files, 'hello.bin'), Buffer.alloc(5000, 7))
    const core = await Rackboot.open({ dataDir: join(d, 'data'), logger: silentLogger })
    const events: BootEvent[] = []
    core.bus.on('boot/event', (e) => events.push(e))
    try {
      await core.repo.addNode({ name: 'n1', mac: '52:54:00:00:00:01', ip: '127.0.0.1' })
      const status = await core.startStack({ httpPort: 0, tftpPort: 0, filesRoot: files, ipxeRoots: [] })
      expect(status.state).toBe('running')
      const http = core.supervisor.httpUrl()!
      const res = await fetch(`${http}/ipxe/52-54-00-00-00-01?platform=efi`)
      expect(res.status).toBe(200)
      await res.text()
      // The core renders the node's system overlay (gzip cpio) and serves it to the node's own address.
      const overlay = await fetch(`${http}/system/52:54:00:00:00:01`)
      expect(overlay.status).toBe(200)
      expect(Buffer.from(await overlay.arrayBuffer()).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]))
      await waitFor(() => events.some((e) => e.stage === 'overlay' && e.step === 'done'))
      expect(events.find((e) => e.stage === 'overlay' && e.step === 'done')).toMatchObject({ node: 'n1' })
      const ipxe = events.find((e) => e.stage === 'ipxe' && e.step === 'done')
      expect(ipxe).toMatchObject({ mac: '52:54:00:00:00:01', node: 'n1' })

      if (missing({ commands: ['curl'] }) === null) {
        const port = status.tftp.listening!.split(':')[1]
        // Asynchronously: the TFTP server answering curl runs in this very process.
        await promisify(execFile)('curl', [
          '-s',
          '-o',
          join(d, 'out.bin'),
          `tftp://127.0.0.1:${port}/hello.bin`,
        ])
        // The final ACK may be handled just after curl exits: wait for the event, bounded.
        await waitFor(() => events.some((e) => e.stage === 'tftp' && e.step === 'done'))
        const done = events.find((e) => e.stage === 'tftp' && e.step === 'done')
        expect(done).toMatchObject({ node: 'n1', mac: '52:54:00:00:00:01', bytes: 5000, detail: 'hello.bin' })
        // The session counts itself done as it closes, just after its last event.
        let tftpDone: number | undefined
        await waitFor(() => (tftpDone = core.supervisor.counters().tftp?.['transfers.done']) === 1)
        expect(tftpDone).toBe(1)
      }
      const counters = await core.handlers['stack/counters']({})
      expect(counters.http?.requests).toBeGreaterThanOrEqual(1)
      expect(counters.http?.['statuses.200']).toBeGreaterThanOrEqual(1)
      expect(counters.dhcp).toBeNull()
    } finally {
      await core.close()
    }
  })
})
