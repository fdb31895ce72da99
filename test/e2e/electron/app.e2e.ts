/**
 * The real app opens a window from the built renderer, shows the boot stack's status bar, and its main
 * process is Electron (checked through the service's `browser.electron.execute`). Runs under wdio
 * (electron-e2e workflow); mocha's describe/it are globals there.
 */
/// <reference types="mocha" />
import { $, browser } from '@wdio/globals'
import type {} from 'wdio-electron-service'

describe('Rackboot window', () => {
  it('opens with its title', async () => {
    const title = await browser.getTitle()
    if (title !== 'Rackboot') throw new Error(`window title is '${title}', expected 'Rackboot'`)
  })

  it('shows the boot stack status bar', async () => {
    const bar = $('footer.status-bar[role="status"]')
    await bar.waitForDisplayed({ timeout: 30_000 })
    const text = await bar.getText()
    if (text.trim().length === 0) throw new Error('the status bar is empty')
  })

  it('runs the packaged main process, not a browser', async () => {
    const name = await browser.electron.execute((electron) => electron.app.getName())
    if (typeof name !== 'string' || name.length === 0) throw new Error(`app.getName() gave ${String(name)}`)
  })
})
