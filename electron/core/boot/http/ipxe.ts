/**
 * iPXE scripts the server hands to nodes: the per-node boot script and the "waiting" script for a MAC that has
 * nothing to boot yet. Templates use `{{name}}` placeholders (template.ts); `${...}` is iPXE's and passes through.
 *
 * Variables of a node template (all strings; an artifact URL is '' when the node has no such artifact):
 *   hostname, mac (aa:bb:..), macHyphen (aa-bb-..), ipv4 ('' if none), image ('' if none), kernelArgs,
 *   platform ('efi' | 'pcbios' | 'auto'), baseUrl (http://host:port), assetQuery (`?assetkey=${asset:uristring}`),
 *   ipxeUrl (this script's URL, for `chain`), kernelUrl, imageUrl, modulesUrl, systemUrl, runtimeUrl,
 *   initrdArgs (`initrd=image initrd=system ...`, '' on pcbios), retries, retryLimit (retries + 1), retryDelay,
 *   fetchSteps (multi-line: one `:fetch_<kind>` block per artifact, each ending in `goto` of the next and the
 *   last in `goto boot`; a failed fetch saves ${errno} in rb_err, names itself in rb_step and jumps to
 *   `rb_retry`; a template using fetchSteps must define the labels `boot` and `rb_retry`, as the default does).
 *
 * Platform: the DHCP side chains `/ipxe/<mac>?platform=${platform}`, so the server knows whether the client is
 * EFI (kernel needs `initrd=<name>` for each initrd, PXE-NOTES) or BIOS (iPXE hands every initrd to the
 * kernel, no arguments needed). Without the query ('auto') the script carries the initrd= arguments, which a
 * BIOS kernel ignores (Warewulf does the same on every platform).
 *
 * The node proves itself with its SMBIOS asset tag: every URL carries `?assetkey=${asset:uristring}`, which
 * iPXE fills in on the node; the server compares it with the node's asset key when one is set.
 *
 * The DHCP boot file for iPXE clients is ipxeBootFileUrl(base):
 *   http://<server>:<port>/ipxe/${mac:hexhyp}?platform=${platform}&assetkey=${asset:uristring}
 * (iPXE expands settings in the DHCP file name). The default and waiting scripts, and that file name, run on
 * the real iPXE of Debian's ipxe-qemu (2019-01-25 build), BIOS and OVMF: test/integration/http-ipxe-qemu.test.ts.
 */
import type { ArtifactKind, BootNodeView } from './types'
import { renderTemplate } from './template'
import type { Result } from '../../util/result'

export type IpxePlatform = 'efi' | 'pcbios' | 'auto'

/** iPXE's `${platform}` is `efi` or `pcbios`; anything else (absent, unexpanded) is 'auto' (EFI arguments). */
export function parsePlatform(value: string | null): IpxePlatform {
  return value === 'efi' || value === 'pcbios' ? value : 'auto'
}

export const ASSET_QUERY = '?assetkey=${asset:uristring}'

export function macHyphen(mac: string): string {
  return mac.replace(/:/g, '-')
}

export function scriptUrl(baseUrl: string, mac: string): string {
  return `${baseUrl}/ipxe/${macHyphen(mac)}?platform=\${platform}&assetkey=\${asset:uristring}`
}

