#!/usr/bin/env node
// The `rackboot` command: runs the bundled CLI built by `npm ci` (prepare) or `npm run build:node`.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { setFlagsFromString } from 'node:v8'
import { v8FlagsFor } from './v8-flags.js'

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
if (!existsSync(cli)) {
  process.stderr.write(
    `rackboot: ${cli} is missing; build it with \`npm run build:node\` (npm ci does this automatically)\n`,
  )
  process.exit(1)
}
// Before the bundle is compiled: V8 reads these when it parses it (and the worker threads' code).
for (const flag of v8FlagsFor(process.argv.slice(2))) setFlagsFromString(flag)
await import(cli)
