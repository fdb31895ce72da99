#!/usr/bin/env node
// `npm start`: the desktop app when the Electron binary is installed, else the headless UI (`rackboot serve`)
// opened in the system browser. Arguments after `npm start --` go to whichever runs. SIGINT/SIGTERM are
// forwarded once to the child, which runs in its own process group so a terminal Ctrl-C reaches it once
// (a second SIGINT would make `rackboot serve` skip its clean shutdown).
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { startLab, uiUrlAfter } from './start-lab.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const require = createRequire(import.meta.url)

/** Path of the Electron executable, or null when it was not downloaded (ELECTRON_SKIP_BINARY_DOWNLOAD). */
export function electronBinary() {
  try {
    const path = require('electron')
    return typeof path === 'string' && existsSync(path) ? path : null
  } catch {
    return null
  }
}

/** Whether a browser window can be shown: always on macOS/Windows, with X11 or Wayland on Linux and BSD. */
export function hasDisplay(env = process.env, platform = process.platform) {
  if (platform === 'darwin' || platform === 'win32') return true
  return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY)
}

/** The UI address from `rackboot ready {json}`, or null for any other line. */
export const readyUrl = (line) => uiUrlAfter('rackboot ready', line)

export function openerFor(url, platform = process.platform) {
  if (platform === 'darwin') return ['open', [url]]
  if (platform === 'win32') return ['cmd', ['/c', 'start', '""', url]]
  return ['xdg-open', [url]]
}

function toolBin(pkg, bin) {
  const dir = dirname(require.resolve(`${pkg}/package.json`))
  return join(dir, require(`${pkg}/package.json`).bin[bin])
}

/** Runs a build step in the foreground; exits with its status if it fails. */
function buildStep(what, args) {
  process.stderr.write(`start: ${what}\n`)
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' })
  if (r.status !== 0) {
    process.stderr.write(
      `start: ${what} failed (exit ${r.status ?? r.signal}); fix the build, then run npm start again\n`,
    )
    process.exit(r.status ?? 1)
  }
}

const built = (...files) => files.every((f) => existsSync(join(root, f)))

/** Forwards SIGINT/SIGTERM to the child and exits with its status. */
function supervise(child) {
  const forward = (signal) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
  }
  process.on('SIGINT', forward)
  process.on('SIGTERM', forward)
  child.on('error', (e) => {
    process.stderr.write(`start: could not run ${child.spawnfile}: ${e.message}\n`)
    process.exit(1)
  })
  child.on('exit', (code, signal) => {
    process.exit(code ?? (signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : 1))
  })
}

function startElectron(binary, args) {
  // Main bundles the core itself; only the three electron-vite outputs are needed.
  if (!built('out/main/index.js', 'out/preload/index.cjs', 'out/renderer/index.html'))
    buildStep('building the app (electron-vite build)', [toolBin('electron-vite', 'electron-vite'), 'build'])
  const child = spawn(binary, ['.', ...args], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  })
  supervise(child)
}

/** The core and the UI built for `rackboot serve` (headless and --lab); `fresh`: the core again even if built. */
function buildHeadless(fresh = false) {
  if (fresh || !built('dist/cli.js'))
    buildStep('building the core (build/build-node.mjs)', ['build/build-node.mjs'])
  if (!built('out/renderer/index.html'))
    buildStep('building the UI (vite build)', [
      toolBin('vite', 'vite'),
      'build',
      '--config',
      'renderer/vite.config.ts',
    ])
}

function startHeadless(args) {
  process.stderr.write(
    'Electron binary not installed here (ELECTRON_SKIP_BINARY_DOWNLOAD); starting the headless UI instead (rackboot serve)\n',
  )
  buildHeadless()
  const child = spawn(process.execPath, ['bin/rackboot.js', 'serve', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  })
  supervise(child)
  let pending = ''
  let opened = false
  child.stdout.on('data', (chunk) => {
    // stdout passes through unchanged: scripts may read the ready line.
    process.stdout.write(chunk)
    pending += chunk.toString('utf8')
    let nl
    while ((nl = pending.indexOf('\n')) >= 0) {
      const url = readyUrl(pending.slice(0, nl))
      pending = pending.slice(nl + 1)
      if (url && !opened) {
        opened = true
        showUi(url)
      }
    }
  })
}

function showUi(url) {
  if (!hasDisplay()) {
    process.stderr.write(`start: no display here; open the Rackboot UI at ${url}\n`)
    return
  }
  const [cmd, cmdArgs] = openerFor(url)
  const opener = spawn(cmd, cmdArgs, { stdio: 'ignore', detached: true })
  opener.on('error', () =>
    process.stderr.write(`start: could not run ${cmd}; open the Rackboot UI at ${url}\n`),
  )
  opener.unref()
  process.stderr.write(`start: opening the Rackboot UI at ${url}\n`)
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2)
  const binary = electronBinary()
  if (args.includes('--lab')) {
    // The virtual rack's UI is its serve's, in the browser (the desktop app runs its own core).
    // The core is built afresh: `lab up --ui` and the lab channels need a core at least as new as this script.
    const build = () => buildHeadless(true)
    startLab({ args, cwd: root, cli: [process.execPath, 'bin/rackboot.js'], build, showUi })
  } else if (binary) startElectron(binary, args)
  else startHeadless(args)
}
