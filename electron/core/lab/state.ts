/**
 * The lab's record of everything it created, in <dataDir>/lab/state.json. Each resource is written here
 * BEFORE it is created (processes: right after spawn, as soon as the PID exists), so `lab down` can remove
 * exactly what the lab made, by name and PID, also after `lab up` crashed half-way. Nothing is ever found by
 * pattern: a name or PID not in this file is not ours.
 */
import { join } from 'node:path'
import { z } from 'zod'
import { ensureDir, readFileIfExists, writeFileAtomic } from '../inventory/durable-file'
import { type Result, err, ok } from '../util/result'

export const FIRMWARES = ['bios', 'uefi'] as const
export type Firmware = (typeof FIRMWARES)[number]
export const NICS = ['virtio', 'e1000'] as const
export type Nic = (typeof NICS)[number]
/** How a UEFI node starts: OVMF's own PXE (EDK2) -> TFTP ipxe.efi, or the NIC's UEFI iPXE ROM straight to HTTP. */
export const UEFI_CHAINS = ['pxe', 'ipxe-rom'] as const
export type UefiChain = (typeof UEFI_CHAINS)[number]

const nodeSchema = z.object({
  slot: z.number().int().min(1).max(255),
  name: z.string(),
  mac: z.string(),
  firmware: z.enum(FIRMWARES),
  nic: z.enum(NICS),
  /** UEFI only; absent in state files written before it existed, meaning 'pxe'. */
  uefiChain: z.enum(UEFI_CHAINS).optional(),
  memMiB: z.number().int().min(64),
  tap: z.string(),
  console: z.string(),
})
export type LabNode = z.infer<typeof nodeSchema>

/** A process the lab started; `marker` must appear in /proc/<pid>/cmdline before we signal it (PID reuse). */
const processSchema = z.object({
  role: z.enum(['serve', 'qemu', 'ra', 'ui-bridge']),
  pid: z.number().int().positive(),
  marker: z.string().min(1),
  slot: z.number().int().optional(),
  /** When it was spawned (ISO): a QEMU's power-on, the start of its boot timeline. */
  startedAt: z.string().optional(),
})
export type LabProcess = z.infer<typeof processSchema>

export const labStateSchema = z.object({
  version: z.literal(1),
  id: z.number().int().min(0).max(255),
  prefix: z.string(),
  subnet: z.string(),
  /** Namespaces in creation order; deleting one removes every link inside it. */
  namespaces: z.array(z.string()),
  links: z.array(z.object({ namespace: z.string(), name: z.string() })),
  serverNamespace: z.string(),
  clientNamespace: z.string(),
  serverInterface: z.string(),
  serverAddress: z.string(),
  nodes: z.array(nodeSchema),
  processes: z.array(processSchema),
  serveLog: z.string(),
  createdAt: z.string(),
  /**
   * `lab up --ui`: the serve's UI port (the same number inside the namespace and on the host's 127.0.0.1) and
   * the Unix socket between them (ui-bridge.ts). Absent: the UI stays inside the namespace.
   */
  ui: z.object({ port: z.number().int().min(1).max(65535), socket: z.string() }).optional(),
})
export type LabState = z.infer<typeof labStateSchema>

export const labDir = (dataDir: string): string => join(dataDir, 'lab')
export const labStateFile = (dataDir: string): string => join(labDir(dataDir), 'state.json')
export const consolesDir = (dataDir: string): string => join(labDir(dataDir), 'consoles')

/** Reads the state: ok(null) when there is no lab, err when the file is there but unreadable. */
export async function readLabState(dataDir: string): Promise<Result<LabState | null>> {
  const file = labStateFile(dataDir)
  const raw = await readFileIfExists(file)
  if (raw === null) return ok(null)
  let json: unknown
  try {
    json = JSON.parse(raw.toString('utf8'))
  } catch (e) {
    return err(`${file} is not JSON (${String(e)}); remove the lab's namespaces by hand (ip netns list)`)
  }
  const parsed = labStateSchema.safeParse(json)
  if (!parsed.success) return err(`${file} does not match the lab state schema: ${parsed.error.message}`)
  return ok(parsed.data)
}

export async function writeLabState(dataDir: string, state: LabState): Promise<void> {
  await ensureDir(labDir(dataDir))
  await writeFileAtomic(labStateFile(dataDir), `${JSON.stringify(state, null, 2)}\n`)
}
