// Types of start-lab.mjs for the TypeScript tests that import it.
export function onPath(cmd: string, env?: NodeJS.ProcessEnv): boolean
export function labRequirements(o?: {
  platform?: string
  uid?: number
  has?: (cmd: string) => boolean
}): string[]
export function labArgs(args: string[], env?: NodeJS.ProcessEnv): { dataDir: string; up: string[] } | null
export function labReadyUrl(line: string): string | null
export function startLab(o: {
  args: string[]
  cwd: string
  cli: string[]
  build: () => void
  showUi: (url: string) => void
}): void
