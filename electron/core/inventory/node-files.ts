/**
 * What settings put on every node besides identity and network: root's SSH authorized keys (system overlay)
 * and runtime files (runtime overlay, applied by the agent while nodes run). Pure: the renderer imports it
 * through schema.ts, so no Node modules (atob, not Buffer).
 */
import { z } from 'zod'

/** Key types OpenSSH accepts in authorized_keys (sshd(8), AUTHORIZED_KEYS FILE FORMAT). */
const KEY_TYPES = [
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
]

/** Options before the key type: comma-separated `name` or `name="value"` (no newline in a value). */
const OPTIONS = /^[A-Za-z-]+(="(?:[^"\\\n]|\\.)*")?(,[A-Za-z-]+(="(?:[^"\\\n]|\\.)*")?)*$/

/**
 * Null when `line` is one authorized_keys entry `[options] type base64 [comment]` whose base64 blob really
 * holds a key of that type (the blob starts with the type name, RFC 4253 §6.6), else why not.
 */
export function authorizedKeyProblem(line: string): string | null {
  if (/[\r\n\0]/.test(line)) return 'one key per entry: no line breaks'
  const words = line.trim().split(/\s+/)
  const at = words.findIndex((w) => KEY_TYPES.includes(w))
  if (at < 0) return `no key type (one of ${KEY_TYPES.join(', ')})`
  // Quoted option values may contain spaces: rejoin what precedes the type and check it as one option list.
  if (at > 0 && !OPTIONS.test(words.slice(0, at).join(' ')))
    return `'${words.slice(0, at).join(' ')}' are not authorized_keys options`
  const type = words[at]!
  const blob = words[at + 1]
  if (blob === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) return `no base64 key after '${type}'`
  let raw: string
  try {
    raw = atob(blob)
  } catch {
    return `the key after '${type}' is not valid base64`
  }
  const len =
    raw.length >= 4
      ? ((raw.charCodeAt(0) << 24) |
          (raw.charCodeAt(1) << 16) |
          (raw.charCodeAt(2) << 8) |
          raw.charCodeAt(3)) >>>
        0
      : -1
  if (len !== type.length || raw.slice(4, 4 + len) !== type)
    return `the key data does not hold a '${type}' key (copied from another key, or cut short?)`
  if (raw.length <= 4 + len) return `the '${type}' key has no key material`
  return null
}

export const authorizedKeySchema = z
  .string()
  .max(16 * 1024)
  .superRefine((line, ctx) => {
    const problem = authorizedKeyProblem(line)
    if (problem !== null)
      ctx.addIssue({
        code: 'custom',
        message: `not an SSH public key line (${problem}); paste a line of id_ed25519.pub, e.g. 'ssh-ed25519 AAAA… you@host'`,
      })
  })

/** Where runtime files may not go: the kernel's own file systems, and the agent's state and config. */
const RESERVED = ['/proc', '/sys', '/dev', '/run', '/etc/rackboot']

/** Null when `path` is a normal absolute file path a runtime file may take, else why not. */
export function runtimePathProblem(path: string): string | null {
  if (!path.startsWith('/')) return 'must be absolute, e.g. /etc/motd'
  if (path.endsWith('/')) return 'must name a file, not a directory'
  const parts = path.slice(1).split('/')
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return 'no empty, . or .. components'
  if (!/^[A-Za-z0-9._@+=,:/-]+$/.test(path)) return 'letters, digits and . _ - @ + = , : only'
  const reserved = RESERVED.find((r) => path === r || path.startsWith(`${r}/`))
  if (reserved) return `${reserved} is not for runtime files`
  return null
}

export const runtimeFileSchema = z
  .object({
    path: z
      .string()
      .max(255)
      .superRefine((p, ctx) => {
        const problem = runtimePathProblem(p)
        if (problem !== null)
          ctx.addIssue({ code: 'custom', message: `runtime file path '${p}': ${problem}` })
      }),
    /** Permission bits, e.g. 0o644 (420); no setuid/setgid/sticky. */
    mode: z.number().int().min(0).max(0o777).default(0o644),
    /** UTF-8 text. */
    content: z.string().max(64 * 1024),
  })
  .strict()
export type RuntimeFile = z.output<typeof runtimeFileSchema>

/** No two runtime files on one path (the later would silently win on the node). */
export const runtimeFilesSchema = z
  .array(runtimeFileSchema)
  .max(64)
  .superRefine((files, ctx) => {
    const seen = new Set<string>()
    files.forEach((f, i) => {
      if (seen.has(f.path))
        ctx.addIssue({
          code: 'custom',
          path: [i, 'path'],
          message: `runtime file '${f.path}' is listed twice`,
        })
      seen.add(f.path)
    })
  })
