/**
 * The packaged layout (build/dist-dir.mjs: electron-builder --dir with a stand-in Electron binary) holds every
 * file the app loads at run time, found the way the code finds it: app-location.ts for the preload and the
 * renderer, core/paths.ts for iPXE (through the packaged RACKBOOT_RESOURCES_DIR), the main bundle's imports
 * for node_modules, and the privilege helper. Also: electron-builder.yml and the workflows parse and say
 * what the release needs.
 */
import { beforeAll, afterAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { builtinModules } from 'node:module'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { pathToFileURL, fileURLToPath } from 'node:url'
import { listPackage } from '@electron/asar'
import { parse } from 'yaml'
import { resolveAppLocation } from '../../electron/main/app-location'
import { packagedResourcesEnv, linuxHelperPath } from '../../electron/main/resources'
import { ipxeRoots, shippedResourcesDir, RESOURCES_DIR_ENV } from '../../electron/core/paths'
import { settingsSchema } from '../../electron/core/inventory/schema'
import { missing } from '../support/env'

const project = fileURLToPath(new URL('../..', import.meta.url))
const skip = missing({
  files: [join(project, 'out/main/index.js'), '/usr/lib/ipxe/ipxe.efi', '/usr/share/doc/ipxe/copyright'],
})

let out = ''
let appDir = ''
let resourcesPath = ''
let asarFiles = new Set<string>()

beforeAll(async () => {
  if (skip) return
  out = await mkdtemp(join(tmpdir(), 'rackboot-dist-'))
  await promisify(execFile)(process.execPath, [join(project, 'build/dist-dir.mjs'), '--out', out], {
    cwd: project,
    env: { ...process.env, CI: '' },
  })
  appDir = join(out, 'linux-unpacked')
  resourcesPath = join(appDir, 'resources')
  asarFiles = new Set(
    listPackage(join(resourcesPath, 'app.asar'), { isPack: false }).map((f) => f.replaceAll('\\', '/')),
  )
}, 180_000)

afterAll(async () => {
  if (out) await rm(out, { recursive: true, force: true })
})

/** `<resources>/app.asar/x/y` -> '/x/y' as @electron/asar lists it. */
function inAsar(path: string): string | null {
  const asar = join(resourcesPath, 'app.asar')
  const rel = relative(asar, path)
  return rel.startsWith('..') ? null : `/${rel.replaceAll('\\', '/')}`
}

describe.skipIf(skip)('unpacked Linux app (npm run dist:dir)', () => {
  it("has the executable (a documented stand-in here) and app.asar in electron-builder's places", () => {
    const exe = join(appDir, 'rackboot')
    expect(statSync(exe).mode & 0o111).not.toBe(0)
    expect(readFileSync(exe, 'utf8')).toContain('rackboot-electron-stand-in')
    expect(asarFiles.has('/package.json')).toBe(true)
    expect(asarFiles.has('/out/main/index.js')).toBe(true)
    expect(asarFiles.has('/out/test-summary.json')).toBe(false)
  })

  it('contains the preload and renderer where app-location.ts resolves them from the packaged main', () => {
    const mainUrl = pathToFileURL(join(resourcesPath, 'app.asar', 'out', 'main', 'index.js')).href
    const location = resolveAppLocation(mainUrl, {})
    expect(location.dev).toBe(false)
    const preload = inAsar(location.preloadPath)
    const index = inAsar(fileURLToPath(location.appUrl))
    expect(preload && asarFiles.has(preload)).toBe(true)
    expect(index && asarFiles.has(index)).toBe(true)
  })

  it('contains every script and stylesheet the renderer index.html loads', () => {
    const html = readFileSync(join(project, 'out/renderer/index.html'), 'utf8')
    const refs = [...html.matchAll(/(?:src|href)="\.?\/?([^"]+\.(?:js|css))"/g)].map((m) => m[1]!)
    expect(refs.length).toBeGreaterThan(0)
    for (const ref of refs) expect(asarFiles.has(`/out/renderer/${ref}`), ref).toBe(true)
  })

  it('contains every package the main bundle imports at run time', () => {
    const main = readFileSync(join(project, 'out/main/index.js'), 'utf8')
    // Static imports at the top of the ESM bundle, and koffi's createRequire() call.
    const specifiers = new Set(
      [
        ...main.matchAll(/^import\s(?:[^;]*?\sfrom\s*)?["']([^"'.][^"']*)["'];?$/gm),
        ...main.matchAll(/(?:\brequire|createRequire\([^)]*\))\(\s*["']([^"'.][^"']*)["']\s*\)/g),
      ].map((m) => m[1]!),
    )
    const builtins = new Set(builtinModules)
    const packages = [...specifiers]
      .filter((s) => !s.startsWith('node:') && !builtins.has(s) && s !== 'electron')
      .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!))
    expect(packages.length).toBeGreaterThan(0)
    for (const pkg of new Set(packages))
      expect(asarFiles.has(`/node_modules/${pkg}/package.json`), `${pkg} missing from app.asar`).toBe(true)
  })

  it("unpacks koffi's native library next to the archive (dlopen cannot read inside asar)", () => {
    const unpacked = join(resourcesPath, 'app.asar.unpacked', 'node_modules')
    const natives: string[] = []
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true }))
        if (e.isDirectory()) walk(join(dir, e.name))
        else if (e.name.endsWith('.node')) natives.push(join(dir, e.name))
    }
    walk(unpacked)
    expect(natives.some((f) => f.includes('linux_x64'))).toBe(true)
  })

  it('finds the iPXE binaries through the packaged resources dir, with licence and source offer', () => {
    const env = packagedResourcesEnv(true, resourcesPath, {})
    expect(env).toEqual({ name: RESOURCES_DIR_ENV, value: join(resourcesPath, 'resources') })
    const asarRoot = join(resourcesPath, 'app.asar')
    expect(shippedResourcesDir(asarRoot, { [env!.name]: env!.value })).toBe(join(resourcesPath, 'resources'))
    const roots = ipxeRoots(asarRoot, { [env!.name]: env!.value })
    expect(roots[0]).toBe(join(resourcesPath, 'resources', 'ipxe'))
    // Every file the DHCP policy can hand out: BIOS undionly.kpxe and each UEFI choice in the settings.
    const efi = settingsSchema.parse({}).efiBootFile
    const choices = ['undionly.kpxe', efi, 'ipxe.efi', 'snponly.efi']
    for (const f of choices) expect(existsSync(join(roots[0]!, f)), f).toBe(true)
    expect(readFileSync(join(roots[0]!, 'COPYING'), 'utf8')).toContain('GNU GENERAL PUBLIC LICENSE')
    expect(readFileSync(join(roots[0]!, 'COPYRIGHT'), 'utf8')).toContain('GPL-2')
    expect(readFileSync(join(roots[0]!, 'SOURCE-OFFER.txt'), 'utf8')).toMatch(/source package "ipxe" \S+/)
  })

  it('ships the Linux privilege helper, executable, where main looks for it', () => {
    const helper = linuxHelperPath(resourcesPath)
    expect(statSync(helper).mode & 0o111).not.toBe(0)
    expect(readFileSync(helper, 'utf8')).toContain('PKEXEC_UID')
    expect(existsSync(join(resourcesPath, 'linux', 'org.rackboot.stack.policy'))).toBe(true)
  })
})

