/**
 * electron-vite build of the three Electron pieces: main (ESM), preload (CommonJS: sandboxed preloads cannot
 * load ES modules, nor anything from node_modules, so it is bundled whole) and the renderer (shared with the
 * renderer-only build in renderer/vite.config.ts).
 */
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'electron-vite'
import { rendererConfig } from './renderer/vite.config'

const path = (p: string) => fileURLToPath(new URL(p, import.meta.url))

export default defineConfig({
  main: {
    build: {
      outDir: path('out/main'),
      lib: { entry: path('electron/main/index.ts'), formats: ['es'], fileName: () => 'index.js' },
    },
  },
  preload: {
    build: {
      outDir: path('out/preload'),
      externalizeDeps: false,
      lib: { entry: path('electron/preload/index.ts'), formats: ['cjs'], fileName: () => 'index.cjs' },
    },
  },
  renderer: rendererConfig(),
})
