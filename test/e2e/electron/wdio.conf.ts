/**
 * WebdriverIO + wdio-electron-service 9: launches the real app (out/main/index.js with the downloaded Electron
 * binary) and runs the specs in this folder. Runs in .github/workflows/electron-e2e.yml only: the binary is
 * not installed locally (ELECTRON_SKIP_BINARY_DOWNLOAD=1). Typed with WebdriverIO's own config type; the
 * service's types add `wdio:electronServiceOptions` to the capabilities, so a misspelt option fails the
 * repo's typecheck, not the CI job.
 */
import { fileURLToPath } from 'node:url'
// Types only: WebdriverIO's global config type, and the service's additions to WebdriverIO.Capabilities.
import type {} from '@wdio/types'
import type {} from 'wdio-electron-service'

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url))

export const config: WebdriverIO.Config = {
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
  waitforTimeout: 30_000,
  mochaOpts: { ui: 'bdd', timeout: 60_000 },
}
