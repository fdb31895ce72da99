/**
 * Editing a node's BMC after the plan: nodes/set-bmc through dispatch on a real store in a temp dir, and
 * `rackboot nodes set` in-process on the same kind of store. Refusals use the rack plan's checks and words.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Rackboot } from '../../electron/core/rackboot'
import { dispatch } from '../../electron/core/api/dispatch'
import { run } from '../../electron/cli/main'
import { bmcRequest } from '../../electron/cli/nodes-set'
import type { Node } from '../../electron/core/inventory/schema'
import { planRack, planRequestSchema, describePlanIssues } from '../../electron/core/inventory/plan'

let dir: string
let core: Rackboot

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rackboot-set-bmc-'))
  core = await Rackboot.open({ dataDir: dir })
  await core.repo.updateSettings({ subnet: '198.18.0.0/24', gateway: '198.18.0.1' })
  await core.repo.applyPlan({
    rack: { name: 'r1', heightU: 42, numbering: 'bottom-up' },
    pattern: 'n{01..}',
    count: 3,
    firstSlot: 1,
    nodeHeightU: 1,
    ip: { start: '198.18.0.11', rackOffset: 0 },
    bmc: { start: '198.18.0.101', rackOffset: 0, user: 'admin' },
  })
})
afterEach(async () => {
  await core.close()
  await rm(dir, { recursive: true, force: true })
})

const bmcs = () => core.repo.listNodes().map((n) => [n.name, n.bmc.ipv4, n.bmc.user])
const onDisk = async (name: string) =>
  (
    JSON.parse(await readFile(join(dir, 'db.json'), 'utf8')) as {
      nodes: { name: string; bmc: { ipv4: string | null; user: string | null } }[]
    }
  ).nodes.find((n) => n.name === name)?.bmc

describe('nodes/set-bmc', () => {
  it('sets the address and user, leaves what the request leaves out, and keeps it on disk', async () => {
    const r = await dispatch(core.handlers, 'nodes/set-bmc', {
      name: 'n02',
      bmc: { ipv4: '198.18.0.202', user: 'root' },
    })
    expect(r.ok && (r.value as Node).bmc).toEqual({ ipv4: '198.18.0.202', user: 'root' })
    await dispatch(core.handlers, 'nodes/set-bmc', { name: 'n03', bmc: { user: 'ops' } })
    expect(bmcs()).toEqual([
      ['n01', '198.18.0.101', 'admin'],
      ['n02', '198.18.0.202', 'root'],
      ['n03', '198.18.0.103', 'ops'],
    ])
    expect(await onDisk('n02')).toEqual({ ipv4: '198.18.0.202', user: 'root' })
  })

  it('null clears a field; both null clears the BMC', async () => {
    await dispatch(core.handlers, 'nodes/set-bmc', { name: 'n01', bmc: { user: null } })
    await dispatch(core.handlers, 'nodes/set-bmc', { name: 'n02', bmc: { ipv4: null, user: null } })
    expect(bmcs().slice(0, 2)).toEqual([
      ['n01', '198.18.0.101', null],
      ['n02', null, null],
    ])
    expect(await onDisk('n02')).toEqual({ ipv4: null, user: null })
  })

  it('a node may keep its own BMC address, and take one another node gave up', async () => {
    expect(
      (await dispatch(core.handlers, 'nodes/set-bmc', { name: 'n01', bmc: { ipv4: '198.18.0.101' } })).ok,
    ).toBe(true)
    await dispatch(core.handlers, 'nodes/set-bmc', { name: 'n02', bmc: { ipv4: null } })
    expect(
      (await dispatch(core.handlers, 'nodes/set-bmc', { name: 'n01', bmc: { ipv4: '198.18.0.102' } })).ok,
    ).toBe(true)
  })

  it.each([
    ['198.18.0.12', "node 'n01' bmc.ipv4: BMC address 198.18.0.12 is already the IPv4 of 'n02'"],
    ['198.18.0.11', "node 'n01' bmc.ipv4: BMC address 198.18.0.11 is already the IPv4 of 'n01'"],
    ['198.18.0.103', "node 'n01' bmc.ipv4: BMC address 198.18.0.103 is already the BMC address of 'n03'"],
    ['198.18.0.1', "node 'n01' bmc.ipv4: BMC address 198.18.0.1 is already the gateway"],
  ])('refuses %s with a conflict naming node and field, changing nothing', async (ip, message) => {
    const before = bmcs()
    const r = await dispatch(core.handlers, 'nodes/set-bmc', { name: 'n01', bmc: { ipv4: ip, user: 'x' } })
    expect(r.ok ? null : r.error).toEqual({ code: 'conflict', message })
    expect(bmcs()).toEqual(before)
  })

  it('the rack plan refuses the same clashes with the same words', () => {
    const p = planRack(
      core.repo.db,
      planRequestSchema.parse({
        rack: { name: 'r2', heightU: 42, numbering: 'bottom-up' },
        pattern: 'm{01..}',
        count: 1,
        firstSlot: 1,
        nodeHeightU: 1,
        ip: null,
        bmc: { start: '198.18.0.1', rackOffset: 0, user: null },
      }),
    )
    expect(describePlanIssues(p)).toEqual(['m01 bmc: BMC address 198.18.0.1 is already the gateway'])
  })

  it.each([
    [{ name: 'zz', bmc: { ipv4: '198.18.0.50' } }, 'not-found', "no node named 'zz'"],
    [{ name: 'n01', bmc: { ipv4: '198.18.0.300' } }, 'bad-request', 'bmc.ipv4: an IPv4 address'],
    [{ name: 'n01', bmc: { user: '' } }, 'bad-request', 'bmc.user: a BMC user name'],
    [{ name: 'n01', bmc: { user: 'x'.repeat(65) } }, 'bad-request', 'bmc.user: at most 64 characters'],
    [{ name: 'n01', bmc: {} }, 'bad-request', 'give ipv4, user or both'],
    [{ name: 'n01', bmc: { ipv4: '198.18.0.50', password: 'x' } }, 'bad-request', 'password'],
  ])('refuses %j', async (request, code, message) => {
    const before = bmcs()
    const r = await dispatch(core.handlers, 'nodes/set-bmc', request)
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.error.code).toBe(code)
    expect([r.error.message, ...(r.error.details ?? [])].join('\n')).toContain(message)
    expect(bmcs()).toEqual(before)
  })
})

describe('rackboot nodes set', () => {
  async function cli(...args: string[]) {
    // The CLI opens the data dir itself: the test's core lets go of it first.
    let out = ''
    let err = ''
    const code = await run(['nodes', 'set', ...args, '--data-dir', dir], {
      stdout: (t) => (out += t),
      stderr: (t) => (err += t),
      env: {},
    })
    return { code, out, err }
  }
  const reopen = async () => {
    core = await Rackboot.open({ dataDir: dir })
    return bmcs()
  }

  it('sets, clears one field with an empty value, and clears both with --no-bmc', async () => {
    await core.close()
    expect(await cli('n02', '--bmc-ip', '198.18.0.222', '--bmc-user', 'root')).toEqual({
      code: 0,
      out: 'n02 BMC: 198.18.0.222 (user root)\n',
      err: '',
    })
    expect((await cli('n01', '--bmc-user', '')).out).toBe('n01 BMC: 198.18.0.101\n')
    expect((await cli('n03', '--no-bmc')).out).toBe('n03 BMC: none\n')
    expect(await reopen()).toEqual([
      ['n01', '198.18.0.101', null],
      ['n02', '198.18.0.222', 'root'],
      ['n03', null, null],
    ])
  })

  it('a clash exits 1 naming node and field; bad flags exit 2 naming the flag; nothing changes', async () => {
    await core.close()
    const clash = await cli('n01', '--bmc-ip', '198.18.0.12')
    expect(clash.code).toBe(1)
    expect(clash.err).toContain("node 'n01' bmc.ipv4: BMC address 198.18.0.12 is already the IPv4 of 'n02'")
    const bad = await cli('n01', '--bmc-ip', '10.0.0.256')
    expect(bad.code).toBe(2)
    expect(bad.err).toContain("node 'n01' --bmc-ip '10.0.0.256': an IPv4 address")
    expect((await cli('n01')).err).toContain("nothing to set on node 'n01'")
    expect((await cli('n01', '--no-bmc', '--bmc-ip', '198.18.0.50')).code).toBe(2)
    const missing = await cli('zz', '--bmc-user', 'root')
    expect([missing.code, missing.err]).toEqual([1, "rackboot: no node named 'zz'\n"])
    expect(await reopen()).toEqual([
      ['n01', '198.18.0.101', 'admin'],
      ['n02', '198.18.0.102', 'admin'],
      ['n03', '198.18.0.103', 'admin'],
    ])
  })

  it('bmcRequest: flags to the contract request', () => {
    expect(bmcRequest('n1', { bmcIp: '10.0.0.5' })).toEqual({ name: 'n1', bmc: { ipv4: '10.0.0.5' } })
    expect(bmcRequest('n1', { bmcIp: '', bmcUser: 'a' })).toEqual({
      name: 'n1',
      bmc: { ipv4: null, user: 'a' },
    })
    expect(bmcRequest('n1', { bmc: false })).toEqual({ name: 'n1', bmc: { ipv4: null, user: null } })
    expect(() => bmcRequest('n1', { bmc: true })).toThrow('give --bmc-ip, --bmc-user or --no-bmc')
  })
})
