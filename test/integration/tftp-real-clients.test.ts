/**
 * Real TFTP clients (tftp-hpa, atftp, curl) against our server on loopback; every file checked by SHA-256.
 * tftp-hpa 5.2's client sends no options (no blksize flag), so it covers plain RFC 1350 and netascii.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { diskProvider } from '../../electron/core/boot/tftp/files'
import { startTftpServer, type TftpEvent, type TftpServer } from '../../electron/core/boot/tftp/server'
import { missing } from '../support/env'
import { patternBytes, sha256, trackingBinder, until } from '../support/tftp-client'

const run = promisify(execFile)
const skip = missing({ commands: ['tftp', 'atftp', 'curl'] })

let dir: string
let root: string
let server: TftpServer
const tracker = trackingBinder()
const events: TftpEvent[] = []
const files: Record<string, Buffer> = {
  'ipxe.efi': patternBytes(1_000_003, 11),
  'exact.bin': patternBytes(512 * 40, 12),
  'empty.bin': Buffer.alloc(0),
  'boot/undionly.kpxe': patternBytes(70_001, 13),
  'notes.txt': Buffer.from('kernel args\nsecond\r\nlone cr\r and \n\n'.repeat(500)),
}

const out = (name: string) => path.join(dir, name.replaceAll('/', '_') + '.out')
const port = () => String(server.address.port)
const limits = { timeout: 60_000 }

describe.skipIf(skip !== null).each([0, 2])(
  'real TFTP clients against our server, %i session threads',
  (threads) => {
    beforeAll(async () => {
      if (skip) return
      dir = mkdtempSync(path.join(tmpdir(), 'rbtf-real-'))
      root = path.join(dir, 'root')
      for (const [name, data] of Object.entries(files)) {
        const p = path.join(root, name)
        await import('node:fs/promises').then((fs) => fs.mkdir(path.dirname(p), { recursive: true }))
        writeFileSync(p, data)
      }
      server = await startTftpServer({
        host: '127.0.0.1',
        port: 0,
        provider: diskProvider(root),
        bindSocket: tracker.bind,
        onEvent: (e) => events.push(e),
        timeoutMs: 500,
        workers: threads,
      })
      // With threads, the sessions bind their sockets there: only the request port came from this binder.
      expect(server.sessionThreads).toBe(threads)
    })

    afterAll(async () => {
      if (skip) return
      await server.close()
      expect(tracker.open.size).toBe(0)
      rmSync(dir, { recursive: true, force: true })
    })

    it.each(['ipxe.efi', 'exact.bin', 'empty.bin', 'boot/undionly.kpxe'])(
      'tftp-hpa binary get %s',
      async (name) => {
        await run('tftp', ['-m', 'binary', '127.0.0.1', port(), '-c', 'get', name, out(name)], limits)
        expect(sha256(readFileSync(out(name)))).toBe(sha256(files[name]!))
      },
    )

    it('tftp-hpa verbose get prints what it received', async () => {
      const r = await run(
        'tftp',
        ['-v', '-m', 'binary', '127.0.0.1', port(), '-c', 'get', 'ipxe.efi', out('v')],
        limits,
      )
      expect(r.stdout).toMatch(/Received 1000003 bytes/)
      expect(sha256(readFileSync(out('v')))).toBe(sha256(files['ipxe.efi']!))
    })

    it('tftp-hpa netascii (its default mode) converts back to the original text', async () => {
      await run('tftp', ['127.0.0.1', port(), '-c', 'get', 'notes.txt', out('notes.txt')], limits)
      expect(sha256(readFileSync(out('notes.txt')))).toBe(sha256(files['notes.txt']!))
    })

    it('tftp-hpa reports a missing file with our message', async () => {
      const r = await run(
        'tftp',
        ['-m', 'binary', '127.0.0.1', port(), '-c', 'get', 'nope.efi', out('nope')],
        limits,
      ).catch((e: { stdout: string; stderr: string }) => e)
      expect(r.stdout + r.stderr).toMatch(/nope\.efi' not found under/)
    })

    it.each([
      [
        'blksize 1432, windowsize 4, tsize',
        ['--option', 'blksize 1432', '--option', 'windowsize 4', '--option', 'tsize'],
      ],
      ['windowsize 16', ['--option', 'blksize 1468', '--option', 'windowsize 16']],
      ['"tsize enable"', ['--option', 'tsize enable']],
      ['no options', []],
    ])('atftp 0.8 %s', async (label, opts) => {
      const local = out(`atftp-${label.replace(/\W+/g, '_')}`)
      const r = await run(
        'atftp',
        [...opts, '--verbose', '-g', '-r', 'ipxe.efi', '-l', local, '127.0.0.1', port()],
        limits,
      )
      expect(sha256(readFileSync(local))).toBe(sha256(files['ipxe.efi']!))
      if (opts.includes('windowsize 4')) expect(r.stdout + r.stderr).toMatch(/windowsize.*4/)
    })

    it('atftp with windowsize asked for more than 64 gets 64', async () => {
      const before = events.length
      await run(
        'atftp',
        ['--option', 'windowsize 200', '-g', '-r', 'ipxe.efi', '-l', out('w200'), '127.0.0.1', port()],
        limits,
      )
      expect(sha256(readFileSync(out('w200')))).toBe(sha256(files['ipxe.efi']!))
      // This transfer's own done event, by its client: with session threads the previous test's (lock-step)
      // done can arrive after \`before\`, while every start after it is this transfer's.
      const mine = () => {
        const clients = new Set(events.slice(before).flatMap((e) => (e.kind === 'start' ? [e.client] : [])))
        return events.slice(before).find((e) => e.kind === 'done' && clients.has(e.client))
      }
      await until(() => mine() !== undefined, 5000, 'done event')
      expect(mine()).toMatchObject({ windowsize: 64 })
    })

    it.each([
      ['--tftp-blksize 1468', ['--tftp-blksize', '1468']],
      ['--tftp-blksize 8', ['--tftp-blksize', '8']],
      ['--tftp-no-options', ['--tftp-no-options']],
    ])('curl %s', async (_label, opts) => {
      const local = out(`curl${opts.join('')}`)
      await run(
        'curl',
        ['-sS', '--max-time', '60', ...opts, `tftp://127.0.0.1:${port()}/boot/undionly.kpxe`, '-o', local],
        limits,
      )
      expect(sha256(readFileSync(local))).toBe(sha256(files['boot/undionly.kpxe']!))
    })

    it('curl: a traversal is refused with access violation and nothing written', async () => {
      // --path-as-is: without it curl removes the dot segments itself and asks for /etc/passwd.
      const args = [
        '-sS',
        '--path-as-is',
        '--max-time',
        '20',
        `tftp://127.0.0.1:${port()}/../../etc/passwd`,
        '-o',
        out('pw'),
      ]
      const r = await run('curl', args).catch((e: { code: number; stderr: string }) => e)
      expect('code' in r && r.code).toBe(69) // CURLE_TFTP_PERM: TFTP error 2
      expect(existsSync(out('pw')) ? readFileSync(out('pw')).length : 0).toBe(0)
    })
  },
)
