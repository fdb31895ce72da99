/**
 * The real app opens a window from the built renderer and shows the boot stack's status bar. Runs under
 * wdio (electron-e2e workflow); `browser`, `$` and `expect` are wdio globals.
 */
interface WdioElement {
  waitForDisplayed(options: { timeout: number }): Promise<true | void>
  getText(): Promise<string>
}
declare const browser: { getTitle(): Promise<string> }
declare const $: (selector: string) => WdioElement
declare function describe(name: string, fn: () => void): void
declare function it(name: string, fn: () => Promise<void>): void

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
})
