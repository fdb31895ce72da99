/**
 * Refusals that list every problem at once (an import file, a MAC list), so a person fixes them in one pass.
 * The whole list is in the message, one problem per line, because every transport (CLI, HTTP, IPC) shows a
 * message; `problems` keeps them apart for a caller that wants to show them beside their lines.
 */
import { RackbootError } from '../util/result'
import type { ImportProblem } from './warewulf-types'

export class ProblemListError extends RackbootError {
  constructor(
    headline: string,
    readonly problems: readonly string[],
    code: 'bad-request' | 'conflict' = 'bad-request',
  ) {
    super(`${headline}:\n${problems.map((p) => `  ${p}`).join('\n')}`, code)
    this.name = 'ProblemListError'
  }

  override get details(): readonly string[] {
    return [...this.problems, ...super.details]
  }
}

/** `line 12, node 'n3': MAC … is also on node 'n1' (line 5)`: where first, so a list reads like a compiler's. */
export function formatImportProblem(p: ImportProblem): string {
  const where = [p.line === null ? null : `line ${p.line}`, p.node === null ? null : `node '${p.node}'`]
    .filter((w) => w !== null)
    .join(', ')
  return where ? `${where}: ${p.message}` : p.message
}

export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`
