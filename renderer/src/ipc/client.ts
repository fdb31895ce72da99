/**
 * The renderer's one way to the core. Inside Electron the preload bridge (`window.rackboot`) carries the
 * contract over IPC; in a browser (headless `rackboot serve`) the WebSocket client carries the same contract.
 * The page's URL brings the per-run token once (`?token=`); it then lives in sessionStorage and leaves the
 * visible URL, so it is not bookmarked, shared in a screenshot or sent as a Referer.
 */
import type { ContractClient } from '../../../electron/ipc/contract'
import { ContractCallError, type WebSocketConstructor, createWsClient } from './ws-client'

export { ContractCallError, createWsClient } from './ws-client'
export type {
  ConnectionState,
  Timers,
  WebSocketConstructor,
  WebSocketLike,
  WsClient,
  WsClientOptions,
} from './ws-client'

const TOKEN_KEY = 'rackboot.apiToken'
const WS_PATH = '/api/ws'

/** The parts of the browser this module touches; tests pass a fake. */
export interface BrowserEnv {
  bridge?: ContractClient
  location: { href: string; host: string; protocol: string }
  history: { state: unknown; replaceState(data: unknown, unused: string, url?: string): void }
  sessionStorage: { getItem(key: string): string | null; setItem(key: string, value: string): void }
  WebSocket: WebSocketConstructor
}

export function browserEnv(): BrowserEnv {
  // Read through globalThis so this file also type-checks without the DOM library (Node tests).
  const g = globalThis as unknown as Omit<BrowserEnv, 'bridge'> & { rackboot?: ContractClient }
  return {
    bridge: g.rackboot,
    location: g.location,
    history: g.history,
    sessionStorage: g.sessionStorage,
    WebSocket: g.WebSocket,
  }
}

export function createClient(env: BrowserEnv = browserEnv()): ContractClient {
  if (env.bridge) return env.bridge
  const token = takeToken(env)
  if (token === null) return refusingClient()
  const scheme = env.location.protocol === 'https:' ? 'wss' : 'ws'
  return createWsClient({
    url: `${scheme}://${env.location.host}${WS_PATH}`,
    token,
    WebSocketImpl: env.WebSocket,
  })
}

/** Moves `?token=` from the address bar into sessionStorage; falls back to the stored one after a reload. */
export function takeToken(env: BrowserEnv): string | null {
  const url = new URL(env.location.href)
  const fromUrl = url.searchParams.get('token')
  if (fromUrl) {
    try {
      env.sessionStorage.setItem(TOKEN_KEY, fromUrl)
    } catch {
      // Storage disabled: the token still works for this page, only a reload will need the URL again.
    }
    url.searchParams.delete('token')
    env.history.replaceState(env.history.state, '', `${url.pathname}${url.search}${url.hash}`)
    return fromUrl
  }
  try {
    return env.sessionStorage.getItem(TOKEN_KEY)
  } catch {
    return null
  }
}

function refusingClient(): ContractClient {
  const error = {
    code: 'unauthorized' as const,
    message: 'no API token: open the address printed by `rackboot serve` (it ends in ?token=…)',
  }
  return {
    call: (channel) => Promise.reject(new ContractCallError(channel, error, true)),
    on: () => () => {},
  }
}
