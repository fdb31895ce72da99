/**
 * What the bootstrap and the agent POST to /agent/<mac>: a stage and, from the agent, the node's hardware
 * inventory. Decoded with zod at the boundary; every string and list is bounded so a hostile node cannot
 * make the server keep much (the route also caps the body at AGENT_REPORT_MAX_BYTES).
 */
import { z } from 'zod'
import { type Result, ok, err } from '../../util/result'

export const AGENT_REPORT_MAX_BYTES = 64 * 1024

const text = (max: number) => z.string().max(max)
const count = z.number().int().min(0).nullable()

/** Stages in boot order: `init` (bootstrap ran), `init-failed` (no /sbin/init), `up`, `heartbeat`, `runtime`. */
export const agentStageSchema = z.enum(['init', 'init-failed', 'up', 'heartbeat', 'runtime'])
export type AgentStage = z.infer<typeof agentStageSchema>

export const agentReportSchema = z
  .object({
    stage: agentStageSchema,
    message: text(512).default(''),
    hostname: text(255).optional(),
    cpus: count.optional(),
    cpuModel: text(256).optional(),
    memoryKiB: count.optional(),
    disks: z
      .array(z.object({ name: text(64), sizeBytes: count, model: text(128) }).strict())
      .max(256)
      .optional(),
    nics: z
      .array(
        z
          .object({
            name: text(64),
            mac: text(64),
            /** /sys/class/net/<if>/speed; null when the link is down or the driver does not say. */
            speedMbps: count,
            operstate: text(32),
          })
          .strict(),
      )
      .max(256)
      .optional(),
    dmi: z
      .object({ vendor: text(256), model: text(256), serial: text(256) })
      .strict()
      .optional(),
    /** sha256 of the runtime overlay archive the agent last applied: which version the node runs. */
    runtimeSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
  })
  .strict()
export type AgentReport = z.infer<typeof agentReportSchema>

/** Bytes of a POST body to a report, or a one-line reason. Never throws. */
export function decodeAgentReport(body: Buffer): Result<AgentReport> {
  if (body.length > AGENT_REPORT_MAX_BYTES)
    return err(`report is ${body.length} bytes; the limit is ${AGENT_REPORT_MAX_BYTES}`)
  let json: unknown
  try {
    json = JSON.parse(body.toString('utf8'))
  } catch (e) {
    return err(`report is not JSON: ${e instanceof Error ? e.message : String(e)}`)
  }
  const parsed = agentReportSchema.safeParse(json)
  if (!parsed.success)
    return err(
      `report does not match the agent schema: ${parsed.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ')}`,
    )
  return ok(parsed.data)
}
