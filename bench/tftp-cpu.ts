/**
 * Server CPU per TFTP transfer, in-process on loopback: the development yardstick for the send path (wall
 * clock on the shared 2-core machine is too noisy). Starts `startTftpServer` on 127.0.0.1, fetches each file
 * with atftp (C client) several times, and prints this process's user+system CPU per transfer (median) for
 * each blksize/windowsize.
 *
 *   npx tsx bench/tftp-cpu.ts [--reps 5] [--file PATH ...]
 */
import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync, existsSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { parseArgs } from 'node:util'
import { diskProvider } from '../electron/core/boot/tftp/files'
import { startTftpServer } from '../electron/core/boot/tftp/server'

const run = promisify(execFile)
const { values: args } = parseArgs({
  options: {
    reps: { type: 'string', default: '5' },
  },
})
const reps = Number(args.reps)
const root = mkdtempSync(path.join(os.tmpdir(), 'rb-tftp-cpu-'))
const out = mkdtempSync(path.join('/dev/shm', 'rb-tftp-cpu-out-'))
writeFileSync(path.join(root, 'big-32m.bin'), randomBytes(32 * 1024 * 1024))
if (existsSync('/usr/lib/ipxe/ipxe.efi'))
  cpSync('/usr/lib/ipxe/ipxe.efi', path.join(root, 'ipxe.efi'), { dereference: true })
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex')

const server = await startTftpServer({
  host: '127.0.0.1',
  port: 0,
  provider: diskProvider(root),
  maxBlksize: 1468,
  maxWindowsize: 64,
})
const cpuMs = () => {
  const u = process.cpuUsage()
  return { total: (u.user + u.system) / 1000, user: u.user / 1000 }
}
const cells: [string, number, number][] = [
  ['big-32m.bin', 1468, 1],
  ['big-32m.bin', 1468, 16],
  ['big-32m.bin', 512, 1],
  ['ipxe.efi', 1432, 1],
  ['ipxe.efi', 1468, 16],
]
try {
  for (const [file, blksize, ws] of cells) {
    if (!existsSync(path.join(root, file))) continue
    const want = sha(path.join(root, file))
    const samples: number[] = []
    const users: number[] = []
    for (let i = 0; i < reps; i++) {
      const dest = path.join(out, `${file}.${i}`)
      const opts = ['--option', `blksize ${blksize}`, ...(ws > 1 ? ['--option', `windowsize ${ws}`] : [])]
      const before = cpuMs()
      await run('atftp', [
        '--tftp-timeout',
        '1',
        ...opts,
        '-g',
        '-r',
        file,
        '-l',
        dest,
        '127.0.0.1',
        String(server.address.port),
      ])
      const after = cpuMs()
      samples.push(after.total - before.total)
      users.push(after.user - before.user)
      if (sha(dest) !== want) throw new Error(`checksum mismatch: ${file} blksize ${blksize} ws ${ws}`)
      rmSync(dest)
    }
    const med = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(0)
    console.log(
      `${file} blksize ${blksize} ws ${ws}: server CPU ${med(samples)} ms/transfer, user ${med(users)} ms (medians of ${reps})`,
    )
  }
  console.log(
    `load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  )
} finally {
  await server.close()
  rmSync(root, { recursive: true, force: true })
  rmSync(out, { recursive: true, force: true })
}
