import { describe, it, expect } from 'vitest'
import { spawnSync } from 'node:child_process'
import { INIT_SCRIPT } from '../../electron/core/images/bootstrap/init-script'
import { AGENT_SCRIPT } from '../../electron/core/images/bootstrap/agent-script'
import { decodeAgentReport, AGENT_REPORT_MAX_BYTES } from '../../electron/core/images/bootstrap/report'
import { overlayAccessDenied } from '../../electron/core/images/overlays/access'
import { missing } from '../support/env'

const scripts = { init: INIT_SCRIPT, agent: AGENT_SCRIPT }

describe('bootstrap and agent scripts', () => {
  for (const [name, text] of Object.entries(scripts)) {
    it.skipIf(missing({ commands: ['busybox', 'dash'] }))(`${name} parses under busybox sh and dash`, () => {
      for (const sh of [['busybox', 'sh'], ['dash']]) {
        const r = spawnSync(sh[0]!, [...sh.slice(1), '-n'], { input: text })
        expect(r.stderr.toString()).toBe('')
        expect(r.status).toBe(0)
      }
    })
    // .ci/install brings shellcheck; elsewhere a missing one skips loudly.
    it.skipIf(missing({ commands: ['shellcheck'] }) !== null)(`${name} passes shellcheck -s sh`, () => {
      const r = spawnSync('shellcheck', ['-s', 'sh', '-e', 'SC1090,SC1091', '-'], { input: text })
      expect(r.stdout.toString()).toBe('')
    })
    it(`${name} starts with a shebang and has no CR`, () => {
      expect(text.startsWith('#!/bin/sh\n')).toBe(true)
      expect(text).not.toContain('\r\n')
    })
  }
  it('a syntax error would be caught (the check is live)', () => {
    const r = spawnSync('dash', ['-n'], { input: `${INIT_SCRIPT}\nif true; then\n` })
    expect(r.status).not.toBe(0)
  })
})

describe('overlay access', () => {
  const node = { name: 'n1', ipv4: '198.18.0.11', assetKey: null }
  const peer = { address: '198.18.0.11', port: 40000, assetKey: null }
  it.each([
    ['system from the node', node, 'system', peer, null],
    ['IPv4-mapped address', node, 'system', { ...peer, address: '::ffff:198.18.0.11' }, null],
    [
      'another address',
      node,
      'system',
      { ...peer, address: '198.18.0.12' },
      /served only to 198.18.0.11, not 198.18.0.12/,
    ],
    ['no reserved address', { ...node, ipv4: null }, 'system', peer, /has no reserved IPv4/],
    ['runtime from a high port', node, 'runtime', peer, /privileged source port/],
    ['runtime from port 987', node, 'runtime', { ...peer, port: 987 }, null],
    ['runtime from port 1024', node, 'runtime', { ...peer, port: 1024 }, /privileged/],
    ['asset key missing', { ...node, assetKey: 'k' }, 'system', peer, /asset key missing or wrong/],
    ['asset key wrong', { ...node, assetKey: 'k' }, 'system', { ...peer, assetKey: 'x' }, /asset key/],
    ['asset key right', { ...node, assetKey: 'k' }, 'system', { ...peer, assetKey: 'k' }, null],
  ] as const)('%s', (_, n, kind, p, expected) => {
    const why = overlayAccessDenied(n, kind, p)
    if (expected === null) expect(why).toBeNull()
    else expect(why).toMatch(expected)
  })
})

describe('agent report decoding', () => {
  const good = {
    stage: 'up',
    hostname: 'n1',
    cpus: 2,
    cpuModel: 'x',
    memoryKiB: 1024,
    disks: [{ name: 'vda', sizeBytes: 512, model: '' }],
    nics: [{ name: 'eth0', mac: '52:54:00:00:00:01', speedMbps: null, operstate: 'up' }],
    dmi: { vendor: 'QEMU', model: 'Standard PC', serial: '' },
  }
  it('takes a full report and a bare stage', () => {
    const r = decodeAgentReport(Buffer.from(JSON.stringify(good)))
    expect(r.ok && r.value.nics?.[0]?.mac).toBe('52:54:00:00:00:01')
    const s = decodeAgentReport(Buffer.from('{"stage":"init","message":"hi"}'))
    expect(s).toEqual({ ok: true, value: { stage: 'init', message: 'hi' } })
  })
  it.each([
    ['not JSON', '{"stage":', /not JSON/],
    ['unknown stage', '{"stage":"pwned"}', /stage/],
    ['unknown field', '{"stage":"up","extra":1}', /extra|Unrecognized/i],
    ['negative count', '{"stage":"up","cpus":-1}', /cpus/],
    [
      'oversize',
      JSON.stringify({ stage: 'up', message: 'x'.repeat(AGENT_REPORT_MAX_BYTES) }),
      /limit is 65536/,
    ],
  ])('refuses %s', (_, body, reason) => {
    const r = decodeAgentReport(Buffer.from(body))
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error).toMatch(reason)
  })
})
