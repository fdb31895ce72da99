// Bundles the headless core and the `rackboot` CLI for Node (no Electron needed). Runs on `npm ci` (prepare).
import { build } from 'esbuild'

await build({
  // The TFTP session worker is its own entry: tftp/session-pool.ts loads dist/tftp-session-worker.js.
  entryPoints: {
    cli: 'electron/cli/index.ts',
    'tftp-session-worker': 'electron/core/boot/tftp/session-worker.ts',
  },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  packages: 'external',
  logLevel: 'warning',
})
