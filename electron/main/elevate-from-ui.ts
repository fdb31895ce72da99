/**
 * `app/elevate`, answered by the desktop app's main process rather than the core: the status bar's "Start
 * with administrator rights" asks the OS once and hands the data dir to the elevated stack (core-host.ts).
 * The host also sends its own notice; the answer here is for the button that asked.
 */
import { channels, type CallResult, type Channel, type ElevationResult } from '../ipc/contract'
import { failure } from '../core/api/protocol'
import { describeIssues, type Settings } from '../core/inventory/schema'
import type { Result } from '../core/util/result'
import { DENIED_MESSAGE, type CoreHost } from './core-host'
import type { CommandLine } from './privilege/commands'

const SENTENCES: Record<Exclude<ElevationResult['outcome'], 'unavailable'>, string> = {
  elevated: 'The boot stack now runs with administrator rights.',
  denied: DENIED_MESSAGE,
  failed: 'The boot stack could not start with administrator rights; the notice below says why.',
  busy: 'The boot stack already runs with administrator rights, or is being handed over.',
}

export async function elevateFromUi(
  host: Pick<CoreHost, 'kind' | 'elevate' | 'dispatch'>,
  payload: unknown,
  commandFor: (settings: Settings) => Result<CommandLine>,
): Promise<CallResult<Channel>> {
  const request = channels['app/elevate'].request.safeParse(payload)
  if (!request.success)
    return failure('bad-request', 'invalid request for app/elevate', describeIssues(request.error))
  const answer = (value: ElevationResult) => ({ ok: true, value }) as CallResult<Channel>
  if (host.kind() !== 'in-process') return answer({ outcome: 'busy', message: SENTENCES.busy })
  const settings = await host.dispatch('settings/get', {})
  if (!settings.ok) return settings
  const command = commandFor(settings.value as Settings)
  if (!command.ok)
    return answer({ outcome: 'unavailable', message: `No administrator prompt here: ${command.error}.` })
  const outcome = await host.elevate(command.value)
  return answer({ outcome, message: SENTENCES[outcome] })
}