describe('electron-builder.yml', () => {
  const config = parse(readFileSync(join(project, 'electron-builder.yml'), 'utf8')) as Record<string, unknown>

  it('builds AppImage and deb for Linux x64 and an MSI for Windows x64', () => {
    const targets = (platform: string) =>
      ((config[platform] as { target: { target: string; arch: string[] }[] }).target ?? []).map(
        (t) => `${t.target}:${t.arch.join(',')}`,
      )
    expect(targets('linux')).toEqual(expect.arrayContaining(['AppImage:x64', 'deb:x64']))
    expect(targets('win')).toEqual(expect.arrayContaining(['msi:x64']))
  })

  it('associates vendor MAC lists (.macs)', () => {
    const assoc = config.fileAssociations as { ext: string }[]
    expect(assoc.map((a) => a.ext)).toContain('macs')
  })

  it('takes extraResources only from paths that exist or are built before packaging', () => {
    const optional = new Set(['resources/default-image', 'resources/templates', 'resources/ipxe'])
    for (const r of config.extraResources as { from: string }[])
      expect(existsSync(join(project, r.from)) || optional.has(r.from), r.from).toBe(true)
  })

  it('has an icon for every platform it builds', () => {
    expect(existsSync(join(project, 'build/icons/256x256.png'))).toBe(true)
    expect(existsSync(join(project, (config.win as { icon: string }).icon))).toBe(true)
  })
})

describe('GitHub workflows', () => {
  const dir = join(project, '.github/workflows')
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))

  it.each(files)('%s has on, jobs, and every job a runner and steps that use or run something', (file) => {
    const wf = parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>
    expect(wf.on ?? wf.true).toBeTruthy()
    const jobs = wf.jobs as Record<string, { 'runs-on': unknown; steps: Record<string, unknown>[] }>
    expect(Object.keys(jobs).length).toBeGreaterThan(0)
    for (const [name, job] of Object.entries(jobs)) {
      expect(job['runs-on'], name).toBeTruthy()
      expect(job.steps.length, name).toBeGreaterThan(0)
      for (const step of job.steps)
        expect(Boolean(step.uses) !== Boolean(step.run), JSON.stringify(step)).toBe(true)
    }
  })

  it('release builds every package with checksums and uploads them', () => {
    const text = readFileSync(join(dir, 'release.yml'), 'utf8')
    for (const needle of ['--linux AppImage deb', '--win msi', 'sha256sum', 'upload-artifact'])
      expect(text).toContain(needle)
  })
})
