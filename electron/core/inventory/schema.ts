/**
 * The one schema of Rackboot's state. The store, the CLI, the headless API and the UI all validate through it,
 * so what the UI refuses the API refuses too. Pure: no Node imports (the renderer imports it).
 */
import { z } from 'zod'
import { MAC_PATTERN } from '../util/mac'
import { ipToInt, parseCidr } from '../util/ipv4'
import { authorizedKeySchema, runtimeFilesSchema } from './node-files'
// Types only: the passthrough's shape is defined beside the Warewulf code that fills it.
import type { WarewulfNodeExtra, WwValue } from '../interop/warewulf-types'

export const SCHEMA_VERSION = 1

export const macSchema = z
  .string()
  .regex(MAC_PATTERN, 'a MAC in lowercase colon form, e.g. 52:54:00:12:34:56')
export const ipv4Schema = z.string().refine((s) => ipToInt(s) !== null, 'an IPv4 address, e.g. 198.18.0.10')
export const cidrSchema = z.string().refine((s) => parseCidr(s).ok, 'a CIDR subnet, e.g. 198.18.0.0/24')
/** RFC 1123 host label: what a node name becomes on the wire (option 12) and in /etc/hosts. */
export const hostnameSchema = z
  .string()
  .regex(
    /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i,
    'a host name: letters, digits and inner hyphens, at most 63',
  )

/**
 * Kernel command line words, one line: iPXE reads its script line by line, so a newline here would start a
 * script command of its own.
 */
export const kernelArgsSchema = z
  .string()
  .max(4096, 'at most 4096 characters of kernel arguments')
  .refine(
    (s) => ![...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f),
    'kernel arguments on one line: no newlines, tabs or control characters',
  )

/** A BMC login name (IPMI allows 16 bytes, Redfish more); never a password. */
export const bmcUserSchema = z.string().min(1, 'a BMC user name').max(64, 'at most 64 characters')

export const dhcpModeSchema = z.enum(['server', 'proxy', 'off'])
export type DhcpMode = z.infer<typeof dhcpModeSchema>

/** Each setting's type, without defaults: a patch from the UI or CLI validates against this. */
const settingsFields = {
  /** The one interface the boot stack binds to; null = loopback-only embedded default. */
  interface: z.string().min(1).nullable(),
  subnet: cidrSchema.nullable(),
  pool: z.object({ start: ipv4Schema, end: ipv4Schema }).nullable(),
  gateway: ipv4Schema.nullable(),
  dns: z.array(ipv4Schema),
  domain: z.string(),
  dhcpMode: dhcpModeSchema,
  httpPort: z.number().int().min(1).max(65535),
  /** Seconds after a capture in which a second unknown MAC pauses capture (ambiguity). */
  captureGuardSeconds: z.number().min(0).max(600),
  /** What an unknown MAC's iPXE script does: wait for assignment, or boot the default image. */
  unknownNodes: z.enum(['wait', 'default-image']),
  efiBootFile: z.enum(['ipxe.efi', 'snponly.efi']),
  leaseSeconds: z
    .number()
    .int()
    .min(60)
    .max(7 * 86400),
  /** Lines of root's ~/.ssh/authorized_keys on every node (system overlay); [] leaves the image's own. */
  sshAuthorizedKeys: z.array(authorizedKeySchema).max(100),
  /** Files of the runtime overlay: the agent applies changes to running nodes at its next poll. */
  runtimeFiles: runtimeFilesSchema,
  /**
   * A foreign iPXE (a NIC's ROM): 'script' answers it with the script URL; 'own-ipxe' chains it into our
   * iPXE over TFTP first (BIOS undionly.kpxe, EFI efiBootFile), for ROMs lacking HTTPS, IPv6 or drivers.
   */
  ipxeRomChain: z.enum(['script', 'own-ipxe']),
}

export const settingsDefaults = {
  interface: null,
  subnet: null,
  pool: null,
  gateway: null,
  dns: [],
  domain: '',
  dhcpMode: 'off',
  httpPort: 9873,
  captureGuardSeconds: 10,
  unknownNodes: 'wait',
  efiBootFile: 'ipxe.efi',
  leaseSeconds: 3600,
  sshAuthorizedKeys: [],
  runtimeFiles: [],
  ipxeRomChain: 'script',
} satisfies { [K in keyof typeof settingsFields]: z.output<(typeof settingsFields)[K]> }

export const settingsSchema = z
  .object(settingsFields)
  .partial()
  .transform((s) => ({ ...settingsDefaults, ...stripUndefined(s) }))
export const settingsPatchSchema = z.object(settingsFields).partial().strict()
export type Settings = z.output<typeof settingsSchema>
export type SettingsPatch = z.output<typeof settingsPatchSchema>

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}

export const rackSchema = z.object({
  name: hostnameSchema,
  heightU: z.number().int().min(1).max(60).default(42),
  /** Slot 1 at the bottom (most racks) or at the top. */
  numbering: z.enum(['bottom-up', 'top-down']).default('bottom-up'),
})
export type Rack = z.infer<typeof rackSchema>

/**
 * A value of a foreign tool's YAML as its Go structs read it: every scalar a string. Checked by shape only,
 * so a Warewulf key Rackboot has never heard of survives the store.
 */
export const passthroughValueSchema: z.ZodType<WwValue> = z.lazy(() =>
  z.union([
    z.string(),
    z.null(),
    z.array(passthroughValueSchema),
    z.record(z.string(), passthroughValueSchema),
  ]),
)
const passthroughMapSchema = z.record(z.string(), passthroughValueSchema)

