/** Messages between the TFTP server (main thread) and its session worker threads (session-worker.ts). */
import type { TftpPeer } from './files'
import type { TftpOptions } from './packet'
import type { TftpEvent, TftpOutcome, TftpSessionLimits } from './session'

export type ToSessionWorker =
  | {
      t: 'start'
      id: number
      /** Address the session socket binds (port 0: a new TID). */
      host: string
      peer: TftpPeer
      filename: string
      mode: 'octet' | 'netascii'
      options: TftpOptions
      size: number
      /** The whole file, for small ones: a transferred copy, or the file cache's shared memory (no copy). */
      bytes?: Uint8Array
      limits: TftpSessionLimits
      /** A disk file's descriptor (TftpFile.fd): the sync engine preads it instead of asking for chunks. */
      fd?: number
    }
  /** Answer to a read: bytes (a transferred copy) or why the provider failed. */
  | { t: 'data'; req: number; bytes?: Uint8Array; error?: string }
  | { t: 'abort'; id: number; reason: string }
  | { t: 'stop'; reason: string }

export type FromSessionWorker =
  /** Loaded; `sync`: its own epoll loop runs the sessions (sync-engine.ts), which takes IPv4 octet only. */
  | { t: 'ready'; sync?: boolean }
  | { t: 'read'; id: number; req: number; offset: number; length: number }
  | { t: 'event'; id: number; event: TftpEvent }
  | { t: 'outcome'; id: number; outcome: TftpOutcome }
  /** The session socket could not be bound; no session started. */
  | { t: 'unbound'; id: number; error: string }
  | { t: 'malformed' }
  | { t: 'stranger' }
  | { t: 'log'; level: 'info' | 'warn' | 'error'; msg: string }
  | { t: 'stopped' }
