/**
 * WebdriverIO + wdio-electron-service: launches the real app (out/main/index.js with the downloaded Electron
 * binary) and runs the specs in this folder. Runs in .github/workflows/electron-e2e.yml only: the binary is
 * not installed locally (ELECTRON_SKIP_BINARY_DOWNLOAD=1). Plain object, no wdio imports, so the repo's
 * typecheck does not need the wdio packages.
 */
import { fileURLToPath } from 'node:url'

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url))

export const config = {
  runner: 'local',
  specs: [here('./*.e2e.ts')],
  maxInstances: 1,
  capabilities: [
    {
      browserName: 'electron',
      'wdio:electronServiceOptions': {
        // The built app: package.json "main" is out/main/index.js.
        appEntryPoint: here('../../../out/main/index.js'),
        // Chromium's setuid sandbox helper is not root-owned in node_modules on CI runners.
        appArgs: ['--no-sandbox'],
      },
    },
  ],
  services: ['electron'],
  framework: 'mocha',
  reporters: ['spec'],
  outputDir: here('./logs'),
  logLevel: 'info',
  mochaOpts: { ui: 'bdd', timeout: 60_000 },
}
