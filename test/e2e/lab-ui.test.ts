/**
 * The virtual rack's UI from the host (root, QEMU TCG): `lab up --ui` makes the lab serve's UI/API, which
 * listens on 127.0.0.1 inside the lab's server namespace, reachable on the host's 127.0.0.1 at the same port
 * through the recorded bridge. Through that URL and its token: `lab/status`, `lab/power` on, the node reaching
 * DHCP or further, power off; then `lab down` leaves no namespace, process, socket or listening port.
 * Names: prefix `rbvr`, lab id 210, addresses 198.19.210.0/24.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { remote } from 'webdriverio'
import { missing } from '../support/env'
import { buildCli } from '../support/cli'
import { BOOT_MS, alive, labFixture, namespaces } from '../support/lab'

const skip = missing({ root: true, commands: ['qemu-system-x86_64', 'ip'], files: ['/usr/lib/ipxe'] })
const CHROMIUM = '/usr/bin/chromium'
const CHROMEDRIVER = '/usr/bin/chromedriver'
const skipBrowser = skip ?? missing({ files: [CHROMIUM, CHROMEDRIVER] })

interface LabStatusView {
  interface: string
  serveRunning: boolean
  pending: number[]
  nodes: Array<{
    slot: number
    mac: string
    running: boolean
    stage: string
    bootStage: string | null
    bootState: string
    lastLine: string
  }>
}

/** True when something accepts TCP connections on 127.0.0.1:port of this (the host's) namespace. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}

describe.skipIf(skip)('rackboot lab up --ui (the virtual rack from the host)', () => {
  const lab = labFixture({ prefix: 'rbvr', id: 210, subnet: '198.19.210.0/24' })
  beforeAll(() => buildCli(), 300_000)
  afterAll(() => lab.close(), 120_000)

  it(
    'lab/status and lab/power through the bridged host URL, the node boots to DHCP, lab down leaves nothing',
    async () => {
      // Two slots: the second is only ever started by the interval power-on that `lab down` interrupts.
      const out = lab.up(2, '--ui')
      const m = /^rackboot lab ready (\{.*\})$/m.exec(out)
      expect(m, out).not.toBeNull()
      const ui = new URL((JSON.parse(m![1]!) as { ui: string }).ui)
      expect(ui.hostname).toBe('127.0.0.1')
      const token = ui.searchParams.get('token')!
      expect(token).toBeTruthy()
      const port = Number(ui.port)
      const state = JSON.parse(readFileSync(join(lab.dataDir(), 'lab', 'state.json'), 'utf8')) as {
        ui: { port: number; socket: string }
        processes: Array<{ role: string; pid: number }>
      }
      expect(state.ui.port).toBe(port)
      const bridge = state.processes.find((p) => p.role === 'ui-bridge')!
      const serve = state.processes.find((p) => p.role === 'serve')!
      expect(alive(bridge.pid)).toBe(true)

      const call = async (channel: string, request: unknown, auth = true) => {
        const res = await fetch(`${ui.origin}/api/${channel}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(auth ? { authorization: `Bearer ${token}` } : {}),
          },
          body: JSON.stringify(request),
        })
        return { status: res.status, body: (await res.json()) as { ok: boolean; value?: unknown } }
      }
      // The bridge passes bytes, not trust: without the token the serve refuses as it does inside.
      expect((await call('lab/status', {}, false)).status).toBe(401)

      const first = await call('lab/status', {})
      expect(first.body.ok).toBe(true)
      const view = first.body.value as LabStatusView
      expect(view.interface).toBe('rbvr-s')
      expect(view.serveRunning).toBe(true)
      expect(view.nodes).toEqual([
        expect.objectContaining({ slot: 1, mac: '52:54:00:d2:00:01', running: false }),
        expect.objectContaining({ slot: 2, mac: '52:54:00:d2:00:02', running: false }),
      ])
      // The same serve's wizard lists that interface (named "Virtual rack" in the UI).
      const nics = (await call('net/interfaces', {})).body.value as Array<{ name: string }>
      expect(nics.map((n) => n.name)).toContain('rbvr-s')

      expect((await call('lab/power', { slot: 1, on: true })).body).toEqual({
        ok: true,
        value: { slots: [1], pending: [] },
      })
      let last: LabStatusView = view
      const reachedDhcp = () =>
        last.nodes[0]!.running && last.nodes[0]!.bootStage !== null && last.nodes[0]!.bootStage !== 'power-on'
      // Bounded: one lab/status a second through the bridge, for BOOT_MS at most.
      for (let i = 0; i < BOOT_MS / 1000 && !reachedDhcp(); i++) {
        await new Promise((r) => setTimeout(r, 1000))
        last = (await call('lab/status', {})).body.value as LabStatusView
      }
      expect(
        reachedDhcp(),
        `${JSON.stringify(last, null, 2)}\n--- console:\n${lab.console(1)}\n--- serve.log:\n${lab.serveLog().slice(-3000)}`,
      ).toBe(true)

      expect((await call('lab/power', { slot: 'all', on: false })).body).toEqual({
        ok: true,
        value: { slots: [1], pending: [] },
      })
      last = (await call('lab/status', {})).body.value as LabStatusView
      expect(last.nodes[0]!.running).toBe(false)

      // An interval power-on still going when the lab goes down: down stops the serve (and its sequence)
      // first, so no node starts after the nodes were stopped.
      expect((await call('lab/power', { slot: 'all', on: true, intervalS: 2 })).body).toEqual({
        ok: true,
        value: { slots: [1], pending: [2] },
      })
      expect(lab.cli('lab', 'down')).toContain('lab removed')
      const qemus = readdirSync('/proc')
        .filter((d) => /^[0-9]+$/.test(d))
        .map((d) => {
          try {
            return readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ')
          } catch {
            return ''
          }
        })
        .filter((c) => c.includes('ifname=rbvr-t'))
      expect(qemus).toEqual([])
      expect(namespaces().filter((n) => n.startsWith('rbvr-'))).toEqual([])
      for (const p of state.processes) expect(alive(p.pid), `${p.role} ${p.pid}`).toBe(false)
      expect(alive(serve.pid)).toBe(false)
      expect(existsSync(state.ui.socket)).toBe(false)
      expect(await listening(port)).toBe(false)
    },
    BOOT_MS + 240_000,
  )
})

describe.skipIf(skipBrowser)('the Virtual rack panel in Chromium, through the bridge', () => {
  // Second lab of this suite: its own id and subnet (the first one is down by now).
  const lab = labFixture({ prefix: 'rbvr', id: 211, subnet: '198.19.211.0/24' })
  let browser: WebdriverIO.Browser | null = null
  beforeAll(() => buildCli(), 300_000)
  afterAll(async () => {
    await browser?.deleteSession().catch(() => undefined)
    lab.close()
  }, 120_000)

  it(
    'the wizard names the lab interface; the dashboard powers slot 1 on and shows it boot, then off',
    async () => {
      const m = /^rackboot lab ready (\{.*\})$/m.exec(lab.up(1, '--ui'))
      expect(m).not.toBeNull()
      const ui = (JSON.parse(m![1]!) as { ui: string }).ui
      browser = await remote({
        logLevel: 'warn',
        capabilities: {
          browserName: 'chrome',
          'goog:chromeOptions': {
            binary: CHROMIUM,
            args: ['--headless=new', '--no-sandbox', '--disable-dev-shm-usage', '--window-size=1280,900'],
          },
          'wdio:chromedriverOptions': { binary: CHROMEDRIVER },
        },
      })
      const b = browser
      await b.url(`${ui}#/wizard/interface`)
      const nic = b.$('[data-nic="rbvr-s"] [data-test="virtual-rack-nic"]')
      await nic.waitForExist({ timeout: 30_000 })
      expect(await nic.getText()).toBe('Virtual rack (1 QEMU node)')

      await b.url(`${ui}#/dashboard`)
      const panel = b.$('[data-test="virtual-rack"]')
      await panel.waitForExist({ timeout: 30_000 })
      expect(await b.$('[data-test="virtual-rack"] h3').getText()).toContain('Virtual rack (1 QEMU node)')
      await b.$('tr[data-slot="1"] [data-test="lab-on"]').click()
      await b.$('tr[data-slot="1"] [data-test="lab-off"]').waitForExist({ timeout: 30_000 })
      // The panel refreshes by itself: the stage leaves 'off' and the console shows the firmware talking.
      const stage = () => b.$('tr[data-slot="1"] [data-test="lab-stage"]').getText()
      const consoleLine = () => b.$('tr[data-slot="1"] [data-test="lab-console"]').getText()
      await b.waitUntil(
        async () => /^(dhcp|tftp|ipxe|kernel|image|overlays|bootstrap|agent|sbin)/.test(await stage()),
        {
          timeout: BOOT_MS,
          interval: 1000,
          timeoutMsg: `slot 1 never reached DHCP in the panel:\n${lab.console(1)}`,
        },
      )
      expect(await consoleLine()).not.toBe('—')
      await b.$('tr[data-slot="1"] [data-test="lab-off"]').click()
      await b.$('tr[data-slot="1"] [data-test="lab-on"]').waitForExist({ timeout: 30_000 })
      expect(lab.status().nodes[0]!.running).toBe(false)
    },
    BOOT_MS + 240_000,
  )
})
