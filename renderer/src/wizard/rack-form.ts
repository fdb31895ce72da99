/**
 * The Rack step's form: text fields as typed, turned into a `plan/preview` request through the same zod
 * schema the core checks (so format errors show before any call), and the core's plan issues mapped back
 * onto the fields they concern. Pure.
 */
import {
  planRequestSchema,
  type PlanIssue,
  type PlanPreview,
  type PlanRequest,
} from '../../../electron/core/inventory/plan'
import type { Rack } from '../../../electron/core/inventory/schema'
import { intToIp, parseCidr } from '../../../electron/core/util/ipv4'

export interface RackForm {
  name: string
  heightU: string
  numbering: 'bottom-up' | 'top-down'
  pattern: string
  count: string
  firstSlot: string
  nodeHeightU: string
  /** Empty = the node height (no gaps). */
  slotStep: string
  fixedIps: boolean
  ipStart: string
  rackOffset: string
  /** Optional BMC (IPMI/Redfish): both empty = no BMC in the plan. No password field: it is never stored. */
  bmcStart: string
  bmcRackOffset: string
  bmcUser: string
}

export type RackField = Exclude<keyof RackForm, 'numbering' | 'fixedIps'> | 'subnet'
export type RackErrors = Partial<Record<RackField, string>>

/** A name `r<N>` no rack has yet. */
export function nextRackName(racks: readonly Rack[]): string {
  for (let i = racks.length + 1; ; i++) if (!racks.some((r) => r.name === `r${i}`)) return `r${i}`
}

/** A first rack: 42 U, slot 1 at the bottom, 16 one-U nodes named after the rack, fixed IPs below the pool. */
export function defaultRackForm(racks: readonly Rack[], subnet: string | null): RackForm {
  const cidr = subnet ? parseCidr(subnet) : null
  return {
    name: nextRackName(racks),
    heightU: '42',
    numbering: 'bottom-up',
    pattern: '{rack}n{01..}',
    count: '16',
    firstSlot: '1',
    nodeHeightU: '1',
    slotStep: '',
    fixedIps: cidr !== null && cidr.ok,
    ipStart: cidr && cidr.ok ? intToIp(cidr.value.network + 11) : '',
    rackOffset: '32',
    bmcStart: '',
    bmcRackOffset: '32',
    bmcUser: '',
  }
}

const WHOLE = /^\d+$/

/** Form → request, or the fields that are not even well-formed (checked by the core's own schema). */
export function requestFromForm(
  form: RackForm,
): { ok: true; value: PlanRequest } | { ok: false; errors: RackErrors } {
  const errors: RackErrors = {}
  const num = (field: RackField, text: string, optional = false): number | undefined => {
    const t = text.trim()
    if (t === '' && optional) return undefined
    if (!WHOLE.test(t)) {
      errors[field] = t === '' ? 'required' : 'a whole number'
      return undefined
    }
    return Number(t)
  }
  const raw = {
    rack: { name: form.name.trim(), heightU: num('heightU', form.heightU), numbering: form.numbering },
    pattern: form.pattern.trim(),
    count: num('count', form.count),
    firstSlot: num('firstSlot', form.firstSlot),
    nodeHeightU: num('nodeHeightU', form.nodeHeightU),
    slotStep: num('slotStep', form.slotStep, true),
    ip: form.fixedIps ? { start: form.ipStart.trim(), rackOffset: num('rackOffset', form.rackOffset) } : null,
    bmc: bmcOfForm(form, num),
  }
  const parsed = planRequestSchema.safeParse(raw)
  if (parsed.success && Object.keys(errors).length === 0) return { ok: true, value: parsed.data }
  if (!parsed.success)
    for (const issue of parsed.error.issues) {
      const field = fieldOfPath(issue.path.map(String))
      if (field && !errors[field]) errors[field] = issue.message
    }
  return { ok: false, errors }
}

/** Absent when both BMC fields are empty, so the request stays the shape it had before BMCs. */
function bmcOfForm(
  form: RackForm,
  num: (field: RackField, text: string) => number | undefined,
): { start: string | null; rackOffset: number | undefined; user: string | null } | undefined {
  const start = form.bmcStart.trim()
  const user = form.bmcUser.trim()
  if (start === '' && user === '') return undefined
  return {
    start: start === '' ? null : start,
    rackOffset: start === '' ? 0 : num('bmcRackOffset', form.bmcRackOffset),
    user: user === '' ? null : user,
  }
}

function fieldOfPath(path: string[]): RackField | null {
  const key = path.join('.')
  const map: Record<string, RackField> = {
    'rack.name': 'name',
    'rack.heightU': 'heightU',
    pattern: 'pattern',
    count: 'count',
    firstSlot: 'firstSlot',
    nodeHeightU: 'nodeHeightU',
    slotStep: 'slotStep',
    'ip.start': 'ipStart',
    'ip.rackOffset': 'rackOffset',
    'bmc.start': 'bmcStart',
    'bmc.rackOffset': 'bmcRackOffset',
    'bmc.user': 'bmcUser',
  }
  return map[key] ?? null
}

const FIELD_OF_ISSUE: Record<PlanIssue['field'], RackField> = {
  'rack.name': 'name',
  'rack.heightU': 'heightU',
  pattern: 'pattern',
  count: 'count',
  firstSlot: 'firstSlot',
  slotStep: 'slotStep',
  'ip.start': 'ipStart',
  subnet: 'subnet',
  // Node-level problems are summed up under the field that would fix them.
  name: 'pattern',
  slot: 'firstSlot',
  ipv4: 'ipStart',
  bmc: 'bmcStart',
}

/**
 * The core's issues as one message per form field; node-level issues are summed up ("3 nodes: …") under the
 * field that would fix them, and listed per row in the preview table.
 */
export function errorsFromPreview(preview: PlanPreview): RackErrors {
  const byField = new Map<RackField, string[]>()
  for (const issue of preview.issues) {
    const field = FIELD_OF_ISSUE[issue.field]
    byField.set(field, [...(byField.get(field) ?? []), issue.message])
  }
  const out: RackErrors = {}
  for (const [field, messages] of byField)
    out[field] = messages.length === 1 ? messages[0]! : `${messages.length} problems, first: ${messages[0]}`
  return out
}

/** Problems of each planned node, by index. */
export function nodeProblems(preview: PlanPreview): Map<number, string[]> {
  const out = new Map<number, string[]>()
  for (const issue of preview.issues)
    if (issue.node !== undefined) out.set(issue.node, [...(out.get(issue.node) ?? []), issue.message])
  return out
}
