/**
 * The wizard in Debian's Chromium (WebdriverIO, headless) against a real `rackboot serve`: interface, racks,
 * image, nodes, dashboard, with MACs captured from real DHCP DISCOVERs (busybox udhcpc speaking as PXE
 * firmware: option 60 `PXEClient:Arch:00000:UNDI:002001`, option 93 = 0) sent inside a test namespace.
 *
 * NETWORK SAFETY: serve runs inside `rbwz-srv` with DHCP on the veth `rbwz-v0` (198.19.10.1/24); udhcpc runs
 * inside `rbwz-cli`. The UI listens on the namespace's loopback; ns-loopback-bridge.ts makes the same port
 * reachable on the root namespace's 127.0.0.1 for the browser. Nothing touches the machine's own NICs.
 *
 * Screenshots of every step (1280×800, light, and dark from a second browser under --force-dark-mode) go to
 * test/e2e/screenshots/, from the data of this run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { remote } from 'webdriverio'
import { missing } from '../support/env'
import { buildCli } from '../support/cli'
import { createNetnsPair, type NetnsPair } from '../support/netns'
import { bridgeLoopbackPort, freeLoopbackPort, type LoopbackBridge } from '../support/ns-loopback-bridge'
import { serveInNs, type InNsServe } from './dhcp-serve'

const CHROMIUM = '/usr/bin/chromium'
const CHROMEDRIVER = '/usr/bin/chromedriver'
const SHOTS = join(import.meta.dirname, 'screenshots')
const PXE_BIOS = 'PXEClient:Arch:00000:UNDI:002001'
const MACS = ['52:54:00:19:10:01', '52:54:00:19:10:02', '52:54:00:19:10:03']
/** Two nodes of rack r2 powered on at the same moment. */
const TOGETHER = ['52:54:00:19:10:21', '52:54:00:19:10:22']
const RESOURCES = join(import.meta.dirname, '../../resources/default-image')

const skip = missing({
  root: true,
  commands: ['ip', 'busybox'],
  files: [CHROMIUM, CHROMEDRIVER, join(RESOURCES, 'rackboot-rescue.tar.gz'), join(RESOURCES, 'vmlinuz')],
})

type Browser = WebdriverIO.Browser

const ROOT = join(import.meta.dirname, '../..')

/** Newest modification time (ms) of any file under `dir`. */
function newest(dir: string): number {
  let t = 0
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) t = Math.max(t, statSync(join(e.parentPath, e.name)).mtimeMs)
  return t
}

/** True when out/renderer is missing or older than the renderer's sources (or the contract it imports). */
function rendererBuildIsStale(): boolean {
  const html = join(ROOT, 'out/renderer/index.html')
  if (!existsSync(html)) return true
  const sources = ['renderer', 'electron/ipc', 'electron/core/inventory'].map((d) => newest(join(ROOT, d)))
  return Math.max(...sources) > statSync(html).mtimeMs
}

/** A headless Chromium session with a 1280×800 viewport (the window size would include the browser frame). */
async function startBrowser(dark = false): Promise<Browser> {
  const browser = await remote({
    logLevel: 'warn',
    capabilities: {
      browserName: 'chrome',
      'goog:chromeOptions': {
        binary: CHROMIUM,
        args: [
          '--headless=new',
          '--no-sandbox',
          // Containers give /dev/shm 64 MB, too little for Chromium's renderer.
          '--disable-dev-shm-usage',
          '--window-size=1280,800',
          '--hide-scrollbars',
          '--lang=en-US',
          ...(dark ? ['--force-dark-mode'] : []),
        ],
      },
      'wdio:chromedriverOptions': { binary: CHROMEDRIVER },
    },
  })
  await browser.setViewport({ width: 1280, height: 800 })
  return browser
}

