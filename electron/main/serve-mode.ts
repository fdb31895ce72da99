/**
 * The packaged executable doubles as the headless boot stack: `rackboot --rackboot-serve <serve flags>` runs
 * `rackboot serve` with no window. This is what the one privilege prompt starts (privilege/commands.ts),
 * because the RunAsNode fuse is off and a packaged app has no separate Node to run the CLI with.
 */
import { SERVE_FLAG } from './privilege/commands'

/** The CLI argv (`['serve', …]`) when started in serve mode, else null. Chromium switches come before the flag. */
export function serveModeArgv(argv: readonly string[]): string[] | null {
  const at = argv.indexOf(SERVE_FLAG)
  return at < 0 ? null : ['serve', ...argv.slice(at + 1)]
}
