// `npm start -- --lab [--nodes N] [lab up options]`: a virtual rack on this machine (Linux, root, QEMU) with
// its UI opened in the browser. Runs `rackboot lab up --ui` (QEMU nodes in network namespaces, Rackboot's own
// serve on the lab wire, its UI bridged to this machine's 127.0.0.1), opens or prints the UI URL with its
// token, and on Ctrl-C runs `rackboot lab down`. A lab left by a crash on the same data dir is removed first.
import { spawn, spawnSync } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { homedir } from 'node:os'
import { delimiter, join } from 'node:path'

/** Whether `cmd` is an executable on PATH (or a path to one). */
export function onPath(cmd, env = process.env) {
  const dirs = cmd.includes('/') ? [''] : (env.PATH ?? '').split(delimiter).filter(Boolean)
  return dirs.some((d) => {
    try {
      accessSync(d ? join(d, cmd) : cmd, constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

/** What this machine lacks for the virtual rack, each with how to get it; [] when nothing. */
export function labRequirements({
  platform = process.platform,
  uid = typeof process.getuid === 'function' ? process.getuid() : -1,
  has = (cmd) => onPath(cmd),
} = {}) {
  if (platform !== 'linux') return ['Linux (the virtual rack uses network namespaces)']
  const lacks = []
  if (uid !== 0) lacks.push('root (network namespaces, taps, DHCP port 67): run `sudo npm start -- --lab`')
  if (!has('qemu-system-x86_64'))
    lacks.push('qemu-system-x86_64 (Debian/Ubuntu: apt-get install qemu-system-x86)')
  if (!has('ip')) lacks.push('ip from iproute2 (apt-get install iproute2)')
  return lacks
}

/**
 * Splits `npm start` arguments: `--lab` and `--data-dir` are ours, the rest go to `lab up` (with `--nodes 3`
 * unless given). Null when `--lab` is absent.
 */
export function labArgs(args, env = process.env) {
  if (!args.includes('--lab')) return null
  const up = []
  let dataDir =
    env.RACKBOOT_LAB_DATA_DIR ?? join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'rackboot-lab')
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    if (a === '--lab') continue
    if (a === '--data-dir' && i + 1 < args.length) dataDir = args[++i]
    else if (a.startsWith('--data-dir=')) dataDir = a.slice('--data-dir='.length)
    else up.push(a)
  }
  if (!up.some((a) => a === '--nodes' || a.startsWith('--nodes='))) up.push('--nodes', '3')
  return { dataDir, up }
}

/** The `ui` address of a `<marker> {json}` line (`rackboot ready`, `rackboot lab ready`), or null for any other line. */
export function uiUrlAfter(marker, line) {
  if (!line.startsWith(`${marker} {`)) return null
  try {
    const info = JSON.parse(line.slice(marker.length + 1).trimEnd())
    return typeof info.ui === 'string' ? info.ui : null
  } catch {
    return null
  }
}

/** The UI address from `rackboot lab ready {json}` (printed by `lab up --ui`), or null for any other line. */
export const labReadyUrl = (line) => uiUrlAfter('rackboot lab ready', line)

/**
 * Runs the lab: checks the machine, `build()`s, then `lab up --ui`; `showUi(url)` opens or prints the UI;
 * `cli` is how to run `rackboot` (the argv before its own arguments).
 */
export function startLab({ args, cwd, cli, build, showUi }) {
  const parsed = labArgs(args)
  const lacks = labRequirements()
  if (lacks.length > 0) {
    process.stderr.write(
      `start --lab: the virtual rack cannot start here; this machine lacks:\n${lacks.map((l) => `  - ${l}\n`).join('')}` +
        'Without them, `npm start` (no --lab) runs Rackboot on its own.\n',
    )
    process.exit(1)
  }
  build()
  const run = (more) =>
    spawnSync(cli[0], [...cli.slice(1), ...more, '--data-dir', parsed.dataDir], { cwd, stdio: 'inherit' })
  // A lab left behind by a crash on this data dir (by the exact names and PIDs it recorded).
  run(['lab', 'down'])

  let stopping = false
  let up = null
  const down = () => {
    process.stderr.write('start --lab: taking the virtual rack down (rackboot lab down)\n')
    const r = run(['lab', 'down'])
    process.exit(r.status ?? 1)
  }
  const onSignal = () => {
    if (stopping) return
    stopping = true
    // While `lab up` runs, let it finish (it removes what it made if it fails), then take it down.
    if (up === null) down()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)

  process.stderr.write(
    `start --lab: rackboot lab up --ui ${parsed.up.join(' ')} (data dir ${parsed.dataDir})\n`,
  )
  // Its own process group: a terminal Ctrl-C must not kill it half-way through making the namespaces.
  up = spawn(cli[0], [...cli.slice(1), 'lab', 'up', '--ui', ...parsed.up, '--data-dir', parsed.dataDir], {
    cwd,
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  })
  let out = ''
  up.stdout.on('data', (chunk) => {
    process.stdout.write(chunk)
    out += chunk.toString('utf8')
  })
  up.on('error', (e) => {
    process.stderr.write(`start --lab: could not run rackboot: ${e.message}\n`)
    process.exit(1)
  })
  up.on('exit', (code) => {
    up = null
    if (code !== 0) {
      process.stderr.write(`start --lab: rackboot lab up failed (exit ${code}); see the message above\n`)
      process.exit(code ?? 1)
    }
    const url = out
      .split('\n')
      .map(labReadyUrl)
      .find((u) => u !== null)
    if (stopping) return down()
    if (url) showUi(url)
    process.stderr.write(
      'start --lab: the virtual rack is up; power its nodes on from the dashboard. Ctrl-C takes it down.\n',
    )
    // Keeps this process alive until a signal (the lab runs in its own processes).
    setInterval(() => undefined, 1 << 30)
  })
}
