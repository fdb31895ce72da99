/**
 * A command's whole output reaches a reader that is slower than the command, through a pipe: the CLI must not
 * exit while Node still holds bytes the pipe could not take (64 KiB on Linux). Before, `nodes list --json`
 * of 1500 nodes through `| (sleep 1; cat)` delivered 65,536 of its 638,976 bytes.
 */
import { describe, it, expect } from 'vitest'
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BIN, cliScratch, rackboot } from '../support/cli'

const { tmp } = cliScratch('rackboot-cli-output-')

const NODES = 1500

/**
 * Runs the CLI with stdout on a shell pipe whose reader sleeps `delayS` before reading: a reader slower than
 * the writer, as `| less` or a busy parent is. (A Node reader would not do: its socket drains the pipe into
 * its own buffer even while paused.)
 */
function readSlowly(args: string[], delayS: number): { status: number | null; out: string; err: string } {
  const r = spawnSync(
    'bash',
    ['-c', `set -o pipefail; node "$0" "$@" | (sleep ${delayS}; cat)`, BIN, ...args],
    { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 60_000 },
  )
  return { status: r.status, out: r.stdout, err: r.stderr }
}

describe('CLI output through a slow pipe', () => {
  it(`nodes list --json of ${NODES} nodes arrives whole when the reader starts late`, () => {
    const dir = tmp()
    const dataDir = join(dir, 'data')
    const conf = ['nodes:']
    for (let i = 1; i <= NODES; i++)
      conf.push(
        `  n${String(i).padStart(4, '0')}:`,
        `    tags: {rack: r${Math.ceil(i / 40)}, slot: "${((i - 1) % 40) + 1}"}`,
        `    network devices: {default: {ipaddr: 198.18.${Math.floor(i / 250)}.${(i % 250) + 1}}}`,
      )
    writeFileSync(join(dir, 'nodes.conf'), conf.join('\n') + '\n')
    const imported = rackboot(['import', 'warewulf', join(dir, 'nodes.conf'), '--data-dir', dataDir])
    expect(imported.status, imported.stderr).toBe(0)
    // The summary names a few nodes and racks, not all 1500 and 38.
    expect(imported.stdout).toMatch(
      /^imported 1500 nodes \(n0001, .* and 1488 more\)\ncreated 38 rack\(s\): .* and 26 more\n$/,
    )

    const { status, out, err } = readSlowly(['nodes', 'list', '--json', '--data-dir', dataDir], 1)
    expect(status, err).toBe(0)
    // Far past the 64 KiB a pipe takes before anyone reads.
    expect(out.length).toBeGreaterThan(512 * 1024)
    const nodes = JSON.parse(out) as Array<{ name: string }>
    expect(nodes).toHaveLength(NODES)
    expect(new Set(nodes.map((n) => n.name)).size).toBe(NODES)
  }, 120_000)
})
