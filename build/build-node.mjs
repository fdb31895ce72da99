// Bundles the headless core and the `rackboot` CLI for Node (no Electron needed). Runs on `npm ci` (prepare).
import { build } from 'esbuild'

await build({
  entryPoints: { cli: 'electron/cli/index.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  packages: 'external',
  logLevel: 'warning',
})
