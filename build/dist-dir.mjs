// `npm run dist:dir`: the unpacked Linux app (dist-packages/linux-unpacked) exactly as electron-builder lays
// it out for the AppImage and deb, but without downloading Electron: electron-builder gets a stand-in
// "Electron distribution" (one shell script where the binary goes), so the layout, app.asar, the unpacked
// koffi and every extraResource are real and can be checked offline (test/unit/packaging.test.ts).
// Fuses are skipped here because they are flipped inside the real binary; release.yml builds with them.
// Usage: node build/dist-dir.mjs [--out dist-packages] [--skip-ipxe]
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { stageIpxe } from './stage-ipxe.mjs'

const projectDir = fileURLToPath(new URL('..', import.meta.url))

/** The file electron-builder renames to the executable; prints what it is instead of starting anything. */
export const STAND_IN_MARKER = 'rackboot-electron-stand-in'
const STAND_IN = `#!/bin/sh
# ${STAND_IN_MARKER}: build/dist-dir.mjs put this where the Electron binary goes, because the binary
# cannot be downloaded here. Real packages come from .github/workflows/release.yml.
echo "Rackboot layout check build: this is a stand-in, not Electron (see docs/packaging.md)" >&2
exit 1
`

async function standInElectronDist(version) {
  const dir = await mkdtemp(join(tmpdir(), 'rackboot-electron-stand-in-'))
  await writeFile(join(dir, 'electron'), STAND_IN)
  await chmod(join(dir, 'electron'), 0o755)
  await writeFile(join(dir, 'version'), `v${version}`)
  await mkdir(join(dir, 'resources'))
  return dir
}

/** Builds the unpacked app into `<out>/linux-unpacked`; returns that directory. */
export async function distDir({
  out = join(projectDir, 'dist-packages'),
  skipIpxe = false,
  log = console.log,
} = {}) {
  if (!existsSync(join(projectDir, 'out', 'main', 'index.js')))
    throw new Error('dist-dir: out/main/index.js missing: run `npm run build` first')
  if (!skipIpxe) await stageIpxe({ to: join(projectDir, 'resources', 'ipxe') })
  const electronPkg = JSON.parse(
    await readFile(join(projectDir, 'node_modules', 'electron', 'package.json'), 'utf8'),
  )
  const electronDist = await standInElectronDist(electronPkg.version)
  try {
    const { build, Platform, Arch } = await import('electron-builder')
    await build({
      projectDir,
      targets: Platform.LINUX.createTarget('dir', Arch.x64),
      publish: 'never',
      // Merged over electron-builder.yml.
      config: {
        electronDist,
        electronVersion: electronPkg.version,
        npmRebuild: false,
        electronFuses: null,
        directories: { output: resolve(out) },
      },
    })
  } finally {
    await rm(electronDist, { recursive: true, force: true })
  }
  const appDir = join(resolve(out), 'linux-unpacked')
  log(`dist-dir: unpacked app in ${appDir} (Electron binary is a stand-in)`)
  return appDir
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { out: { type: 'string' }, 'skip-ipxe': { type: 'boolean' } },
  })
  await distDir({ out: values.out, skipIpxe: values['skip-ipxe'] })
}
