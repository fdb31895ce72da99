/**
 * The renderer's one Vite definition. `vite build --config renderer/vite.config.ts` uses it alone (the UI the
 * headless server serves); electron.vite.config.ts reuses `rendererConfig` for the Electron build. Both write
 * out/renderer with relative asset paths, so the same files load from file: and from any http path.
 */
import { fileURLToPath } from 'node:url'
import { defineConfig, type Plugin, type UserConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
// '.js' names the .ts file (TypeScript and Vite both map it); an extensionless path makes Vite warn.
import { contentSecurityPolicy } from '../electron/main/security/csp-policy.js'

const rendererRoot = fileURLToPath(new URL('.', import.meta.url))
const outDir = fileURLToPath(new URL('../out/renderer', import.meta.url))

/** file: pages get no response headers, so the policy goes into index.html as a meta tag. */
function cspMeta(): Plugin {
  let dev = false
  return {
    name: 'rackboot:csp-meta',
    configResolved(config) {
      dev = config.command === 'serve'
    },
    transformIndexHtml() {
      return [
        {
          tag: 'meta',
          attrs: { 'http-equiv': 'Content-Security-Policy', content: contentSecurityPolicy({ dev }) },
          injectTo: 'head-prepend',
        },
      ]
    },
  }
}

export function rendererConfig(): UserConfig {
  return {
    root: rendererRoot,
    base: './',
    plugins: [vue(), cspMeta()],
    build: {
      outDir,
      emptyOutDir: true,
      // electron-vite looks for src/renderer/index.html unless told.
      rolldownOptions: { input: fileURLToPath(new URL('index.html', import.meta.url)) },
      reportCompressedSize: false,
    },
  }
}

export default defineConfig(rendererConfig())