describe.skipIf(skip)('the wizard in Chromium against rackboot serve', () => {
  let dir = ''
  let net: NetnsPair | null = null
  let served: InNsServe | null = null
  let bridge: LoopbackBridge | null = null
  let browser: Browser | null = null
  let ui = ''

  beforeAll(async () => {
    buildCli()
    // npm test builds first; a run of this file alone after a renderer edit rebuilds. Never rebuild when the
    // build is current: other test files read out/renderer meanwhile and vite empties it before writing.
    if (rendererBuildIsStale()) {
      const built = spawnSync('npx', ['vite', 'build', '--config', 'renderer/vite.config.ts'], {
        stdio: 'ignore',
        timeout: 120_000,
      })
      if (built.status !== 0) throw new Error('building the renderer (vite build) failed')
    }
    dir = mkdtempSync(join(tmpdir(), 'rackboot-wizard-e2e-'))
    net = createNetnsPair({
      prefix: 'rbwz',
      serverAddress: '198.19.10.1/24',
      clientAddresses: ['198.19.10.2/24'],
    })
    const port = await freeLoopbackPort()
    // A short guard: the test powers nodes on one at a time, a few seconds apart, like an engineer would.
    const config = join(dir, 'config.json')
    writeFileSync(config, JSON.stringify({ captureGuardSeconds: 2 }))
    served = await serveInNs(
      net,
      [
        '--data-dir',
        join(dir, 'data'),
        '--interface',
        net.serverIf,
        '--dhcp-mode',
        'server',
        '--pool',
        '198.19.10.100-198.19.10.199',
        '--ui-port',
        String(port),
        '--config',
        config,
      ],
      60_000,
    )
    ui = served.ready.ui
    bridge = await bridgeLoopbackPort(net, port, dir)
    browser = await startBrowser()
  }, 240_000)

  afterAll(async () => {
    await browser?.deleteSession().catch(() => undefined)
    await bridge?.close()
    await served?.stop('SIGTERM')
    net?.destroy()
    if (dir) rmSync(dir, { recursive: true, force: true })
  }, 60_000)

  const b = () => browser!
  const shot = (name: string, on: Browser = b()) => on.saveScreenshot(join(SHOTS, `${name}.png`))
  const text = (selector: string) => b().$(selector).getText()
  const waitText = async (selector: string, pattern: RegExp, timeout = 30_000) => {
    let last = ''
    await b()
      .waitUntil(
        async () =>
          pattern.test(
            (last = await b()
              .$(selector)
              .getText()
              .catch(() => '')),
          ),
        { timeout },
      )
      .catch(() => {
        throw new Error(`${selector} never matched ${pattern}; last text: ${JSON.stringify(last)}`)
      })
    return last
  }

  /** busybox udhcpc speaking as BIOS PXE firmware (options 60 and 93) on `ifname`, giving up after two tries. */
  const udhcpcArgs = (ifname: string) => [
    'udhcpc',
    '-i',
    ifname,
    '-n',
    '-q',
    '-f',
    '-t',
    '2',
    '-T',
    '1',
    '-s',
    '/bin/true',
    '-V',
    PXE_BIOS,
    '-x',
    '0x5d:0000',
  ]

  /** One PXE DISCOVER (and whatever follows) from `mac`, sent by busybox udhcpc inside the client namespace. */
  function powerOn(mac: string): void {
    net!.exec('cli', 'ip', ['link', 'set', 'dev', net!.clientIf, 'address', mac])
    net!.exec('cli', 'busybox', udhcpcArgs(net!.clientIf), 20_000)
  }

  /** Several nodes powered on at the same moment: one macvlan per MAC, their udhcpc clients run together. */
  async function powerOnTogether(macs: string[]): Promise<void> {
    const runs = macs.map((mac, i) => {
      const ifname = `rbwz-m${i}`
      net!.exec('cli', 'ip', [
        'link',
        'add',
        'link',
        net!.clientIf,
        'name',
        ifname,
        'address',
        mac,
        'type',
        'macvlan',
        'mode',
        'bridge',
      ])
      net!.exec('cli', 'ip', ['link', 'set', ifname, 'up'])
      const child = net!.spawn('cli', 'busybox', udhcpcArgs(ifname))
      return new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve()
        else child.once('exit', () => resolve())
      })
    })
    await Promise.all(runs)
  }

  it('step 1: lists the namespace NICs; choosing the veth prefills subnet and pool, and saving moves on', async () => {
    await b().url(ui)
    const nic = b().$(`[data-nic="${net!.serverIf}"]`)
    await nic.waitForExist({ timeout: 30_000 })
    expect(await nic.getText()).toContain('198.19.10.1/24')
    await nic.$('input').click()
    expect(await b().$('#if-subnet').getValue()).toBe('198.19.10.0/24')
    expect(await b().$('#if-poolStart').getValue()).toBe('198.19.10.128')
    expect(await b().$('#if-poolEnd').getValue()).toBe('198.19.10.254')
    await waitText('[data-test="interface"]', new RegExp(net!.serverIf))
    await shot('interface-step')
    await b().$('.interface-step button[type="submit"]').click()
    await b().waitUntil(async () => (await b().getUrl()).includes('#/wizard/rack'), { timeout: 20_000 })
  })

  it('step 2: a bad IP plan is refused field by field; a good one creates r1 with three nodes', async () => {
    const set = async (id: string, value: string) => {
      const el = b().$(id)
      await el.waitForExist({ timeout: 20_000 })
      await el.clearValue()
      await el.setValue(value)
    }
    await set('#rk-name', 'r1')
    await set('#rk-heightU', '12')
    // The default pattern, {rack}n{01..}: r1n01, r1n02, …
    expect(await b().$('#rk-pattern').getValue()).toBe('{rack}n{01..}')
    await set('#rk-count', '3')
    const fixed = b().$('input[type="checkbox"]')
    if (!(await fixed.isSelected())) await fixed.click()
    await set('#rk-ipStart', '10.0.0.11')
    await waitText('[data-error-for="rk-ipStart"]', /198\.19\.10\.0\/24/)
    await shot('rack-step-errors')
    await set('#rk-ipStart', '198.19.10.11')
    await b().waitUntil(async () => (await b().$('[data-error-for="rk-ipStart"]').isExisting()) === false, {
      timeout: 20_000,
    })
    await b().$('[data-test="apply"]').waitForEnabled({ timeout: 20_000 })
    await b().$('[data-test="apply"]').click()
    await waitText('[data-test="applied"]', /Saved rack r1 with 3 new nodes/)
    await shot('rack-step')
  })

  it('step 3: the built-in image, a real import with progress, and r1 set to boot it', async () => {
    await b().$('[data-test="next"]').click()
    await b().$('#step-image-title').waitForExist({ timeout: 20_000 })
    // The rescue image is unpacked in the background at first start.
    await b().$('[data-image="rackboot-rescue"]').waitForExist({ timeout: 120_000 })
    expect(await text('[data-image="rackboot-rescue"]')).toContain('Built in')

    await b().$('[data-test="import-open"]').click()
    await b().$('#import-name').setValue('debian-rescue')
    await b().$('#import-kind').selectByAttribute('value', 'rootfs')
    await b().$('#import-rootfs').setValue('relative/path.tar.gz')
    await b().$('[data-test="import-submit"]').click()
    await waitText('[data-error-for="import-rootfs"]', /an absolute path/)
    await b().$('#import-rootfs').clearValue()
    await b().$('#import-rootfs').setValue(join(RESOURCES, 'does-not-exist.tar.gz'))
    await b().$('#import-kernel').setValue(join(RESOURCES, 'vmlinuz'))
    await b().$('#import-args').setValue('console=ttyS0,115200')
    await b().$('[data-test="import-submit"]').click()
    await waitText('[data-test="import-error"]', /does-not-exist/)
    await shot('image-step-import-error')
    await b().$('#import-rootfs').clearValue()
    await b().$('#import-rootfs').setValue(join(RESOURCES, 'rackboot-rescue.tar.gz'))
    await b().$('[data-test="import-submit"]').click()
    await b().$('[data-image="debian-rescue"]').waitForExist({ timeout: 180_000 })
    expect(await text('[data-test="image-notice"]')).toBe(
      "Imported image 'debian-rescue'. Assign it on the right.",
    )

    await b().$('#boot-scope').selectByAttribute('value', 'rack:r1')
    await b().$('#boot-image').selectByAttribute('value', 'debian-rescue')
    await b().$('#boot-args').clearValue()
    await b().$('#boot-args').setValue('rackboot.debug=1')
    await b().$('[data-test="boot-apply"]').click()
    await waitText('[data-test="boot-outcome"]', /Saved for rack r1: debian-rescue/)
    await waitText('[data-node="r1n03"]', /debian-rescue/)
    expect(await text('[data-node="r1n02"]')).toContain('console=ttyS0,115200 rackboot.debug=1')
    await shot('image-step')
  })

  it('step 4: a MAC list with garbage lines shows each problem and saves nothing', async () => {
    await b().$('[data-test="next"]').click()
    await b().$('#step-nodes-title').waitForExist({ timeout: 20_000 })
    await b().$('[data-test="mode-maclist"]').click()
    await b()
      .$('#maclist-text')
      .setValue(
        [
          '# vendor list, rack r1',
          '52:54:00:aa:00:01',
          'not a mac',
          '52-54-00-AA-00-01',
          'aabb.ccdd.ee',
        ].join('\n'),
      )
    await b().$('[data-test="maclist-check"]').click()
    const problems = await waitText('[data-test="maclist-problems"]', /line 3/)
    expect(problems).toMatch(/line 4/)
    expect(problems).toMatch(/line 5/)
    await shot('nodes-step-maclist-errors')
    // Nothing saved: every slot is still empty.
    await b().$('[data-test="mode-capture"]').click()
    expect(await text('[data-test="slot-list"]')).not.toContain('52:54:00:aa:00:01')
  })

  it('step 4: capture puts three DISCOVERing MACs in slots 1..3, and a reload in the middle loses nothing', async () => {
    await b().$('[data-test="capture-start"]').click()
    await waitText('[data-test="prompt"]', /slot 1/)
    await shot('nodes-step-capture-prompt')
    powerOn(MACS[0]!)
    await waitText('[data-node="r1n01"]', new RegExp(MACS[0]!))

    await b().refresh()
    await waitText('[data-node="r1n01"]', new RegExp(MACS[0]!))
    await waitText('[data-test="prompt"]', /slot 2/)

    for (const [i, mac] of MACS.entries()) {
      if (i === 0) continue
      // Past the capture guard, so each arrives alone (two inside it would be an ambiguity to resolve).
      await b().pause(2500)
      powerOn(mac)
      await waitText(`[data-node="r1n0${i + 1}"]`, new RegExp(mac))
    }
    const slots = await text('[data-test="slot-list"]')
    expect(slots).toMatch(new RegExp(`1\\s+r1n01\\s+${MACS[0]}`))
    expect(slots).toMatch(new RegExp(`2\\s+r1n02\\s+${MACS[1]}`))
    expect(slots).toMatch(new RegExp(`3\\s+r1n03\\s+${MACS[2]}`))
    // Let the one-off "just captured" flash of slot 3 finish, so the screenshot shows the settled step.
    await b().pause(2000)
    await shot('nodes-step-captured')
  })

  it('step 4: two nodes powered on at once pause capture; the engineer says which is in the slot', async () => {
    // A second rack: the Racks step drafts r2 (r2n01..r2n03) after r1.
    await b().$('a[data-step="rack"]').click()
    const count = b().$('#rk-count')
    await count.waitForExist({ timeout: 20_000 })
    await count.clearValue()
    await count.setValue('3')
    const apply = b().$('[data-test="apply"]')
    await b().waitUntil(
      async () => (await apply.getText()) === 'Create r2 with 3 nodes' && apply.isEnabled(),
      {
        timeout: 30_000,
        timeoutMsg: 'the Racks step never offered to create r2 with 3 nodes',
      },
    )
    await apply.click()
    await waitText('[data-test="applied"]', /Saved rack r2 with 3 new nodes/)
    await b().$('a[data-step="nodes"]').click()
    await waitText('[data-test="prompt"]', /rack r2 slot 1/)

    await powerOnTogether(TOGETHER)
    const panel = await waitText('[data-test="ambiguity"]', /Two nodes asked at once for r2n01/)
    for (const mac of TOGETHER) expect(panel).toContain(mac)
    // Let the one-off flash of the first assignment finish before the screenshot.
    await b().pause(2000)
    await shot('nodes-step-capture-ambiguity')
    // The label on the machine in slot 1 says TOGETHER[1]: put it first, the other goes to the next slot.
    const first = b().$(`[data-test="first-${TOGETHER[1]}"]`)
    if (await first.isEnabled()) await first.click()
    await b().$('[data-test="resolve"]').click()
    await waitText('[data-node="r2n01"]', new RegExp(TOGETHER[1]!))
    await waitText('[data-node="r2n02"]', new RegExp(TOGETHER[0]!))
    // The panel goes once the server's answer to the resolution arrives, which can come after the node rows
    // update: wait for it rather than check at once (CI saw it still there).
    await b().$('[data-test="ambiguity"]').waitForExist({ reverse: true, timeout: 20_000 })
  })

  /** What iPXE would fetch next, over the node's HTTP routes, from the client namespace (busybox wget). */
  function fetchBoot(mac: string, what: 'ipxe' | 'kernel' | 'image'): void {
    net!.exec(
      'cli',
      'timeout',
      ['60', 'busybox', 'wget', '-q', '-O', '/dev/null', `http://198.19.10.1:9873/${what}/${mac}`],
      70_000,
    )
  }

  it('step 5: the dashboard follows each node through DHCP, iPXE script, kernel and image, with bytes', async () => {
    await b().$('[data-test="next"]').click()
    await b().$('[data-test="node-table"]').waitForExist({ timeout: 20_000 })
    for (const mac of MACS) await waitText('[data-test="node-table"]', new RegExp(mac))
    expect(await text('[data-test="node-table"]')).toMatch(/r1n01[\s\S]*198\.19\.10\.11/)
    // The nodes boot on: r1n01 and r1n02 all the way to the image, r1n03 only as far as DHCP.
    for (const [i, mac] of MACS.entries()) {
      powerOn(mac)
      if (i < 2) for (const what of ['ipxe', 'kernel', 'image'] as const) fetchBoot(mac, what)
    }
    const stage = (node: string, s: string) => `[data-node="${node}"] [data-stage="${s}"]`
    await b().waitUntil(
      async () => (await b().$(stage('r1n02', 'image')).getAttribute('data-status')) === 'done',
      {
        timeout: 30_000,
        timeoutMsg: 'r1n02 image stage never done',
      },
    )
    expect(await b().$(stage('r1n01', 'kernel')).getText()).toMatch(/MiB/)
    // wget went from DHCP straight to HTTP, like an iPXE ROM: TFTP is shown skipped, not done.
    expect(await b().$(stage('r1n01', 'tftp')).getAttribute('data-status')).toBe('skipped')
    expect(await b().$(stage('r1n03', 'dhcp')).getAttribute('data-status')).toBe('done')
    expect(await b().$(stage('r1n03', 'kernel')).getAttribute('data-status')).toBe('pending')
    // The counters are polled: wait for the six HTTP requests just made.
    await waitText('[data-service="http"]', /requests\s+6\b/)
    expect(await text('[data-service="http"]')).toMatch(/bytesSent\s+1\d MiB/)
    await shot('dashboard')
  })

  it('keyboard: Tab walks the Image step in reading order, every stop with a visible focus ring', async () => {
    await b().$('a[data-step="image"]').click()
    await b().$('[data-image="debian-rescue"]').waitForExist({ timeout: 20_000 })
    // Start from the step's link in the wizard's step list, as a keyboard user arriving there would.
    await b().execute('document.querySelector(\'a[data-step="image"]\').focus()')
    const stops: { id: string; outline: string }[] = []
    for (let i = 0; i < 30; i++) {
      await b().keys(['Tab'])
      stops.push(
        (await b().execute(`
          const e = document.activeElement
          const s = getComputedStyle(e)
          return {
            id: e.id || e.getAttribute('data-test') || e.getAttribute('data-step') || e.getAttribute('aria-label') || e.textContent.trim(),
            outline: s.outlineStyle + ' ' + s.outlineWidth,
          }
        `)) as unknown as { id: string; outline: string },
      )
      if (stops.at(-1)!.id === 'next') break
      if (stops.at(-1)!.id === 'boot-args') await shot('image-step-keyboard-focus')
    }
    const ids = stops.map((s) => s.id)
    const order = [
      'import-open',
      'boot-scope',
      'boot-image',
      'boot-args',
      'boot-apply',
      'Change r1n01',
      'next',
    ]
    expect(ids.filter((id) => order.includes(id))).toEqual(order)
    // The remove button of an image nodes boot is disabled, so Tab skips it.
    expect(ids).not.toContain('Remove image debian-rescue')
    for (const s of stops) expect(s.outline, `focus ring on ${s.id}`).toBe('solid 3px')
  })

  it('dark theme (a second browser, as a system in dark mode): every step', async () => {
    const dark = await startBrowser(true)
    try {
      for (const [step, ready, name] of [
        ['interface', '[data-nic="rbwz-v0"]', 'interface-step-dark'],
        // A new window on the Racks step drafts the next rack (r2) next to r1.
        ['rack', '[data-test="preview"]', 'rack-step-dark'],
        ['nodes', '[data-node="r2n01"]', 'nodes-step-dark'],
        ['image', '[data-image="debian-rescue"]', 'image-step-dark'],
        ['dashboard', '[data-test="node-table"]', 'dashboard-dark'],
      ] as const) {
        await dark.url(`${ui.replace(/#.*$/, '')}#/wizard/${step}`)
        await dark.$(ready).waitForExist({ timeout: 30_000 })
        if (step === 'dashboard') {
          // r1n03 boots on while this window watches.
          powerOn(MACS[2]!)
          for (const what of ['ipxe', 'kernel', 'image'] as const) fetchBoot(MACS[2]!, what)
          await dark.waitUntil(
            async () =>
              (await dark.$('[data-node="r1n03"] [data-stage="image"]').getAttribute('data-status')) ===
              'done',
            { timeout: 30_000, timeoutMsg: 'r1n03 image stage never done in the dark window' },
          )
        }
        const bg = await dark.execute('return getComputedStyle(document.documentElement).backgroundColor')
        expect(bg).toBe('rgb(15, 18, 22)')
        await shot(name, dark)
      }
    } finally {
      await dark.deleteSession()
    }
  })
})