/** Warewulf nodes.conf passthrough of one node (interop/warewulf-types.ts documents each field). */
export const warewulfNodeExtraSchema: z.ZodType<WarewulfNodeExtra> = z.object({
  fields: passthroughMapSchema,
  netdevs: z.array(z.object({ name: z.string().min(1), hasMac: z.boolean(), fields: passthroughMapSchema })),
  primary: z.string().nullable(),
})

export const nodeStateSchema = z.enum(['planned', 'captured', 'booting', 'up', 'failed'])
export type NodeState = z.infer<typeof nodeStateSchema>

export const nodeSchema = z.object({
  name: hostnameSchema,
  rack: hostnameSchema.nullable().default(null),
  slot: z.number().int().min(1).max(60).nullable().default(null),
  heightU: z.number().int().min(1).max(10).default(1),
  macs: z.array(macSchema).default([]),
  ipv4: ipv4Schema.nullable().default(null),
  image: z.string().nullable().default(null),
  kernelArgs: kernelArgsSchema.default(''),
  overlays: z
    .object({ system: z.array(z.string()).default([]), runtime: z.array(z.string()).default([]) })
    .prefault({}),
  discoverable: z.boolean().default(false),
  state: nodeStateSchema.default('planned'),
  /** SMBIOS UUID from DHCP option 97, recorded when the node first asks. */
  uuid: z.string().nullable().default(null),
  assetKey: z.string().nullable().default(null),
  /** Vendor serial number (service tag), from a vendor MAC list or typed in. */
  serial: z.string().max(128).nullable().default(null),
  /**
   * The node's management controller (IPMI/Redfish). Address and user only, never a password: secrets don't
   * belong in a JSON file a laptop carries around. Defaulted, so files written before it load unchanged.
   */
  bmc: z
    .object({
      ipv4: ipv4Schema.nullable().default(null),
      user: bmcUserSchema.nullable().default(null),
    })
    .prefault({}),
  /** What other tools know about the node and Rackboot does not model, kept so an export gives it back. */
  extra: z.object({ warewulf: warewulfNodeExtraSchema.optional() }).prefault({}),
  createdAt: z.string().default(() => new Date().toISOString()),
  updatedAt: z.string().default(() => new Date().toISOString()),
})
export type Node = z.infer<typeof nodeSchema>
export type NodeInput = z.input<typeof nodeSchema>

export const imageSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'an image name: letters, digits, . _ -'),
  kind: z.enum(['kernel-initrd', 'oci', 'rootfs', 'default']),
  kernelArgs: z.string().default(''),
  createdAt: z.string().default(() => new Date().toISOString()),
  sizeBytes: z.number().int().min(0).default(0),
})
export type Image = z.infer<typeof imageSchema>

export const leaseSchema = z.object({
  mac: macSchema,
  ip: ipv4Schema,
  /** Epoch milliseconds. */
  expiresAt: z.number().int(),
  state: z.enum(['offered', 'bound', 'declined']).default('bound'),
  hostname: z.string().nullable().default(null),
})
export type Lease = z.infer<typeof leaseSchema>

export const dbSchema = z
  .object({
    version: z.literal(SCHEMA_VERSION),
    settings: settingsSchema.prefault({}),
    racks: z.array(rackSchema).default([]),
    nodes: z.array(nodeSchema).default([]),
    images: z.array(imageSchema).default([]),
    leases: z.array(leaseSchema).default([]),
  })
  .superRefine((db, ctx) => {
    const seen = new Map<string, string>()
    db.nodes.forEach((n, i) => {
      if (seen.has(`name:${n.name}`))
        ctx.addIssue({
          code: 'custom',
          path: ['nodes', i, 'name'],
          message: `duplicate node name '${n.name}'`,
        })
      seen.set(`name:${n.name}`, n.name)
      for (const mac of n.macs) {
        const other = seen.get(`mac:${mac}`)
        if (other !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['nodes', i, 'macs'],
            message: `MAC ${mac} is on both '${other}' and '${n.name}'`,
          })
        seen.set(`mac:${mac}`, n.name)
      }
      if (n.ipv4) {
        const other = seen.get(`ip:${n.ipv4}`)
        if (other !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['nodes', i, 'ipv4'],
            message: `IPv4 ${n.ipv4} is on both '${other}' and '${n.name}'`,
          })
        seen.set(`ip:${n.ipv4}`, n.name)
      }
    })
    // BMC addresses share the node network's address space: unique, and never another node's boot address.
    const bootIps = new Map(db.nodes.filter((n) => n.ipv4 !== null).map((n) => [n.ipv4, n.name]))
    const bmcSeen = new Map<string, string>()
    db.nodes.forEach((n, i) => {
      const ip = n.bmc.ipv4
      if (ip === null) return
      const other = bmcSeen.get(ip)
      const boot = bootIps.get(ip)
      if (other !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['nodes', i, 'bmc', 'ipv4'],
          message: `BMC IPv4 ${ip} is on both '${other}' and '${n.name}'`,
        })
      else if (boot !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['nodes', i, 'bmc', 'ipv4'],
          message: `BMC IPv4 ${ip} of '${n.name}' is the boot IPv4 of '${boot}'`,
        })
      bmcSeen.set(ip, n.name)
    })
  })
export type Db = z.infer<typeof dbSchema>

export function emptyDb(): Db {
  return dbSchema.parse({ version: SCHEMA_VERSION })
}

/** Human-readable list of what is wrong, each with its path: `nodes[2].macs: MAC … is on both …`. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => {
    const path = i.path
      .map((p, k) => (typeof p === 'number' ? `[${p}]` : k === 0 ? String(p) : `.${String(p)}`))
      .join('')
    return path ? `${path}: ${i.message}` : i.message
  })
}
