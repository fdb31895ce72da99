/** Decoders and validators return this instead of throwing on input from the wire or a file. */
export type Result<T, E = string> = { ok: true; value: T } | { ok: false; error: E }

export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value })
export const err = <E>(error: E): { ok: false; error: E } => ({ ok: false, error })

/** An error meant for a person: says what was wrong and where, optionally how to fix it. */
export class RackbootError extends Error {
  constructor(
    message: string,
    readonly code: string = 'error',
    readonly hint?: string,
  ) {
    super(message)
    this.name = 'RackbootError'
  }

  /** Lines a caller can show apart from the message (beside a form field, under a file's line). */
  get details(): readonly string[] {
    return this.hint ? [this.hint] : []
  }
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message
  return String(e)
}
