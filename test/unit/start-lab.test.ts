/** `npm start -- --lab`: what it says a machine lacks, which arguments go to `lab up`, and the UI line it reads. */
import { describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { labArgs, labReadyUrl, labRequirements } from '../../build/start-lab.mjs'

describe('npm start -- --lab', () => {
  it('names each missing requirement with how to get it, and nothing on a ready machine', () => {
    const none = () => false
    expect(labRequirements({ platform: 'darwin', uid: 0, has: () => true })).toEqual([
      expect.stringContaining('Linux'),
    ])
    const lacks = labRequirements({ platform: 'linux', uid: 1000, has: none })
    expect(lacks).toHaveLength(3)
    expect(lacks[0]).toMatch(/^root .*sudo npm start -- --lab/)
    expect(lacks[1]).toMatch(/^qemu-system-x86_64 .*apt-get install qemu-system-x86/)
    expect(lacks[2]).toMatch(/^ip from iproute2/)
    expect(labRequirements({ platform: 'linux', uid: 0, has: () => true })).toEqual([])
  })

  it('passes lab up options through, keeps --data-dir for itself and defaults to 3 nodes', () => {
    expect(labArgs(['--nodes', '2'])).toBeNull()
    expect(labArgs(['--lab'], { XDG_DATA_HOME: '/x' })).toEqual({
      dataDir: '/x/rackboot-lab',
      up: ['--nodes', '3'],
    })
    expect(labArgs(['--lab', '--nodes', '5', '--firmware', 'mixed', '--data-dir', '/d'], {})).toEqual({
      dataDir: '/d',
      up: ['--nodes', '5', '--firmware', 'mixed'],
    })
    expect(labArgs(['--lab', '--data-dir=/e'], { RACKBOOT_LAB_DATA_DIR: '/r' })?.dataDir).toBe('/e')
    expect(labArgs(['--lab'], { RACKBOOT_LAB_DATA_DIR: '/r' })?.dataDir).toBe('/r')
  })

  it('reads the UI address only from the lab ready line', () => {
    const url = 'http://127.0.0.1:4000/?token=ab'
    expect(labReadyUrl(`rackboot lab ready ${JSON.stringify({ ui: url, nodes: 1 })}`)).toBe(url)
    expect(labReadyUrl(`rackboot ready ${JSON.stringify({ ui: url })}`)).toBeNull()
    expect(labReadyUrl('rackboot lab ready {not json')).toBeNull()
  })

  it('a machine that lacks what the lab needs says so and starts nothing', () => {
    // PATH without qemu and ip: the message names them whatever this machine has installed. (Not run as
    // another user for the root check: a CI checkout in a private temp dir is unreadable to them; the root
    // requirement is covered by labRequirements above.)
    const r = spawnSync(process.execPath, ['build/start.mjs', '--lab'], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, PATH: '/nonexistent' },
    })
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('the virtual rack cannot start here')
    expect(r.stderr).toContain('qemu-system-x86_64')
    expect(r.stderr).toContain('ip from iproute2')
    expect(r.stderr).not.toContain('rackboot lab up')
  })
})
