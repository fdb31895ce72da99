#!/usr/bin/env node
// The `rackboot` command: runs the bundled CLI built by `npm ci` (prepare) or `npm run build:node`.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
if (!existsSync(cli)) {
  process.stderr.write(
    `rackboot: ${cli} is missing; build it with \`npm run build:node\` (npm ci does this automatically)\n`,
  )
  process.exit(1)
}
await import(cli)