/** The DHCP file name (option 67) for a client that is already iPXE; iPXE fills in MAC, platform, asset tag. */
export function ipxeBootFileUrl(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/ipxe/\${mac:hexhyp}?platform=\${platform}&assetkey=\${asset:uristring}`
}

export interface NodeScriptInput {
  mac: string
  /** null: an unknown MAC booting the default image. */
  node: BootNodeView | null
  kernelArgs: string
  baseUrl: string
  platform: IpxePlatform
  /** The artifacts that exist for this node, kernel first; the order of the rest is the initrd order. */
  artifacts: readonly ArtifactKind[]
  retries: number
  retryDelaySeconds: number
}

const INITRD_ORDER: readonly ArtifactKind[] = ['image', 'modules', 'system', 'runtime']

export function nodeScriptVariables(i: NodeScriptInput): Record<string, string> {
  const mac = macHyphen(i.mac)
  const url = (kind: ArtifactKind) =>
    i.artifacts.includes(kind) ? `${i.baseUrl}/${kind}/${mac}${ASSET_QUERY}` : ''
  const initrds = INITRD_ORDER.filter((k) => i.artifacts.includes(k))
  const initrdArgs = i.platform === 'pcbios' ? '' : initrds.map((k) => `initrd=${k}`).join(' ')
  const steps: ArtifactKind[] = ['kernel', ...initrds]
  const fetchSteps = steps
    .map((kind, n) => {
      const next = n + 1 < steps.length ? `fetch_${steps[n + 1]}` : 'boot'
      const command =
        kind === 'kernel'
          ? join('kernel --name kernel', url('kernel'), initrdArgs, i.kernelArgs)
          : `initrd --name ${kind} ${url(kind)}`
      return [
        `:fetch_${kind}`,
        `echo Rackboot: fetching ${kind}`,
        `${command} && goto ${next} ||`,
        'set rb_err ${errno}',
        `set rb_step fetch_${kind}`,
        'goto rb_retry',
      ].join('\n')
    })
    .join('\n\n')
  return {
    hostname: i.node?.name ?? 'unassigned',
    mac: i.mac,
    macHyphen: mac,
    ipv4: i.node?.ipv4 ?? '',
    image: i.node ? (i.node.image ?? '') : 'default image',
    kernelArgs: i.kernelArgs,
    platform: i.platform,
    baseUrl: i.baseUrl,
    assetQuery: ASSET_QUERY,
    ipxeUrl: scriptUrl(i.baseUrl, i.mac),
    kernelUrl: url('kernel'),
    imageUrl: url('image'),
    modulesUrl: url('modules'),
    systemUrl: url('system'),
    runtimeUrl: url('runtime'),
    initrdArgs,
    retries: String(i.retries),
    retryLimit: String(i.retries + 1),
    retryDelay: String(i.retryDelaySeconds),
    fetchSteps,
  }
}

const join = (...parts: string[]) => parts.filter((p) => p.trim() !== '').join(' ')

export const DEFAULT_NODE_TEMPLATE = `#!ipxe
# Rackboot boot script for {{hostname}} ({{mac}}), platform {{platform}}.
# A failed fetch is retried {{retryDelay}} s later, at most {{retries}} retries over the whole boot.

echo
echo Rackboot: booting {{hostname}} ({{mac}}) with {{image}}
echo Rackboot: kernel arguments: {{kernelArgs}}
set rb_tries:int32 0

{{fetchSteps}}

:boot
echo Rackboot: starting the kernel
boot ||
echo Rackboot: boot failed (error \${errno}), rebooting in 30 s
sleep 30
reboot

:rb_retry
inc rb_tries
iseq \${rb_tries} {{retryLimit}} && goto rb_failed ||
echo Rackboot: \${rb_step} failed (error \${rb_err}), retry \${rb_tries} of {{retries}} in {{retryDelay}} s
sleep {{retryDelay}}
goto \${rb_step}

:rb_failed
echo Rackboot: giving up at \${rb_step} after {{retryLimit}} failed fetches (error \${rb_err}), rebooting in 30 s
sleep 30
reboot
`

/** Renders a node's script from `template` (default: DEFAULT_NODE_TEMPLATE); errors name the bad variable. */
export function renderNodeScript(
  i: NodeScriptInput,
  template: string = DEFAULT_NODE_TEMPLATE,
): Result<string> {
  const source = i.node ? `iPXE template of node ${i.node.name}` : 'default iPXE template'
  return renderTemplate(template, nodeScriptVariables(i), { source, multiline: ['fetchSteps'] })
}

/**
 * Checks a template before it is saved (UI, CLI, nodes.conf import): renders it for a sample node, so an
 * unknown variable or a malformed placeholder is reported with its line now, not when the node boots.
 */
export function checkNodeTemplate(template: string): Result<string> {
  const node: BootNodeView = {
    name: 'sample',
    macs: ['52:54:00:00:00:01'],
    ipv4: '198.18.0.10',
    image: 'sample-image',
    kernelArgs: 'console=ttyS0',
    assetKey: null,
  }
  return renderNodeScript(
    {
      mac: '52:54:00:00:00:01',
      node,
      kernelArgs: node.kernelArgs,
      baseUrl: 'http://198.18.0.1:9873',
      platform: 'auto',
      artifacts: ['kernel', 'image', 'modules', 'system', 'runtime'],
      retries: 5,
      retryDelaySeconds: 3,
    },
    template,
  )
}

export interface WaitScriptInput {
  mac: string
  baseUrl: string
  /** One line for the node's console, e.g. "52:54:00:12:34:56 is waiting for assignment". */
  message: string
  waitSeconds: number
  /** Failed fetches of the next script in a row before the node reboots (and starts over with DHCP). */
  maxFailures: number
}

const WAIT_TEMPLATE = `#!ipxe
# Rackboot: {{mac}} has nothing to boot yet; this script asks the server again every {{waitSeconds}} s.

echo
echo Rackboot: {{message}}
echo Rackboot: asking again every {{waitSeconds}} s
set rb_tries:int32 0

:rb_wait
sleep {{waitSeconds}}
chain --replace --autofree {{ipxeUrl}} ||
set rb_err \${errno}
inc rb_tries
iseq \${rb_tries} {{maxFailures}} && goto rb_failed ||
echo Rackboot: no answer from {{baseUrl}} (error \${rb_err}), attempt \${rb_tries} of {{maxFailures}}
goto rb_wait

:rb_failed
echo Rackboot: {{baseUrl}} did not answer {{maxFailures}} times, rebooting in 30 s
sleep 30
reboot
`

/** The script for a MAC that must wait (unknown under the 'wait' policy, or a node with nothing to boot). */
export function waitScript(i: WaitScriptInput): Result<string> {
  return renderTemplate(
    WAIT_TEMPLATE,
    {
      mac: i.mac,
      message: i.message,
      baseUrl: i.baseUrl,
      ipxeUrl: scriptUrl(i.baseUrl, i.mac),
      waitSeconds: String(i.waitSeconds),
      maxFailures: String(i.maxFailures),
    },
    { source: 'waiting iPXE script' },
  )
}
