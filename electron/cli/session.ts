/**
 * How a one-shot command (`rackboot nodes …`) reaches the inventory: through the running `serve` on the
 * same data dir when there is one (it holds the store's lock), else by opening the store itself.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import type { Channel, RequestOf, ResponseOf, CallResult } from '../ipc/contract'
import { Rackboot } from '../core/rackboot'
import { dispatch } from '../core/api/dispatch'
import { RackbootError } from '../core/util/result'
import type { Logger } from '../core/util/logger'
import { API_HANDLE_FILE } from './serve'

export interface ContractSession {
  call<C extends Channel>(channel: C, request: RequestOf<C>): Promise<ResponseOf<C>>
  close(): Promise<void>
  via: 'running-serve' | 'store'
}

const handleSchema = z.object({ url: z.string().url(), token: z.string().min(16), pid: z.number().int() })

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function unwrap<C extends Channel>(result: CallResult<C>): ResponseOf<C> {
  if (result.ok) return result.value
  const details = result.error.details?.length ? `: ${result.error.details.join('; ')}` : ''
  throw new RackbootError(`${result.error.message}${details}`, result.error.code)
}

export async function openSession(dataDir: string, logger: Logger): Promise<ContractSession> {
  const handleText = await readFile(join(dataDir, API_HANDLE_FILE), 'utf8').catch(() => null)
  const handle = handleText ? handleSchema.safeParse(safeJson(handleText)) : null
  if (handle?.success && pidAlive(handle.data.pid)) {
    const { url, token } = handle.data
    return {
      via: 'running-serve',
      async call(channel, request) {
        const res = await fetch(`${url}/api/${channel}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(request),
        }).catch((e: unknown) => {
          throw new RackbootError(
            `cannot reach the running rackboot (PID ${handle.data.pid}) at ${url}: ${String(e)}`,
          )
        })
        return unwrap((await res.json()) as CallResult<typeof channel>)
      },
      close: async () => {},
    }
  }
  const core = await Rackboot.open({ dataDir, logger })
  return {
    via: 'store',
    call: async (channel, request) => unwrap(await dispatch(core.handlers, channel, request)),
    close: () => core.close(),
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}
