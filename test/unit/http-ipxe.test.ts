import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  type NodeScriptInput,
  DEFAULT_NODE_TEMPLATE,
  checkNodeTemplate,
  ipxeBootFileUrl,
  parsePlatform,
  renderNodeScript,
  waitScript,
} from '../../electron/core/boot/http/ipxe'
import { renderTemplate } from '../../electron/core/boot/http/template'

const fixture = (name: string) => readFileSync(join(__dirname, '../fixtures/ipxe', name), 'utf8')

const node = {
  name: 'n1',
  macs: ['52:54:00:00:00:01'],
  ipv4: '198.18.0.11',
  image: 'rocky9',
  kernelArgs: 'console=ttyS0 quiet',
  assetKey: null,
}
const input: NodeScriptInput = {
  mac: '52:54:00:00:00:01',
  node,
  kernelArgs: node.kernelArgs,
  baseUrl: 'http://198.18.0.1:9873',
  platform: 'efi',
  artifacts: ['kernel', 'image', 'system', 'runtime'],
  retries: 5,
  retryDelaySeconds: 3,
}
const value = (r: { ok: true; value: string } | { ok: false; error: string }) => {
  if (!r.ok) throw new Error(r.error)
  return r.value
}

describe('node iPXE script (golden)', () => {
  it('EFI: initrd=<name> for every initrd on the kernel line', () => {
    expect(value(renderNodeScript(input))).toBe(fixture('node-efi.ipxe'))
  })
  it('BIOS: no initrd= arguments', () => {
    expect(value(renderNodeScript({ ...input, platform: 'pcbios' }))).toBe(fixture('node-bios.ipxe'))
  })
  it('unknown platform carries the EFI arguments', () => {
    const auto = value(renderNodeScript({ ...input, platform: 'auto' }))
    expect(auto).toContain(
      ' initrd=image initrd=system initrd=runtime console=ttyS0 quiet && goto fetch_image ||',
    )
    expect(parsePlatform('efi')).toBe('efi')
    expect(parsePlatform('${platform}')).toBe('auto')
    expect(parsePlatform(null)).toBe('auto')
  })
  it('leaves out initrds the node does not have and chains the steps in order', () => {
    const s = value(renderNodeScript({ ...input, artifacts: ['kernel', 'image', 'modules'] }))
    expect(s).toContain('initrd=image initrd=modules console')
    expect(s).not.toContain('fetch_system')
    expect(s).toMatch(
      /initrd --name modules http:\/\/198\.18\.0\.1:9873\/modules\/52-54-00-00-00-01\S* && goto boot \|\|/,
    )
  })
  it('unknown MAC waiting for assignment (golden)', () => {
    const s = waitScript({
      mac: '52:54:00:00:00:99',
      baseUrl: 'http://198.18.0.1:9873',
      message: '52:54:00:00:00:99 is waiting for assignment',
      waitSeconds: 10,
      maxFailures: 30,
    })
    expect(value(s)).toBe(fixture('unknown-wait.ipxe'))
  })
  it('refuses values that would inject iPXE lines', () => {
    const r = renderNodeScript({ ...input, kernelArgs: 'quiet\nshell' })
    expect(r).toEqual({ ok: false, error: expect.stringContaining('{{kernelArgs}}') })
  })
  it('renders a per-node template override and names an unknown variable', () => {
    const custom =
      '#!ipxe\nkernel {{ kernelUrl }} {{initrdArgs}} {{kernelArgs}}\ninitrd --name image {{imageUrl}}\nboot\n'
    expect(value(renderNodeScript(input, custom))).toBe(
      '#!ipxe\nkernel http://198.18.0.1:9873/kernel/52-54-00-00-00-01?assetkey=${asset:uristring} ' +
        'initrd=image initrd=system initrd=runtime console=ttyS0 quiet\n' +
        'initrd --name image http://198.18.0.1:9873/image/52-54-00-00-00-01?assetkey=${asset:uristring}\nboot\n',
    )
    const bad = renderNodeScript(input, '#!ipxe\necho {{hostname}}\necho {{Hostname}}\n')
    expect(bad.ok).toBe(false)
    expect(!bad.ok && bad.error).toMatch(/node n1, line 3: unknown variable \{\{Hostname\}\}/)
  })
  it('the default template uses only known variables', () => {
    expect(renderNodeScript(input, DEFAULT_NODE_TEMPLATE).ok).toBe(true)
  })
  it('checkNodeTemplate reports a bad template before any node boots', () => {
    expect(checkNodeTemplate(DEFAULT_NODE_TEMPLATE).ok).toBe(true)
    expect(checkNodeTemplate('#!ipxe\nkernel {{kernelUrl}} {{ kernel_args }}\n')).toEqual({
      ok: false,
      error:
        "iPXE template of node sample, line 2: '{{kernel_args}}' is not a variable name (letters and digits)",
    })
  })
})

it('the DHCP boot file name lets iPXE fill in MAC, platform and asset tag', () => {
  expect(ipxeBootFileUrl('http://198.18.0.1:9873/')).toBe(
    'http://198.18.0.1:9873/ipxe/${mac:hexhyp}?platform=${platform}&assetkey=${asset:uristring}',
  )
})

describe('renderTemplate', () => {
  it("passes iPXE's ${var} through", () => {
    expect(renderTemplate('echo ${net0/ip} {{a}}', { a: 'x' })).toEqual({
      ok: true,
      value: 'echo ${net0/ip} x',
    })
  })
  it.each([
    ['{{a', /line 1: '\{\{' is never closed/],
    ['x\n{{a b}}', /line 2: '\{\{a b\}\}' is not a variable name/],
    ['{{}}', /is not a variable name/],
    ['{{zz}}', /unknown variable \{\{zz\}\}; known: a/],
  ])('%s fails', (t, msg) => {
    const r = renderTemplate(t, { a: '1' })
    expect(r.ok).toBe(false)
    expect(!r.ok && r.error).toMatch(msg)
  })
})
