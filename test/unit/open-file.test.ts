/** Files the OS opens with Rackboot: which argv entries are ours, and holding them until the page listens. */
import { describe, expect, it } from 'vitest'
import { createFileOpener, type OpenerEvent } from '../../electron/main/open-file/file-opener'
import { macsPathsFromArgv } from '../../electron/main/open-file/macs-file'
import { err, ok } from '../../electron/core/util/result'

describe('macsPathsFromArgv', () => {
  it('takes .macs arguments after the executable, resolved against the start directory', () => {
    expect(
      macsPathsFromArgv(
        ['/opt/Rackboot/rackboot', '--no-sandbox', 'a.macs', '/data/B.MACS', '.', 'c.csv', '--x=y.macs'],
        '/home/fe',
      ),
    ).toEqual(['/home/fe/a.macs', '/data/B.MACS'])
    expect(macsPathsFromArgv(['/tmp/evil.macs'], '/')).toEqual([])
  })
})

describe('createFileOpener', () => {
  it('holds files and notices until the page is loaded, then sends them in the order opened', async () => {
    const sent: OpenerEvent[] = []
    const opener = createFileOpener({
      read: async (path) =>
        path.endsWith('bad.macs') ? err('bad.macs holds no MAC address') : ok({ name: path, text: 'x' }),
      send: (e) => sent.push(e),
    })
    opener.open('one.macs')
    opener.open('bad.macs')
    await opener.idle()
    expect(sent).toEqual([])
    opener.windowReady()
    expect(sent).toEqual([
      { event: 'import/macs-file', payload: { name: 'one.macs', text: 'x' } },
      {
        event: 'app/notice',
        payload: { level: 'error', message: 'Could not open the MAC list: bad.macs holds no MAC address.' },
      },
    ])
    opener.open('two.macs')
    await opener.idle()
    expect(sent).toHaveLength(3)
    // A reloading page holds again.
    opener.windowGone()
    opener.open('three.macs')
    await opener.idle()
    expect(sent).toHaveLength(3)
    opener.windowReady()
    expect(sent.at(-1)).toEqual({ event: 'import/macs-file', payload: { name: 'three.macs', text: 'x' } })
  })

  it('keeps at most 16 waiting events', async () => {
    const sent: OpenerEvent[] = []
    const opener = createFileOpener({
      read: async (p) => ok({ name: p, text: '' }),
      send: (e) => sent.push(e),
    })
    for (let i = 0; i < 40; i++) opener.open(`${i}.macs`)
    await opener.idle()
    opener.windowReady()
    expect(sent).toHaveLength(16)
  })
})
