/**
 * The Interface step's form: what a chosen NIC suggests, the per-field checks (formats through the one zod
 * schema, then the relations between fields), and the settings patch it saves. Pure, so it is tested alone.
 */
import {
  cidrSchema,
  dhcpModeSchema,
  ipv4Schema,
  type Settings,
  type SettingsPatch,
} from '../../../electron/core/inventory/schema'
import { cidrContains, intToIp, ipToInt, parseCidr } from '../../../electron/core/util/ipv4'
import type { InterfaceInfo } from '../../../electron/ipc/contract'

export type WizardDhcpMode = 'server' | 'proxy'

export interface InterfaceForm {
  interface: string | null
  dhcpMode: WizardDhcpMode
  subnet: string
  poolStart: string
  poolEnd: string
  gateway: string
  /** Comma- or space-separated. */
  dns: string
  domain: string
}

export type InterfaceField = Exclude<keyof InterfaceForm, 'dhcpMode'>
export type FieldErrors = Partial<Record<InterfaceField, string>>

/** The form as the core holds it; 'off' becomes full DHCP, the wizard's usual choice on an isolated network. */
export function formFromSettings(s: Settings): InterfaceForm {
  return {
    interface: s.interface,
    dhcpMode: s.dhcpMode === 'proxy' ? 'proxy' : 'server',
    subnet: s.subnet ?? '',
    poolStart: s.pool?.start ?? '',
    poolEnd: s.pool?.end ?? '',
    gateway: s.gateway ?? '',
    dns: s.dns.join(', '),
    domain: s.domain,
  }
}

/**
 * What choosing a NIC fills in: its network as the subnet, the upper half of the network as the pool (the
 * lower half stays free for fixed node addresses), no gateway (a provisioning network usually has none).
 */
export function prefillFromInterface(form: InterfaceForm, nic: InterfaceInfo): InterfaceForm {
  const next: InterfaceForm = { ...form, interface: nic.name, gateway: '' }
  const cidr = nic.ipv4 ? parseCidr(nic.ipv4.network) : null
  if (!cidr || !cidr.ok) return { ...next, subnet: '', poolStart: '', poolEnd: '' }
  const size = 2 ** (32 - cidr.value.prefix)
  const broadcast = cidr.value.network + size - 1
  return {
    ...next,
    subnet: cidr.value.text,
    poolStart: intToIp(cidr.value.network + size / 2),
    poolEnd: intToIp(broadcast - 1),
  }
}

const formatError = (
  schema: { safeParse(v: unknown): { success: boolean; error?: { issues: { message: string }[] } } },
  value: string,
) => {
  const r = schema.safeParse(value)
  return r.success ? null : (r.error?.issues[0]?.message ?? 'invalid')
}

export function splitDns(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

/** Every problem, keyed by field; an empty object means the form can be saved. */
export function validateInterfaceForm(form: InterfaceForm, nic: InterfaceInfo | null): FieldErrors {
  const errors: FieldErrors = {}
  if (form.interface === null) errors.interface = 'choose the network card the rack is plugged into'
  if (!dhcpModeSchema.safeParse(form.dhcpMode).success) errors.interface = 'choose full DHCP or proxyDHCP'

  const subnetError =
    form.subnet === '' ? 'a subnet is needed, e.g. 198.18.0.0/24' : formatError(cidrSchema, form.subnet)
  if (subnetError) errors.subnet = subnetError
  else {
    const detail = parseCidr(form.subnet)
    if (!detail.ok) errors.subnet = detail.error
  }
  const cidr = errors.subnet ? null : parseCidr(form.subnet)
  const inSubnet = (ip: string) => cidr === null || !cidr.ok || cidrContains(cidr.value, ipToInt(ip) ?? 0)

  if (form.dhcpMode === 'server') {
    for (const field of ['poolStart', 'poolEnd'] as const) {
      const value = form[field]
      const e = value === '' ? 'full DHCP needs an address pool' : formatError(ipv4Schema, value)
      if (e) errors[field] = e
      else if (!inSubnet(value)) errors[field] = `${value} is outside ${form.subnet}`
    }
    if (!errors.poolStart && !errors.poolEnd) {
      const start = ipToInt(form.poolStart)!
      const end = ipToInt(form.poolEnd)!
      const own = nic?.ipv4 ? ipToInt(nic.ipv4.address) : null
      if (start > end) errors.poolEnd = `the pool ends before it starts (${form.poolStart})`
      else if (own !== null && own >= start && own <= end)
        errors.poolStart = `the pool holds this laptop's own address ${nic!.ipv4!.address}`
    }
  }
  if (form.dhcpMode === 'server' && form.gateway !== '') {
    const e = formatError(ipv4Schema, form.gateway)
    if (e) errors.gateway = e
    else if (!inSubnet(form.gateway)) errors.gateway = `${form.gateway} is outside ${form.subnet}`
  }
  const badDns =
    form.dhcpMode === 'server'
      ? splitDns(form.dns).find((d) => formatError(ipv4Schema, d) !== null)
      : undefined
  if (badDns !== undefined) errors.dns = `'${badDns}' is not an IPv4 address, e.g. 198.18.0.1`
  if (
    form.domain !== '' &&
    !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(form.domain)
  )
    errors.domain = 'a DNS domain, e.g. cluster.lan'
  return errors
}

/**
 * The settings patch for a valid form. In proxy mode the network's own DHCP server hands out addresses,
 * gateway and DNS, so those are left as they are.
 */
export function patchFromForm(form: InterfaceForm): SettingsPatch {
  const patch: SettingsPatch = {
    interface: form.interface,
    dhcpMode: form.dhcpMode,
    subnet: form.subnet,
    domain: form.domain,
  }
  if (form.dhcpMode === 'server') {
    patch.pool = { start: form.poolStart, end: form.poolEnd }
    patch.gateway = form.gateway === '' ? null : form.gateway
    patch.dns = splitDns(form.dns)
  }
  return patch
}
